//! Queue workers: claim a batch (committed before anything runs), run each
//! job's handler, record outcomes with backoff and dead-lettering.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::domain::{JobId, Timestamp};
use crate::metrics::Metrics;

use super::ports::{Store, StoreResult};
use super::queue::{Backoff, Job, JobKind, JobOutcome, JobResult};

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Try again later (with backoff), until attempts run out.
    #[error("{0:#}")]
    Retryable(anyhow::Error),
    /// Retrying cannot help: dead-letter now.
    #[error("{0:#}")]
    Permanent(anyhow::Error),
}

impl From<super::ports::StoreError> for JobError {
    fn from(e: super::ports::StoreError) -> Self {
        JobError::Retryable(anyhow::Error::new(e))
    }
}

/// Work for one kind of job. Handlers must be idempotent: a job can run
/// again after a crash between its effect and its `done` mark.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    async fn handle(&self, job: &Job) -> Result<(), JobError>;
}

/// Handlers by kind, registered in one place (`app::handlers`).
#[derive(Default, Clone)]
pub struct Handlers(HashMap<JobKind, Arc<dyn JobHandler>>);

impl Handlers {
    pub fn register(&mut self, kind: JobKind, handler: Arc<dyn JobHandler>) -> &mut Self {
        self.0.insert(kind, handler);
        self
    }
    pub fn get(&self, kind: JobKind) -> Option<&Arc<dyn JobHandler>> {
        self.0.get(&kind)
    }
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub batch: usize,
    /// How long a claim holds a job. Renewed every third of it while the
    /// job runs, so it bounds how soon another worker takes over the jobs of
    /// a worker that died, not how long a job may run.
    pub lease: Duration,
    /// How long one run of a job may take before it is abandoned and
    /// retried with backoff.
    pub job_timeout: Duration,
    pub backoff: Backoff,
    pub poll: Duration,
    /// On shutdown, how long running jobs may take before their leases are
    /// released for another process.
    pub grace: Duration,
}

pub struct Worker {
    id: String,
    store: Arc<dyn Store>,
    handlers: Arc<Handlers>,
    config: WorkerConfig,
    metrics: Arc<Metrics>,
}

impl Worker {
    pub fn new(
        id: String,
        store: Arc<dyn Store>,
        handlers: Arc<Handlers>,
        config: WorkerConfig,
        metrics: Arc<Metrics>,
    ) -> Self {
        Worker {
            id,
            store,
            handlers,
            config,
            metrics,
        }
    }

    /// Claims one batch and runs it to completion. Returns how many jobs ran.
    /// Public so that tests can drain the queue deterministically.
    pub async fn run_once(&self) -> StoreResult<usize> {
        self.run_batch(None).await
    }

    /// Runs until `shutdown` fires, then finishes or releases what it holds.
    pub async fn run(self, shutdown: CancellationToken, wake: Arc<Notify>) {
        let span = tracing::info_span!("worker", worker = %self.id);
        async {
            loop {
                if shutdown.is_cancelled() {
                    break;
                }
                let notified = wake.notified();
                match self.run_batch(Some(&shutdown)).await {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "claiming jobs failed; will retry"),
                }
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = notified => {}
                    _ = tokio::time::sleep(self.config.poll) => {}
                }
            }
            tracing::debug!("worker stopped");
        }
        .instrument(span)
        .await
    }

    async fn run_batch(&self, shutdown: Option<&CancellationToken>) -> StoreResult<usize> {
        let jobs = self
            .store
            .claim_jobs(
                &self.id,
                self.config.batch,
                self.config.lease,
                Timestamp::now(),
            )
            .await?;
        let n = jobs.len();
        if n == 0 {
            return Ok(0);
        }
        let mut leases: HashMap<JobId, uuid::Uuid> = jobs
            .iter()
            .filter_map(|j| j.lease_token.map(|t| (j.id, t)))
            .collect();
        let mut running: FuturesUnordered<_> =
            jobs.into_iter().map(|job| self.run_job(job)).collect();
        // Leases are renewed until the batch's outcomes are recorded: a job
        // may outlast its lease (and a finished one waits for the rest of
        // the batch), while a worker that dies stops renewing, so its jobs
        // come free within one lease.
        let batch_leases: Vec<(JobId, uuid::Uuid)> = leases.iter().map(|(i, t)| (*i, *t)).collect();
        let every = (self.config.lease / 3).max(Duration::from_millis(10));
        let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut outcomes = Vec::with_capacity(n);
        let deadline = async {
            match shutdown {
                Some(s) => {
                    s.cancelled().await;
                    tokio::time::sleep(self.config.grace).await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                next = running.next() => match next {
                    Some(o) => {
                        leases.remove(&o.id);
                        outcomes.push(o);
                    }
                    None => break,
                },
                _ = &mut deadline => {
                    tracing::warn!(unfinished = leases.len(), "shutdown grace over; releasing leases");
                    break;
                }
                _ = renew.tick() => {
                    match self.store.extend_leases(batch_leases.clone(), self.config.lease).await {
                        Ok(n) if n < batch_leases.len() => tracing::warn!(
                            renewed = n,
                            held = batch_leases.len(),
                            "some leases were lost to another worker; their outcomes will be ignored"
                        ),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "renewing leases failed; will try again"),
                    }
                }
            }
        }
        drop(running);
        self.store.finish_jobs(outcomes).await?;
        if !leases.is_empty() {
            self.store
                .release_jobs(leases.into_iter().collect())
                .await?;
        }
        Ok(n)
    }

    async fn run_job(&self, job: Job) -> JobOutcome {
        let span =
            tracing::info_span!("job", job_id = %job.id, kind = %job.kind, attempt = job.attempts);
        let token = job.lease_token.unwrap_or_default();
        let result = async {
            let Some(handler) = self.handlers.get(job.kind) else {
                return JobResult::Dead {
                    error: format!("no handler registered for {}", job.kind),
                };
            };
            let limit = self.config.job_timeout;
            let outcome = match tokio::time::timeout(limit, handler.handle(&job)).await {
                Ok(r) => r,
                Err(_) => Err(JobError::Retryable(anyhow::anyhow!(
                    "timed out after {limit:?}"
                ))),
            };
            match outcome {
                Ok(()) => JobResult::Done,
                Err(JobError::Permanent(e)) => JobResult::Dead {
                    error: format!("{e:#}"),
                },
                Err(JobError::Retryable(e)) if job.attempts >= job.max_attempts => {
                    JobResult::Dead {
                        error: format!("gave up after {} attempts: {e:#}", job.attempts),
                    }
                }
                Err(JobError::Retryable(e)) => {
                    let delay = self.config.backoff.delay(job.attempts, &mut rand::rng());
                    JobResult::Retry {
                        error: format!("{e:#}"),
                        run_after: Timestamp::now().plus_micros(delay.as_micros() as i64),
                    }
                }
            }
        }
        .instrument(span.clone())
        .await;
        let label = match &result {
            JobResult::Done => "done",
            JobResult::Retry { .. } => "retry",
            JobResult::Dead { .. } => "dead",
        };
        span.in_scope(|| match &result {
            JobResult::Done => tracing::debug!("job done"),
            JobResult::Retry { error, .. } => tracing::warn!(%error, "job failed; will retry"),
            JobResult::Dead { error } => tracing::error!(%error, "job dead-lettered"),
        });
        self.metrics.job_finished(job.kind.as_str(), label);
        JobOutcome {
            id: job.id,
            lease_token: token,
            result,
        }
    }
}
