//! `spawn_app()`: a real server on a loopback port over a fresh store
//! (a temp dir for SQLite, a new database for PostgreSQL), plus typed
//! request helpers and a recording channel.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use holdfast::app::Application;
use holdfast::config::{ApiToken, Backend, Secret, Settings};
use holdfast::domain::ChannelKind;
use holdfast::pipeline::handlers::Channels;
use holdfast::pipeline::ports::{Channel, ChannelError, Guarantee, Store};
use holdfast::pipeline::views::{OutboxEntry, Receipt};
use holdfast::pipeline::worker::Worker;
use holdfast::store::pg_admin::ScratchDatabase;
use serde_json::Value;

pub const TOKEN: &str = "test-token-0123456789abcdef";
pub const HMAC_SECRET: &str = "test-hmac-secret";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub fn pg_admin_url() -> String {
    std::env::var("HOLDFAST_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub fn settings() -> Settings {
    let mut s = Settings::load(None, None).expect("default settings load");
    s.server.listen = "127.0.0.1:0".into();
    s.server.shutdown_grace_secs = 5;
    s.queue.workers = 0;
    s.queue.lease_secs = 2;
    s.queue.backoff_base_ms = 10;
    s.queue.backoff_max_secs = 1;
    s.queue.max_attempts = 3;
    s.auth.api_tokens = vec![ApiToken {
        name: "tester".into(),
        token: Secret::new(TOKEN),
    }];
    s.auth.hmac_secret = Secret::new(HMAC_SECRET);
    s
}

/// What the recording channel does on `send`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMode {
    Ok,
    /// Fail temporarily this many times, then succeed.
    FailTimes(u32),
    Permanent,
    /// Record the send, then never return (a process frozen or killed
    /// between the send and marking it sent).
    HangAfterSend,
}

pub struct RecordingChannel {
    pub kind: ChannelKind,
    pub guarantee: Guarantee,
    pub mode: Mutex<SendMode>,
    pub sent: Mutex<Vec<(String, String)>>,
    pub calls: Mutex<u32>,
}

impl RecordingChannel {
    pub fn new(kind: ChannelKind, guarantee: Guarantee, mode: SendMode) -> Arc<Self> {
        Arc::new(RecordingChannel {
            kind,
            guarantee,
            mode: Mutex::new(mode),
            sent: Mutex::new(vec![]),
            calls: Mutex::new(0),
        })
    }
    pub fn set_mode(&self, mode: SendMode) {
        *self.mode.lock().unwrap() = mode;
    }
    pub fn sends(&self) -> Vec<(String, String)> {
        self.sent.lock().unwrap().clone()
    }
}

#[async_trait]
impl Channel for RecordingChannel {
    fn kind(&self) -> ChannelKind {
        self.kind
    }
    fn guarantee(&self) -> Guarantee {
        self.guarantee
    }
    async fn send(&self, entry: &OutboxEntry) -> Result<Receipt, ChannelError> {
        let call = {
            let mut c = self.calls.lock().unwrap();
            *c += 1;
            *c
        };
        let mode = *self.mode.lock().unwrap();
        match mode {
            SendMode::FailTimes(n) if call <= n => {
                return Err(ChannelError::Temporary(format!("simulated outage {call}")));
            }
            SendMode::Permanent => return Err(ChannelError::Permanent("chat not found".into())),
            _ => {}
        }
        let id = format!("msg-{}", self.sent.lock().unwrap().len() + 1);
        self.sent
            .lock()
            .unwrap()
            .push((entry.idempotency_key.clone(), entry.body.clone()));
        if mode == SendMode::HangAfterSend {
            std::future::pending::<()>().await;
        }
        Ok(Receipt {
            channel_message_id: id,
        })
    }
    async fn lookup(&self, key: &str) -> Result<Option<Receipt>, ChannelError> {
        if self.guarantee != Guarantee::ExactlyOnce {
            return Ok(None);
        }
        let sent = self.sent.lock().unwrap();
        Ok(sent.iter().position(|(k, _)| k == key).map(|i| Receipt {
            channel_message_id: format!("msg-{}", i + 1),
        }))
    }
}

pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    /// The app's customer history (same vector index).
    pub history: holdfast::knowledge::History,
    app: Option<Application>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// Kept alive for the app's lifetime (SQLite file, dev outbox).
    _dir: tempfile::TempDir,
    scratch: Option<ScratchDatabase>,
}

pub async fn spawn_app(db: Db) -> TestApp {
    spawn_app_with(db, settings(), None).await
}

pub async fn spawn_app_with(db: Db, mut s: Settings, channels: Option<Channels>) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let scratch = match db {
        Db::Sqlite => None,
        Db::Postgres => {
            let sdb = ScratchDatabase::create(&pg_admin_url(), "holdfast_it")
                .await
                .expect("PostgreSQL at HOLDFAST_TEST_PG_URL (default 127.0.0.1:5432/test) must be reachable");
            s.store.backend = Backend::Postgres;
            s.store.postgres_url = Secret::new(&sdb.url);
            Some(sdb)
        }
    };
    let mut builder = Application::builder(s, dir.path());
    if let Some(c) = channels {
        builder = builder.channels(c);
    }
    let app = builder.build().await.expect("application builds");
    let addr = app.addr();
    let store = app.store();
    let history = app.history();
    let mut t = TestApp {
        addr,
        client: reqwest::Client::new(),
        store,
        history,
        app: Some(app),
        stop: None,
        task: None,
        _dir: dir,
        scratch,
    };
    t.start();
    t
}

impl TestApp {
    fn start(&mut self) {
        let app = self.app.take().expect("not started yet");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        self.stop = Some(tx);
        self.task = Some(tokio::spawn(app.run_until_stopped(async {
            let _ = rx.await;
        })));
    }

    /// A worker over this app's store and handlers, for draining by hand
    /// (a 2-second lease, renewed while a job runs; the default job timeout).
    pub fn worker(&self, id: &str, channels: Option<Channels>) -> Worker {
        let s = settings();
        let agent = Arc::new(holdfast::app::agent(&s).expect("agent builds"));
        let metrics = Arc::new(holdfast::metrics::Metrics::new());
        let handlers = holdfast::app::handlers(
            &s,
            &self.store,
            channels.unwrap_or_default(),
            agent,
            self.history.clone(),
            metrics.clone(),
        );
        Worker::new(
            id.into(),
            self.store.clone(),
            Arc::new(handlers),
            holdfast::app::worker_config(&s),
            metrics,
        )
    }

    /// Runs workers until no job is runnable now.
    pub async fn drain(&self, worker: &Worker) -> usize {
        let mut total = 0;
        loop {
            let n = worker.run_once().await.expect("worker runs");
            if n == 0 {
                return total;
            }
            total += n;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(TOKEN)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_with_key(&self, path: &str, key: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(TOKEN)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.expect("json")
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(20), task)
                .await
                .expect("server stops within 20 s")
                .expect("server task")
                .expect("server ran cleanly");
        }
        if let Some(db) = self.scratch.take() {
            let _ = db.drop_now().await;
        }
    }
}

pub fn event(id: &str, customer: &str, kind: &str, amount: Option<&str>) -> Value {
    let mut e = serde_json::json!({
        "event_id": id,
        "kind": kind,
        "occurred_at": "2026-05-01T10:00:00+03:00",
        "customer": { "id": customer },
        "channel": "web",
    });
    if let Some(a) = amount {
        e["amount"] = Value::from(a);
    }
    e
}

pub fn shared(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(path)
}
