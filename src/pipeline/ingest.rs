//! The ingest use-case with group commit: concurrent requests queue here and
//! a few lanes commit them in shared transactions, so one fsync acknowledges
//! many requests and durability does not cap throughput.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{Mutex, Notify, mpsc, oneshot};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::metrics::Metrics;

use super::ports::{Store, StoreError};
use super::records::{IngestItem, IngestRequest, IngestResult, ItemOutcome, Record};
use super::routing;

struct Pending {
    request: IngestRequest,
    queued_at: Instant,
    reply: oneshot::Sender<Result<IngestResult, Arc<StoreError>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("ingest is shutting down")]
    ShuttingDown,
    #[error("storage failed: {0}")]
    Store(Arc<StoreError>),
}

#[derive(Clone)]
pub struct Ingestor {
    tx: mpsc::Sender<Pending>,
    max_attempts: u32,
}

/// Lanes of an `Ingestor`; they finish once every `Ingestor` clone is gone
/// and the queue is drained, so awaiting them flushes ingest on shutdown.
pub struct IngestLanes(JoinSet<()>);

impl IngestLanes {
    pub async fn drained(mut self) {
        while self.0.join_next().await.is_some() {}
    }
}

impl Ingestor {
    /// Starts `lanes` committers that each take up to `max_batch` waiting
    /// requests per transaction. `wake` is notified after each commit (the
    /// workers listen, so new jobs start without waiting for a poll).
    pub fn start(
        store: Arc<dyn Store>,
        lanes: usize,
        max_batch: usize,
        max_attempts: u32,
        metrics: Arc<Metrics>,
        wake: Arc<Notify>,
    ) -> (Ingestor, IngestLanes) {
        let (tx, rx) = mpsc::channel::<Pending>(max_batch * lanes * 4);
        let rx = Arc::new(Mutex::new(rx));
        let mut set = JoinSet::new();
        for lane in 0..lanes.max(1) {
            let (rx, store, metrics, wake) =
                (rx.clone(), store.clone(), metrics.clone(), wake.clone());
            set.spawn(
                lane_loop(rx, store, max_batch.max(1), metrics, wake)
                    .instrument(tracing::info_span!("ingest_lane", lane)),
            );
        }
        (Ingestor { tx, max_attempts }, IngestLanes(set))
    }

    /// Gives a validated record its id and the jobs the routing table says.
    pub fn item(&self, record: Record) -> IngestItem {
        let id = uuid::Uuid::now_v7();
        let jobs = routing::jobs_for(id, &record, self.max_attempts);
        IngestItem { id, record, jobs }
    }

    /// Submits one request; returns once it is durable (or failed).
    pub async fn submit(&self, request: IngestRequest) -> Result<IngestResult, IngestError> {
        let (reply, rx) = oneshot::channel();
        let pending = Pending {
            request,
            queued_at: Instant::now(),
            reply,
        };
        self.tx
            .send(pending)
            .await
            .map_err(|_| IngestError::ShuttingDown)?;
        let result = rx.await.map_err(|_| IngestError::ShuttingDown)?;
        result.map_err(IngestError::Store)
    }
}

async fn lane_loop(
    rx: Arc<Mutex<mpsc::Receiver<Pending>>>,
    store: Arc<dyn Store>,
    max_batch: usize,
    metrics: Arc<Metrics>,
    wake: Arc<Notify>,
) {
    let mut batch: Vec<Pending> = Vec::with_capacity(max_batch);
    loop {
        {
            let mut guard = rx.lock().await;
            match guard.recv().await {
                Some(p) => batch.push(p),
                None => return,
            }
            while batch.len() < max_batch {
                match guard.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
        }
        commit(&*store, &mut batch, &metrics).await;
        wake.notify_waiters();
    }
}

async fn commit(store: &dyn Store, batch: &mut Vec<Pending>, metrics: &Metrics) {
    metrics.group_commit_size.observe(batch.len() as f64);
    let requests: Vec<IngestRequest> = batch.iter().map(|p| p.request.clone()).collect();
    let kinds: Vec<Vec<&'static str>> = batch
        .iter()
        .map(|p| {
            p.request
                .items
                .iter()
                .map(|i| match i {
                    Ok(IngestItem {
                        record: Record::Event(_),
                        ..
                    }) => "event",
                    Ok(IngestItem {
                        record: Record::Message(_),
                        ..
                    }) => "message",
                    Err(_) => "invalid",
                })
                .collect()
        })
        .collect();
    match store.ingest(requests).await {
        Ok(results) => {
            for ((pending, result), kinds) in batch.drain(..).zip(results).zip(kinds) {
                metrics
                    .ingest_ack_latency
                    .observe(pending.queued_at.elapsed().as_secs_f64());
                if let IngestResult::Fresh(outcomes) = &result {
                    for (o, kind) in outcomes.iter().zip(kinds) {
                        let outcome = match o {
                            ItemOutcome::Stored { .. } => "stored",
                            ItemOutcome::Duplicate { .. } => "duplicate",
                            ItemOutcome::Rejected { .. } => "rejected",
                        };
                        metrics.ingest_item(kind, outcome);
                    }
                }
                let _ = pending.reply.send(Ok(result));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, batch = batch.len(), "group commit failed");
            let e = Arc::new(e);
            for pending in batch.drain(..) {
                let _ = pending.reply.send(Err(e.clone()));
            }
        }
    }
}
