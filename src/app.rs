//! Wiring: the only place that names concrete adapters. Builds the store,
//! the ingest lanes, the job handlers and the HTTP server from settings.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::channels::dev_sink::DevSink;
use crate::clv::{ClvOptions, Period};
use crate::config::{Backend, EmbedBackend, Settings};
use crate::domain::{ChannelKind, Currency};
use crate::http::auth::AuthConfig;
use crate::http::{ApiConfig, AppState};
use crate::llm::{OpenAiLlm, OpenAiOptions};
use crate::metrics::Metrics;
use crate::pipeline::agent::{Agent, AgentConfig, LlmTuning};
use crate::pipeline::handlers::{
    AgentHandler, Channels, ClvRefitHandler, CustomerValueHandler, DeliverHandler,
};
use crate::pipeline::ingest::{IngestLanes, Ingestor};
use crate::pipeline::offers::{Catalogue, OfferPolicy};
use crate::pipeline::parse::IngestPolicy;
use crate::pipeline::ports::{Embedder, Llm, Store};
use crate::pipeline::queue::{Backoff, JobKind, NewJob};
use crate::pipeline::value::ValueOptions;
use crate::pipeline::worker::{Handlers, Worker, WorkerConfig};
use crate::store::postgres::PgStore;
use crate::store::sqlite::SqliteStore;

/// Opens the configured store (creating the data dir for SQLite). Does not
/// migrate: `serve` and `migrate` do that explicitly.
pub async fn open_store(settings: &Settings, data_dir: &Path) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match settings.store.backend {
        Backend::Sqlite => {
            let path = data_dir.join(&settings.store.sqlite_file);
            Arc::new(SqliteStore::open(
                &path,
                settings.store.group_commit_max.max(64),
            )?)
        }
        Backend::Postgres => Arc::new(
            PgStore::connect(
                settings.store.postgres_url.expose(),
                settings.store.postgres_max_connections,
            )
            .await?,
        ),
    })
}

pub fn ingest_policy(settings: &Settings) -> anyhow::Result<IngestPolicy> {
    Ok(IngestPolicy {
        default_currency: Currency::parse(&settings.ingest.default_currency)
            .map_err(|e| anyhow::anyhow!("ingest.default_currency: {e}"))?,
        default_region: settings.ingest.default_phone_region.clone(),
        custom_kinds: settings.ingest.custom_event_kinds.clone(),
        future_tolerance_secs: settings.ingest.future_tolerance_secs,
    })
}

/// Channel adapters from settings. Real channels register here as they
/// are built; the dev sink catches the rest when enabled.
pub fn channels(settings: &Settings, data_dir: &Path) -> Channels {
    let mut c = Channels::default();
    if settings.channels.dev_sink {
        c.with_fallback(Arc::new(DevSink::new(
            data_dir.join("outbox-dev.jsonl"),
            ChannelKind::Api,
        )));
    }
    c
}

/// How customer value is predicted, from settings.
pub fn value_options(settings: &Settings) -> ValueOptions {
    let c = &settings.clv;
    let mut clv = ClvOptions::for_period(Period::Week);
    clv.months = c.months;
    clv.monthly_discount_rate = c.monthly_discount_rate;
    clv.margin = c.margin;
    ValueOptions {
        horizon_days: c.horizon_days,
        clv,
    }
}

/// The offer catalogue from settings; none (and a warning) when missing.
pub fn catalogue(settings: &Settings) -> anyhow::Result<Catalogue> {
    let path = &settings.agent.catalogue;
    match std::fs::read_to_string(path) {
        Ok(text) => Catalogue::parse(&text)
            .with_context(|| format!("{}: invalid offer catalogue", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!(path = %path.display(), "no offer catalogue: no offers will be made");
            Ok(Catalogue::parse(EMPTY_CATALOGUE)?)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

const EMPTY_CATALOGUE: &str = "offer = []\n[rules]\nmax_offers_per_reply = 0\nmax_priced_offers_per_reply = 0\nmin_days_between_priced_offers = 0\n";

/// The configured embedder. Blocking when local: the first call per
/// process checks and maps the model file (call from a blocking context or
/// at startup).
pub fn embedder(settings: &Settings) -> anyhow::Result<Arc<dyn Embedder>> {
    let e = &settings.embed;
    Ok(match e.backend {
        EmbedBackend::Local => Arc::new(crate::embed::LocalE5::load(
            &e.model_dir,
            crate::embed::LocalOptions {
                batch: e.batch,
                query_cache: e.query_cache,
            },
        )?),
        EmbedBackend::Openai => Arc::new(crate::embed::OpenAiEmbedder::new(
            crate::embed::OpenAiOptions {
                base_url: e.openai_base_url.clone(),
                api_key: e.openai_api_key.expose().to_owned(),
                model: e.openai_model.clone(),
                dim: e.openai_dim,
                query_prefix: e.openai_query_prefix.clone(),
                passage_prefix: e.openai_passage_prefix.clone(),
                batch: e.batch,
            },
        )?),
    })
}

/// The knowledge base under `<data dir>/vector` with the configured
/// embedder (loaded on the blocking pool).
pub async fn knowledge_base(
    settings: &Settings,
    data_dir: &Path,
) -> anyhow::Result<crate::knowledge::KnowledgeBase> {
    let index = Arc::new(crate::vector::EdgeIndex::open(&data_dir.join("vector"))?);
    let s = settings.clone();
    let embedder = tokio::task::spawn_blocking(move || embedder(&s))
        .await
        .context("loading the embedder")??;
    let k = &settings.kb;
    Ok(
        crate::knowledge::KnowledgeBase::new(index, Some(embedder), &k.collection).with_chunking(
            crate::knowledge::ChunkParams {
                target_tokens: k.target_tokens,
                max_tokens: k.max_tokens,
                overlap_tokens: k.overlap_tokens,
            },
        ),
    )
}

/// Retrieval options from `[kb]`.
pub fn search_options(settings: &Settings) -> crate::knowledge::retrieve::SearchOptions {
    let k = &settings.kb;
    crate::knowledge::retrieve::SearchOptions {
        fusion: crate::knowledge::retrieve::Fusion::Rrf {
            k: k.rrf_k,
            dense_weight: k.dense_weight,
        },
        candidates: k.candidates,
        min_dense: k.min_dense,
        min_coverage: k.min_coverage,
        ..Default::default()
    }
}

/// The agent's grounder: the knowledge base in the data dir.
pub async fn grounder(
    settings: &Settings,
    data_dir: &Path,
) -> anyhow::Result<Arc<dyn crate::pipeline::grounding::Grounder>> {
    Ok(Arc::new(crate::knowledge::KbGrounder {
        kb: knowledge_base(settings, data_dir).await?,
        options: search_options(settings),
        passages: 3,
    }))
}

/// The local analyser from settings (it loads the embedder and trains or
/// loads its model on first use), or none when disabled.
pub fn local_analyser(settings: &Settings) -> Option<Arc<crate::analyser::LocalAnalyser>> {
    let a = &settings.analyser;
    if !a.enabled {
        return None;
    }
    let s = settings.clone();
    let factory: crate::analyser::EmbedderFactory = Arc::new(move || embedder(&s));
    Some(Arc::new(crate::analyser::LocalAnalyser::new(
        factory,
        &a.training,
        &a.cache_dir,
    )))
}

/// The LLM from `[llm]`: none when `base_url` is empty.
pub fn llm(settings: &Settings) -> anyhow::Result<Option<Arc<dyn Llm>>> {
    let l = &settings.llm;
    if l.base_url.trim().is_empty() {
        return Ok(None);
    }
    let llm = OpenAiLlm::new(OpenAiOptions {
        base_url: l.base_url.trim().to_owned(),
        api_key: secrecy::SecretString::from(l.api_key.expose().to_owned()),
        model: l.model.clone(),
        timeout: Duration::from_secs_f64(l.timeout_secs),
        max_retries: l.max_retries,
        max_retry_after: Duration::from_secs_f64(l.max_retry_after_secs),
        backoff_base: Duration::from_millis(250),
    })
    .context("configuring the LLM ([llm])")?;
    tracing::info!(model = %llm.describe(), "LLM configured");
    Ok(Some(Arc::new(llm)))
}

/// The agent from settings and the available understanding parts.
pub fn agent(settings: &Settings) -> anyhow::Result<Agent> {
    let a = &settings.agent;
    Ok(Agent {
        classifier: local_analyser(settings)
            .map(|a| a as Arc<dyn crate::pipeline::analysis::MessageClassifier>),
        grounder: None,
        llm: llm(settings)?,
        config: AgentConfig {
            shop_name: a.shop_name.clone(),
            allowed_domains: a.allowed_domains.clone(),
            auto_send_faq: a.auto_send_faq,
            auto_send_min_confidence: a.auto_send_min_confidence,
            min_confidence: a.min_confidence,
            offer_policy: OfferPolicy {
                budget_share: a.offer_budget_share,
                holdout_pct: a.offer_holdout_pct,
                experiment: a.offer_experiment.clone(),
            },
            catalogue: Arc::new(catalogue(settings)?),
            internal_terms: Vec::new(),
            llm: LlmTuning {
                temperature: settings.llm.temperature,
                max_tokens: settings.llm.max_tokens,
            },
        },
    })
}

/// Every job kind's handler, registered in one place.
pub fn handlers(
    settings: &Settings,
    store: &Arc<dyn Store>,
    channels: Channels,
    agent: Arc<Agent>,
    metrics: Arc<Metrics>,
) -> Handlers {
    let currency = settings.ingest.default_currency.to_ascii_uppercase();
    let mut h = Handlers::default();
    h.register(
        JobKind::CustomerValue,
        Arc::new(CustomerValueHandler {
            store: store.clone(),
            currency: currency.clone(),
            options: value_options(settings),
        }),
    )
    .register(
        JobKind::TriageMessage,
        Arc::new(AgentHandler {
            store: store.clone(),
            agent,
            metrics,
            max_attempts: settings.queue.max_attempts,
        }),
    )
    .register(
        JobKind::DeliverOutbox,
        Arc::new(DeliverHandler {
            store: store.clone(),
            channels,
        }),
    )
    .register(
        JobKind::ClvRefit,
        Arc::new(ClvRefitHandler {
            store: store.clone(),
            currency,
            options: value_options(settings),
            min_repeat: settings.clv.min_repeat_customers,
        }),
    );
    h
}

/// Enqueues the periodic jobs (the value-model refit) now and then every
/// period; a job already waiting is not enqueued twice.
async fn schedule_periodic(store: Arc<dyn Store>, settings: Settings, stop: CancellationToken) {
    let every = Duration::from_secs(settings.clv.refit_every_hours * 3600);
    loop {
        let job = NewJob::now(
            JobKind::ClvRefit,
            serde_json::json!({}),
            settings.queue.max_attempts,
        );
        if let Err(e) = store.enqueue_unique(job, "clv_refit").await {
            tracing::warn!(error = %e, "could not schedule the value-model refit");
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

pub fn worker_config(settings: &Settings) -> WorkerConfig {
    let q = &settings.queue;
    WorkerConfig {
        batch: q.batch,
        lease: Duration::from_secs(q.lease_secs),
        backoff: Backoff {
            base: Duration::from_millis(q.backoff_base_ms),
            max: Duration::from_secs(q.backoff_max_secs),
        },
        poll: Duration::from_millis(q.poll_interval_ms),
        grace: Duration::from_secs(settings.server.shutdown_grace_secs),
    }
}

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
        // Grounding needs the embedding model; without it the agent still
        // runs, and every answer goes to a manager as ungrounded.
        match grounder(&settings, &self.data_dir).await {
            Ok(g) => agent.grounder = Some(g),
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "no knowledge-base grounding"),
        }
        let agent = Arc::new(agent);
        let handlers = Arc::new(handlers(
            &settings,
            &store,
            channels,
            agent,
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
