//! Applying the embedded PostgreSQL migrations, one process at a time.

use anyhow::Context;
use sqlx::{PgConnection, PgPool};

use crate::domain::Timestamp;
use crate::store::migrations;

/// Any constant: the advisory lock that makes concurrent `migrate` calls
/// (several processes starting at once) take turns.
const MIGRATION_LOCK: i64 = 0x686f_6c64_6661_7374;

async fn applied(conn: &mut PgConnection) -> anyhow::Result<Vec<(i64, String)>> {
    Ok(
        sqlx::query_as("SELECT version, checksum FROM schema_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await?,
    )
}

pub async fn migrate(pool: &PgPool) -> anyhow::Result<Vec<String>> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await
        .context("taking the migration lock")?;
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *tx)
    .await?;
    let done = applied(&mut tx).await?;
    let mut names = Vec::new();
    for m in migrations::pending(migrations::POSTGRES, &done)? {
        sqlx::raw_sql(m.sql)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("applying migration {} ({})", m.version, m.name))?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(m.checksum())
        .bind(Timestamp::now().unix_micros())
        .execute(&mut *tx)
        .await?;
        names.push(format!("{:04}_{}", m.version, m.name));
    }
    tx.commit().await.context("committing migrations")?;
    Ok(names)
}

pub async fn ready(pool: &PgPool) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await.context("connecting to PostgreSQL")?;
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('schema_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await?;
    let done = if exists {
        applied(&mut conn).await?
    } else {
        Vec::new()
    };
    let pending = migrations::pending(migrations::POSTGRES, &done)?;
    anyhow::ensure!(
        pending.is_empty(),
        "{} migration(s) not applied; run `holdfast migrate`",
        pending.len()
    );
    Ok(())
}
