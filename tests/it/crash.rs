//! Kill -9 in the middle of a stream of events: every acknowledged event is
//! stored exactly once, retries of unacknowledged ones are safe, and every
//! job still runs after a restart.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use holdfast::domain::SourceEventId;
use holdfast::pipeline::queue::JobState;
use holdfast::store::pg_admin::ScratchDatabase;

use crate::helpers::{Db, TOKEN, event, pg_admin_url};

/// A running `holdfast serve`; killed when dropped, so a failing assertion
/// never leaves a server behind.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data_dir: &std::path::Path, config: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--config")
        .arg(config)
        .arg("serve")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("holdfast binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("listening line");
    let base = line.trim().rsplit(' ').next().expect("address").to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{line}");
    Server { child, base }
}

async fn send_all(base: &str, ids: std::ops::Range<usize>, acked: Arc<Mutex<Vec<usize>>>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let next = Arc::new(Mutex::new(ids));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (client, next, acked, base) =
            (client.clone(), next.clone(), acked.clone(), base.to_owned());
        set.spawn(async move {
            let mut failures = 0;
            loop {
                let Some(i) = next.lock().unwrap().next() else {
                    return;
                };
                let kind = if i % 3 == 0 { "order" } else { "page_view" };
                let body = event(
                    &format!("K{i}"),
                    &format!("C{}", i % 50),
                    kind,
                    (i % 3 == 0).then_some("100"),
                );
                match client
                    .post(format!("{base}/api/v1/events"))
                    .bearer_auth(TOKEN)
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => acked.lock().unwrap().push(i),
                    _ => {
                        failures += 1;
                        if failures > 20 {
                            return;
                        }
                    }
                }
            }
        });
    }
    while set.join_next().await.is_some() {}
}

async fn kill_nine_loses_nothing(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let scratch = match db {
        Db::Sqlite => None,
        Db::Postgres => Some(
            ScratchDatabase::create(&pg_admin_url(), "holdfast_crash")
                .await
                .expect("PostgreSQL reachable"),
        ),
    };
    let backend = match &scratch {
        None => String::new(),
        Some(s) => format!("backend = \"postgres\"\npostgres_url = \"{}\"\n", s.url),
    };
    let config = dir.path().join("crash.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[store]\n{backend}[queue]\nworkers = 2\nlease_secs = 2\nbackoff_base_ms = 10\n[auth]\napi_tokens = [{{ name = \"crash\", token = \"{TOKEN}\" }}]\n[embed]\nmodel_dir = \"{}\"\n",
            // No embedding model: history is indexed BM25-only, so the
            // 4000 history jobs measure the queue, not e5's speed.
            dir.path().join("no-model").display()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let total = 4000;

    let mut server = start(&data, &config);
    let acked = Arc::new(Mutex::new(Vec::new()));
    let sender = {
        let (base, acked) = (server.base.clone(), acked.clone());
        tokio::spawn(async move { send_all(&base, 0..total, acked).await })
    };
    // Kill it hard once a good share is acknowledged, with requests in flight.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 1000 {
        assert!(
            Instant::now() < deadline,
            "server too slow to acknowledge 1000 events"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.child.kill().expect("SIGKILL");
    server.child.wait().unwrap();
    sender.await.unwrap();
    let acked_before: Vec<usize> = acked.lock().unwrap().clone();
    assert!(
        acked_before.len() < total,
        "the kill should interrupt the stream"
    );

    // Restart on the same data, check the acknowledged events, then let the
    // clients retry everything (safe: event ids make retries idempotent).
    let server = start(&data, &config);
    let mut settings = holdfast::config::Settings::load(Some(&config), None).unwrap();
    settings.queue.workers = 0;
    let store = holdfast::app::open_store(&settings, &data).await.unwrap();
    let ids: Vec<SourceEventId> = acked_before
        .iter()
        .map(|i| SourceEventId::parse(&format!("K{i}")).unwrap())
        .collect();
    let found = store.event_digests(ids).await.unwrap();
    assert_eq!(
        found.len(),
        acked_before.len(),
        "every acknowledged event survived the kill"
    );

    let retried = Arc::new(Mutex::new(Vec::new()));
    send_all(&server.base, 0..total, retried.clone()).await;
    assert_eq!(
        retried.lock().unwrap().len(),
        total,
        "every retry is acknowledged"
    );
    assert_eq!(
        store.count_events().await.unwrap() as usize,
        total,
        "each event exactly once"
    );

    // Every job, including those enqueued before the kill, runs to done.
    // The drain's speed is the disk's (every job's end is a durable
    // commit): what fails the test is a queue that stops moving, not a slow
    // one (30 s without a job done), or one that never ends.
    let (mut last_done, mut moved) = (0, Instant::now());
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let counts = store.job_counts().await.unwrap();
        let n = |s| {
            counts
                .iter()
                .find(|(k, _)| *k == s)
                .map(|(_, n)| *n)
                .unwrap_or(0)
        };
        if n(JobState::Done) > last_done {
            (last_done, moved) = (n(JobState::Done), Instant::now());
        }
        if n(JobState::Queued) == 0 && n(JobState::Running) == 0 {
            assert_eq!(n(JobState::Dead), 0);
            let done = store
                .list_jobs(Some(JobState::Done), 100_000)
                .await
                .unwrap();
            let value_jobs = done
                .iter()
                .filter(|j| j.kind == holdfast::pipeline::queue::JobKind::CustomerValue)
                .count();
            assert_eq!(value_jobs, total.div_ceil(3), "one value job per order");
            break;
        }
        assert!(
            moved.elapsed() < Duration::from_secs(30) && Instant::now() < deadline,
            "jobs stopped moving after restart: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(server);
    drop(store);
    if let Some(s) = scratch {
        let _ = s.drop_now().await;
    }
}
on_both!(kill_nine_loses_nothing, kill_nine_loses_nothing);
