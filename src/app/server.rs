//! A built server: bound, migrated, with its workers; and how it stops.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::http::auth::AuthConfig;
use crate::http::{ApiConfig, AppState};
use crate::metrics::Metrics;
use crate::pipeline::handlers::Channels;
use crate::pipeline::ingest::{IngestLanes, Ingestor};
use crate::pipeline::ports::Store;
use crate::pipeline::worker::{Handlers, Worker};

use super::components::{
    channels, handlers, ingest_policy, open_store, schedule_periodic, worker_config,
};
use super::understanding::{
    agent, grounder, history, knowledge_base_with, load_embedder, vector_index,
};

/// A built, not yet running server: the port is bound, the store migrated.
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    settings: Settings,
    store: Arc<dyn Store>,
    ingestor: Ingestor,
    lanes: IngestLanes,
    handlers: Arc<Handlers>,
    metrics: Arc<Metrics>,
    wake: Arc<Notify>,
    history: crate::knowledge::History,
}

pub struct ApplicationBuilder {
    settings: Settings,
    data_dir: PathBuf,
    channels: Option<Channels>,
    store: Option<Arc<dyn Store>>,
}

impl ApplicationBuilder {
    /// Replaces the channel adapters (tests use recording channels).
    pub fn channels(mut self, channels: Channels) -> Self {
        self.channels = Some(channels);
        self
    }

    /// Uses an already opened store.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    pub async fn build(self) -> anyhow::Result<Application> {
        let settings = self.settings;
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("creating the data directory {}", self.data_dir.display()))?;
        let store = match self.store {
            Some(s) => s,
            None => open_store(&settings, &self.data_dir).await?,
        };
        let applied = store.migrate().await.context("migrating the database")?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "database migrated");
        }
        let metrics = Arc::new(Metrics::new());
        let wake = Arc::new(Notify::new());
        let (ingestor, lanes) = Ingestor::start(
            store.clone(),
            settings.store.ingest_lanes,
            settings.store.group_commit_max,
            settings.queue.max_attempts,
            metrics.clone(),
            wake.clone(),
        );
        let channels = self
            .channels
            .unwrap_or_else(|| channels(&settings, &self.data_dir));
        let mut agent = agent(&settings)?;
        // One vector index for the knowledge base and the history.
        let index = vector_index(&settings, &self.data_dir).await?;
        let embedder = match load_embedder(&settings).await {
            Ok(e) => Some(e),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "no embedding model");
                None
            }
        };
        // History is indexed with or without the model (BM25 only then).
        let history = history(&settings, index.clone(), embedder.clone());
        // Grounding needs the embedding model; without it the agent still
        // runs, and every answer goes to a manager as ungrounded.
        match embedder {
            Some(e) => {
                let kb = knowledge_base_with(&settings, index, e);
                agent.grounder = Some(grounder(&settings, kb, history.clone()));
            }
            None => tracing::warn!("no knowledge-base grounding"),
        }
        let agent = Arc::new(agent);
        let handlers = Arc::new(handlers(
            &settings,
            &store,
            channels,
            agent,
            history.clone(),
            metrics.clone(),
        ));
        let listener = TcpListener::bind(&settings.server.listen)
            .await
            .with_context(|| format!("binding {} (server.listen)", settings.server.listen))?;
        let addr = listener.local_addr()?;
        Ok(Application {
            listener,
            addr,
            settings,
            store,
            ingestor,
            lanes,
            handlers,
            metrics,
            wake,
            history,
        })
    }
}

impl Application {
    pub fn builder(settings: Settings, data_dir: &Path) -> ApplicationBuilder {
        ApplicationBuilder {
            settings,
            data_dir: data_dir.to_owned(),
            channels: None,
            store: None,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// The customer history (over this application's vector index: use it
    /// rather than opening the data dir's index a second time).
    pub fn history(&self) -> crate::knowledge::History {
        self.history.clone()
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// A worker over this application's store and handlers, for draining
    /// the queue by hand (`run_once`).
    pub fn worker(&self, id: &str) -> Worker {
        Worker::new(
            id.to_owned(),
            self.store.clone(),
            self.handlers.clone(),
            worker_config(&self.settings),
            self.metrics.clone(),
        )
    }

    /// Serves until `shutdown` resolves, then: stops accepting, lets
    /// in-flight requests finish, flushes ingest, lets workers finish or
    /// release their jobs, and returns.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Application {
            listener,
            addr,
            settings,
            store,
            ingestor,
            lanes,
            handlers,
            metrics,
            wake,
            history: _,
        } = self;
        let stop_workers = CancellationToken::new();
        let mut workers = tokio::task::JoinSet::new();
        for n in 0..settings.queue.workers {
            let id = format!("{}-{}-w{n}", hostname(), std::process::id());
            let w = Worker::new(
                id,
                store.clone(),
                handlers.clone(),
                worker_config(&settings),
                metrics.clone(),
            );
            workers.spawn(w.run(stop_workers.clone(), wake.clone()));
        }
        // Periodic work is scheduled by processes that run workers.
        if settings.queue.workers > 0 {
            workers.spawn(schedule_periodic(
                store.clone(),
                settings.clone(),
                stop_workers.clone(),
            ));
        }
        let auth = Arc::new(AuthConfig {
            settings: settings.auth.clone(),
            max_body_bytes: settings.server.max_body_bytes,
        });
        if settings.auth.api_tokens.is_empty() && settings.auth.hmac_secret.is_empty() {
            tracing::warn!(
                "no API tokens or signing secret configured: the API will refuse every call"
            );
        }
        let state = AppState {
            store: store.clone(),
            ingestor,
            metrics,
            auth,
            api: Arc::new(ApiConfig {
                policy: ingest_policy(&settings)?,
                max_batch: settings.ingest.max_batch,
                max_attempts: settings.queue.max_attempts,
                currency: settings.ingest.default_currency.to_ascii_uppercase(),
                value_horizon_days: settings.clv.horizon_days,
                margin: settings.clv.margin,
            }),
        };
        let router = crate::http::router(
            state,
            Duration::from_secs(settings.server.request_timeout_secs),
        );
        tracing::info!(%addr, store = store.backend(), workers = settings.queue.workers, "serving");
        let grace = Duration::from_secs(settings.server.shutdown_grace_secs);
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: no new connections");
            let _ = stopping_tx.send(());
        });
        let serve = async move {
            tokio::select! {
                r = serve => r.context("the HTTP server failed"),
                _ = async {
                    let _ = stopping_rx.await;
                    tokio::time::sleep(grace).await;
                } => {
                    tracing::warn!("in-flight requests did not finish within the grace period");
                    Ok(())
                }
            }
        };
        serve.await?;
        // The router (and its Ingestor) is gone; the lanes drain and stop.
        lanes.drained().await;
        stop_workers.cancel();
        while workers.join_next().await.is_some() {}
        tracing::info!("stopped");
        Ok(())
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "holdfast".into())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
