//! The single SQLite writer: one OS thread owns the write connection and
//! commits every write that is waiting in one transaction (group commit).
//! SQLite allows one writer at a time anyway; serialising writes here
//! turns that limit into batching, so one fsync covers many requests.

use std::panic::AssertUnwindSafe;

use anyhow::{Context, anyhow};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

/// Runs after the batch's COMMIT (or ROLLBACK), told which happened.
type Completion = Box<dyn FnOnce(bool) + Send>;
/// A unit of work: runs inside the batch transaction, under its own
/// savepoint; `false` rolls its savepoint back.
type Op = Box<dyn FnOnce(&Connection) -> (bool, Completion) + Send>;

#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Op>,
}

impl Writer {
    /// Starts the writer thread. It ends when every `Writer` handle is gone.
    pub fn spawn(conn: Connection, max_batch: usize) -> anyhow::Result<Writer> {
        let (tx, rx) = mpsc::channel::<Op>(8192);
        std::thread::Builder::new()
            .name("holdfast-sqlite-writer".into())
            .spawn(move || run(conn, rx, max_batch.max(1)))
            .context("starting the SQLite writer thread")?;
        Ok(Writer { tx })
    }

    /// Runs `f` in the next group transaction and returns its result once
    /// that transaction is durable. An `Err` from `f` undoes only `f`'s writes.
    pub async fn run<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> anyhow::Result<T> + Send + 'static,
    {
        let (done_tx, done_rx) = oneshot::channel::<anyhow::Result<T>>();
        let op: Op = Box::new(move |conn| {
            let result = f(conn);
            let ok = result.is_ok();
            let completion: Completion = Box::new(move |committed| {
                let out = if committed {
                    result
                } else {
                    Err(anyhow!("the transaction was rolled back"))
                };
                let _ = done_tx.send(out);
            });
            (ok, completion)
        });
        self.tx
            .send(op)
            .await
            .map_err(|_| anyhow!("the SQLite writer has stopped"))?;
        done_rx
            .await
            .map_err(|_| anyhow!("the SQLite writer dropped a write"))?
    }
}

fn run(conn: Connection, mut rx: mpsc::Receiver<Op>, max_batch: usize) {
    let _span = tracing::info_span!("sqlite_writer").entered();
    let mut batch: Vec<Op> = Vec::with_capacity(max_batch);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        commit_batch(&conn, &mut batch);
    }
    tracing::debug!("sqlite writer stopped");
}

fn commit_batch(conn: &Connection, batch: &mut Vec<Op>) {
    let size = batch.len();
    let mut completions: Vec<Completion> = Vec::with_capacity(size);
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "could not begin a write transaction");
        for op in batch.drain(..) {
            // Run nothing; tell every waiter the write did not happen.
            drop(op);
        }
        return;
    }
    for op in batch.drain(..) {
        let sp = conn.execute_batch("SAVEPOINT op");
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| op(conn)));
        let (ok, completion) = match outcome {
            Ok(pair) => pair,
            Err(_) => {
                tracing::error!("a write panicked; its changes are rolled back");
                (false, Box::new(|_| {}) as Completion)
            }
        };
        if sp.is_ok() {
            if !ok {
                let _ = conn.execute_batch("ROLLBACK TO op");
            }
            let _ = conn.execute_batch("RELEASE op");
        }
        completions.push(completion);
    }
    let committed = match conn.execute_batch("COMMIT") {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, batch = size, "commit failed; rolling back");
            let _ = conn.execute_batch("ROLLBACK");
            false
        }
    };
    metrics_hook(size);
    for c in completions {
        c(committed);
    }
}

fn metrics_hook(size: usize) {
    tracing::trace!(batch = size, "sqlite group commit");
}
