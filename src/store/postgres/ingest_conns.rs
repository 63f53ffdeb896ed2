//! Connections kept for ingest batches. A batch takes one, runs its
//! transaction and puts it back: it pays neither the pool's liveness ping
//! before the batch nor the one after (each a round trip that, on a busy
//! machine, waits to be scheduled on both sides). A connection that failed
//! below SQL (IO, protocol) is dropped instead and the next batch opens a
//! fresh one.

use std::sync::{Arc, Mutex};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

pub(super) struct IngestConnections {
    options: Arc<PgConnectOptions>,
    idle: Mutex<Vec<PgConnection>>,
    keep: usize,
}

impl IngestConnections {
    pub(super) fn new(options: Arc<PgConnectOptions>, keep: usize) -> Self {
        IngestConnections {
            options,
            idle: Mutex::new(Vec::new()),
            keep,
        }
    }

    pub(super) async fn take(&self) -> Result<PgConnection, sqlx::Error> {
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        match idle {
            Some(c) => Ok(c),
            None => self.options.connect().await,
        }
    }

    /// Returns a connection after a batch; `healthy` is false after an
    /// error that was not the database's answer to SQL.
    pub(super) fn give_back(&self, conn: PgConnection, healthy: bool) {
        if !healthy {
            return;
        }
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.keep
        {
            idle.push(conn);
        }
    }

    pub(super) async fn close(&self) {
        let conns: Vec<PgConnection> = self
            .idle
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default();
        for c in conns {
            c.close().await.ok();
        }
    }
}
