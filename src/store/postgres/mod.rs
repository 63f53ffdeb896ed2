//! PostgreSQL: for several `holdfast serve` processes sharing one database.
//! A pool of connections; every write is one transaction (ingest batches
//! commit many requests together), retried when it loses a race with
//! another transaction; job claims use `FOR UPDATE SKIP LOCKED`.

mod audit;
mod bulk;
mod bulk_write;
mod customers;
mod drafts;
mod identity;
mod ingest;
mod ingest_conns;
mod merge;
mod outbox;
mod queue;
mod records;
mod rows;
mod schema;
mod store;
#[cfg(test)]
mod tests;
mod value;

use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

pub struct PgStore {
    pool: PgPool,
    ingest: ingest_conns::IngestConnections,
}

impl PgStore {
    /// Connects a pool of up to `max_connections`. Does not migrate.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .context("connecting to PostgreSQL (store.postgres_url)")?;
        // As many as the default ingest lanes; more lanes open more
        // connections, closed after use.
        let ingest = ingest_conns::IngestConnections::new(pool.connect_options(), 8);
        Ok(PgStore { pool, ingest })
    }

    /// Closes every connection (waits for the ones in use).
    pub async fn close(&self) {
        self.ingest.close().await;
        self.pool.close().await;
    }
}
