//! Leases: a dead worker's jobs come free when its lease expires, and a
//! live worker keeps the jobs it runs, however long, up to the job timeout.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use holdfast::domain::{JobId, Timestamp};
use holdfast::pipeline::ports::Store;
use holdfast::pipeline::queue::{Job, JobKind, JobOutcome, JobResult, JobState, NewJob};
use holdfast::pipeline::worker::{JobError, JobHandler, Worker};
use serde_json::json;

use crate::helpers::{Db, spawn_app};
use crate::queue::{job, worker_with};

async fn expired_leases_are_reclaimed(db: Db) {
    let app = spawn_app(db).await;
    app.store.enqueue(vec![job(5)]).await.unwrap();
    // Worker A claims and "dies": it never reports back.
    let lease = Duration::from_millis(300);
    let claimed = app
        .store
        .claim_jobs("a", 10, lease, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let a_token = claimed[0].lease_token.unwrap();
    assert!(
        app.store
            .claim_jobs("b", 10, lease, Timestamp::now())
            .await
            .unwrap()
            .is_empty(),
        "leased jobs are not handed out"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let b = app
        .store
        .claim_jobs("b", 10, Duration::from_secs(30), Timestamp::now())
        .await
        .unwrap();
    assert_eq!(b.len(), 1, "the expired lease is reclaimed");
    assert_eq!(b[0].attempts, 2);
    assert!(
        b[0].last_error
            .as_deref()
            .unwrap()
            .contains("lease expired")
    );
    // A's late report is ignored: B holds the lease now.
    app.store
        .finish_jobs(vec![JobOutcome {
            id: b[0].id,
            lease_token: a_token,
            result: JobResult::Done,
        }])
        .await
        .unwrap();
    assert_eq!(
        app.store.job(b[0].id).await.unwrap().unwrap().state,
        JobState::Running
    );
    app.store
        .finish_jobs(vec![JobOutcome {
            id: b[0].id,
            lease_token: b[0].lease_token.unwrap(),
            result: JobResult::Done,
        }])
        .await
        .unwrap();
    assert_eq!(
        app.store.job(b[0].id).await.unwrap().unwrap().state,
        JobState::Done
    );

    // A job whose last attempt's lease expires is dead-lettered, not rerun.
    let last = job(1);
    let last_id = last.id;
    app.store.enqueue(vec![last]).await.unwrap();
    app.store
        .claim_jobs("a", 10, lease, Timestamp::now())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        app.store
            .claim_jobs("b", 10, lease, Timestamp::now())
            .await
            .unwrap()
            .is_empty()
    );
    let j = app.store.job(last_id).await.unwrap().unwrap();
    assert_eq!(j.state, JobState::Dead);
    assert!(j.last_error.unwrap().contains("last attempt"));
    app.stop().await;
}
on_both!(expired_leases_are_reclaimed, expired_leases_are_reclaimed);

/// Sleeps for the job's `pause_ms`, recording every run.
struct Sleeper {
    runs: Mutex<Vec<JobId>>,
}

#[async_trait]
impl JobHandler for Sleeper {
    async fn handle(&self, job: &Job) -> Result<(), JobError> {
        self.runs.lock().unwrap().push(job.id);
        let ms = job.payload["pause_ms"].as_u64().unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(())
    }
}

fn sleeper(
    store: &Arc<dyn Store>,
    sleeper: Arc<Sleeper>,
    lease: Duration,
    timeout: Duration,
) -> Worker {
    worker_with(store.clone(), "sleeper", sleeper, 3_600_000, lease, timeout)
}

fn sleepy_job(pause_ms: u64) -> NewJob {
    NewJob::now(JobKind::CustomerValue, json!({ "pause_ms": pause_ms }), 3)
}

async fn a_job_outlasting_its_lease_keeps_it_until_its_timeout(db: Db) {
    let app = spawn_app(db).await;
    let runs = Arc::new(Sleeper {
        runs: Mutex::new(vec![]),
    });
    // One batch of two jobs: one runs three and a half leases long, the
    // other finishes at once and waits for the batch's outcomes to be
    // recorded. Neither is handed to anyone else meanwhile: both leases are
    // renewed (every third of a lease, which leaves a busy machine 2/3 s of
    // slack) until then.
    let (slow, quick) = (sleepy_job(3500), sleepy_job(0));
    let ids = vec![slow.id, quick.id];
    app.store.enqueue(vec![slow, quick]).await.unwrap();
    let lease = Duration::from_secs(1);
    let a = sleeper(&app.store, runs.clone(), lease, Duration::from_secs(30));
    let running = tokio::spawn(async move { a.run_once().await.unwrap() });
    let mut stolen = Vec::new();
    while !running.is_finished() {
        tokio::time::sleep(Duration::from_millis(200)).await;
        stolen.extend(
            app.store
                .claim_jobs("thief", 10, lease, Timestamp::now())
                .await
                .unwrap()
                .into_iter()
                .map(|j| j.id),
        );
    }
    assert_eq!(running.await.unwrap(), 2);
    assert!(stolen.is_empty(), "claimed from a live worker: {stolen:?}");
    let mut ran = runs.runs.lock().unwrap().clone();
    ran.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(ran, want, "each job ran once");
    for id in &ids {
        let j = app.store.job(*id).await.unwrap().unwrap();
        assert_eq!((j.state, j.attempts), (JobState::Done, 1));
    }

    // The job timeout, not the lease, bounds a run: over it, the run is
    // abandoned and the job waits for its retry.
    let j = sleepy_job(1000);
    let id = j.id;
    app.store.enqueue(vec![j]).await.unwrap();
    let short = sleeper(
        &app.store,
        runs.clone(),
        Duration::from_secs(30),
        Duration::from_millis(200),
    );
    assert_eq!(short.run_once().await.unwrap(), 1);
    let retried = app.store.job(id).await.unwrap().unwrap();
    assert_eq!((retried.state, retried.attempts), (JobState::Queued, 1));
    assert!(
        retried.last_error.as_deref().unwrap().contains("timed out"),
        "{:?}",
        retried.last_error
    );
    app.stop().await;
}
on_both!(
    a_job_outlasting_its_lease_keeps_it_until_its_timeout,
    a_job_outlasting_its_lease_keeps_it_until_its_timeout
);
