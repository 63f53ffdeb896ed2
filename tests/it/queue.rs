//! The durable queue: retries with backoff, dead-lettering, and no job ever
//! running twice at once (leases: `leases.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use holdfast::domain::{JobId, Timestamp};
use holdfast::metrics::Metrics;
use holdfast::pipeline::ports::Store;
use holdfast::pipeline::queue::{Backoff, Job, JobKind, JobState, NewJob};
use holdfast::pipeline::worker::{Handlers, JobError, JobHandler, Worker, WorkerConfig};
use serde_json::{Value, json};

use crate::helpers::{Db, pg_admin_url, spawn_app};

/// Records every run; fails the first `fail` runs of each job.
struct Probe {
    runs: Mutex<Vec<JobId>>,
    fail: u32,
    pause: Duration,
}

#[async_trait]
impl JobHandler for Probe {
    async fn handle(&self, job: &Job) -> Result<(), JobError> {
        self.runs.lock().unwrap().push(job.id);
        tokio::time::sleep(self.pause).await;
        if job.attempts <= self.fail {
            return Err(JobError::Retryable(anyhow::anyhow!(
                "probe failure {}",
                job.attempts
            )));
        }
        Ok(())
    }
}

fn worker(
    app: &crate::helpers::TestApp,
    id: &str,
    probe: Arc<Probe>,
    backoff_ms: u64,
    lease: Duration,
) -> Worker {
    worker_on(app.store.clone(), id, probe, backoff_ms, lease)
}

fn worker_on(
    store: Arc<dyn Store>,
    id: &str,
    probe: Arc<Probe>,
    backoff_ms: u64,
    lease: Duration,
) -> Worker {
    worker_with(store, id, probe, backoff_ms, lease, Duration::from_secs(30))
}

pub(crate) fn worker_with(
    store: Arc<dyn Store>,
    id: &str,
    handler: Arc<dyn JobHandler>,
    backoff_ms: u64,
    lease: Duration,
    job_timeout: Duration,
) -> Worker {
    let mut h = Handlers::default();
    h.register(JobKind::CustomerValue, handler);
    let config = WorkerConfig {
        batch: 8,
        lease,
        job_timeout,
        backoff: Backoff {
            base: Duration::from_millis(backoff_ms),
            max: Duration::from_secs(3600),
        },
        poll: Duration::from_millis(20),
        grace: Duration::from_secs(1),
    };
    Worker::new(
        id.into(),
        store,
        Arc::new(h),
        config,
        Arc::new(Metrics::new()),
    )
}

pub(crate) fn job(max_attempts: u32) -> NewJob {
    NewJob::now(
        JobKind::CustomerValue,
        json!({ "event": uuid::Uuid::now_v7() }),
        max_attempts,
    )
}

async fn failures_back_off_then_dead_letter_then_retry(db: Db) {
    let app = spawn_app(db).await;
    let probe = Arc::new(Probe {
        runs: Mutex::new(vec![]),
        fail: 99,
        pause: Duration::ZERO,
    });
    let j = job(3);
    let id = j.id;
    app.store.enqueue(vec![j]).await.unwrap();

    // A long backoff: after the first failure the job waits, unclaimable.
    let slow = worker(
        &app,
        "slow",
        probe.clone(),
        3_600_000,
        Duration::from_secs(30),
    );
    assert_eq!(slow.run_once().await.unwrap(), 1);
    assert_eq!(
        slow.run_once().await.unwrap(),
        0,
        "a failed job waits for its backoff"
    );
    let waiting = app.store.job(id).await.unwrap().unwrap();
    assert_eq!(waiting.state, JobState::Queued);
    assert_eq!(waiting.attempts, 1);
    assert!(
        waiting.run_after > Timestamp::now().plus_secs(1700),
        "backoff is at least half the base"
    );
    assert!(
        waiting
            .last_error
            .as_deref()
            .unwrap()
            .contains("probe failure 1")
    );

    app.store
        .retry_job(id, "t")
        .await
        .expect_err("only dead jobs can be retried");

    // Another job with a short backoff fails until attempts run out: dead.
    let j = job(3);
    let id = j.id;
    app.store.enqueue(vec![j]).await.unwrap();
    let fast = worker(&app, "fast", probe.clone(), 1, Duration::from_secs(30));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        fast.run_once().await.unwrap();
        let j = app.store.job(id).await.unwrap().unwrap();
        if j.state == JobState::Dead {
            assert_eq!(j.attempts, 3);
            assert!(j.last_error.unwrap().contains("gave up after 3 attempts"));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "job never dead-lettered: {j:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Visible to operators, and retryable by them.
    let dead = app.get_json("/api/v1/jobs?state=dead").await;
    assert_eq!(dead["jobs"][0]["id"], id.to_string());
    assert_eq!(dead["counts"]["dead"], 1);
    let r = app
        .post(&format!("/api/v1/jobs/{id}/retry"), &json!({}))
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let retried: Value = r.json().await.unwrap();
    assert_eq!(
        (retried["state"].as_str(), retried["attempts"].as_u64()),
        (Some("queued"), Some(0))
    );
    let audit = app.store.audit_log("job", &id.to_string()).await.unwrap();
    assert_eq!(audit[0].actor, "tester");
    app.stop().await;
}
on_both!(
    failures_back_off_then_dead_letter_then_retry,
    failures_back_off_then_dead_letter_then_retry
);

async fn concurrent_workers_never_share_a_job(db: Db) {
    let app = spawn_app(db).await;
    let jobs: Vec<NewJob> = (0..200).map(|_| job(3)).collect();
    let ids: Vec<JobId> = jobs.iter().map(|j| j.id).collect();
    app.store.enqueue(jobs).await.unwrap();
    let probe = Arc::new(Probe {
        runs: Mutex::new(vec![]),
        fail: 0,
        pause: Duration::from_millis(2),
    });
    let mut set = tokio::task::JoinSet::new();
    for n in 0..4 {
        let w = worker(
            &app,
            &format!("w{n}"),
            probe.clone(),
            1,
            Duration::from_secs(30),
        );
        set.spawn(async move { while w.run_once().await.unwrap() > 0 {} });
    }
    while set.join_next().await.is_some() {}
    let runs = probe.runs.lock().unwrap().clone();
    let mut counts: HashMap<JobId, usize> = HashMap::new();
    for r in runs {
        *counts.entry(r).or_default() += 1;
    }
    for id in &ids {
        assert_eq!(
            counts.get(id),
            Some(&1),
            "job {id} ran {:?} times",
            counts.get(id)
        );
    }
    let done = app.store.job_counts().await.unwrap();
    assert!(done.contains(&(JobState::Done, 200)), "{done:?}");
    app.stop().await;
}
on_both!(
    concurrent_workers_never_share_a_job,
    concurrent_workers_never_share_a_job
);

/// Records every run and every overlap: a job that starts while another
/// run of the same job has not finished.
struct Exclusive {
    running: Mutex<std::collections::HashSet<JobId>>,
    runs: Mutex<Vec<JobId>>,
    overlaps: Mutex<Vec<JobId>>,
}

#[async_trait]
impl JobHandler for Exclusive {
    async fn handle(&self, job: &Job) -> Result<(), JobError> {
        if !self.running.lock().unwrap().insert(job.id) {
            self.overlaps.lock().unwrap().push(job.id);
        }
        self.runs.lock().unwrap().push(job.id);
        tokio::time::sleep(Duration::from_millis(1)).await;
        self.running.lock().unwrap().remove(&job.id);
        Ok(())
    }
}

/// Several `holdfast serve` processes on one PostgreSQL database: two
/// stores with their own connection pools (as two processes have) migrate
/// at once and drain one queue with three workers each; every job runs
/// exactly once and never twice at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_on_one_postgres_never_share_a_job() {
    use holdfast::store::pg_admin::ScratchDatabase;
    use holdfast::store::postgres::PgStore;

    let db = ScratchDatabase::create(&pg_admin_url(), "holdfast_it")
        .await
        .expect("PostgreSQL at HOLDFAST_TEST_PG_URL must be reachable");
    let a: Arc<dyn Store> = Arc::new(PgStore::connect(&db.url, 8).await.unwrap());
    let b: Arc<dyn Store> = Arc::new(PgStore::connect(&db.url, 8).await.unwrap());
    let (ma, mb) = tokio::join!(a.migrate(), b.migrate());
    let (ma, mb) = (ma.unwrap(), mb.unwrap());
    assert_eq!(
        ma.len() + mb.len(),
        3,
        "each migration is applied once: {ma:?} {mb:?}"
    );
    a.ready().await.unwrap();
    b.ready().await.unwrap();

    let jobs: Vec<NewJob> = (0..300).map(|_| job(3)).collect();
    let ids: Vec<JobId> = jobs.iter().map(|j| j.id).collect();
    a.enqueue(jobs).await.unwrap();
    let probe = Arc::new(Exclusive {
        running: Mutex::new(Default::default()),
        runs: Mutex::new(vec![]),
        overlaps: Mutex::new(vec![]),
    });
    let mut set = tokio::task::JoinSet::new();
    for (p, store) in [("a", &a), ("b", &b)] {
        for n in 0..3 {
            let mut h = Handlers::default();
            h.register(JobKind::CustomerValue, probe.clone());
            let config = WorkerConfig {
                batch: 4,
                lease: Duration::from_secs(30),
                job_timeout: Duration::from_secs(30),
                backoff: Backoff {
                    base: Duration::from_millis(1),
                    max: Duration::from_secs(1),
                },
                poll: Duration::from_millis(10),
                grace: Duration::from_secs(1),
            };
            let w = Worker::new(
                format!("{p}{n}"),
                store.clone(),
                Arc::new(h),
                config,
                Arc::new(Metrics::new()),
            );
            set.spawn(async move {
                let mut total = 0;
                loop {
                    let n = w.run_once().await.unwrap();
                    if n == 0 {
                        return total;
                    }
                    total += n;
                }
            });
        }
    }
    let mut per_worker = Vec::new();
    while let Some(n) = set.join_next().await {
        per_worker.push(n.unwrap());
    }
    assert_eq!(per_worker.iter().sum::<usize>(), 300, "{per_worker:?}");
    let overlaps = probe.overlaps.lock().unwrap().clone();
    assert!(overlaps.is_empty(), "jobs ran concurrently: {overlaps:?}");
    let mut counts: HashMap<JobId, usize> = HashMap::new();
    for r in probe.runs.lock().unwrap().iter() {
        *counts.entry(*r).or_default() += 1;
    }
    for id in &ids {
        assert_eq!(
            counts.get(id),
            Some(&1),
            "job {id} ran {:?} times",
            counts.get(id)
        );
    }
    for store in [&a, &b] {
        let done = store.job_counts().await.unwrap();
        assert!(done.contains(&(JobState::Done, 300)), "{done:?}");
    }
    drop((a, b));
    db.drop_now().await.unwrap();
}
