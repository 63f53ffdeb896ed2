//! The spine's parts from settings: store, ingest policy, channels, value
//! options, the offer catalogue, job handlers and the worker.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::channels::dev_sink::DevSink;
use crate::clv::{ClvOptions, Period};
use crate::config::{Backend, Settings};
use crate::domain::{ChannelKind, Currency};
use crate::metrics::Metrics;
use crate::pipeline::agent::Agent;
use crate::pipeline::handlers::{
    AgentHandler, Channels, ClvRefitHandler, CustomerValueHandler, DeliverHandler,
};
use crate::pipeline::offers::Catalogue;
use crate::pipeline::parse::IngestPolicy;
use crate::pipeline::ports::Store;
use crate::pipeline::queue::{Backoff, JobKind, NewJob};
use crate::pipeline::value::ValueOptions;
use crate::pipeline::worker::{Handlers, WorkerConfig};
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

/// Every job kind's handler, registered in one place.
pub fn handlers(
    settings: &Settings,
    store: &Arc<dyn Store>,
    channels: Channels,
    agent: Arc<Agent>,
    history: crate::knowledge::History,
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
    )
    .register(
        JobKind::IndexHistory,
        Arc::new(crate::knowledge::IndexHistoryHandler {
            store: store.clone(),
            history: history.clone(),
        }),
    )
    .register(
        JobKind::HistoryMerge,
        Arc::new(crate::knowledge::HistoryMergeHandler {
            store: store.clone(),
            history,
        }),
    );
    h
}

/// Enqueues the periodic jobs (the value-model refit) now and then every
/// period; a job already waiting is not enqueued twice.
pub(super) async fn schedule_periodic(
    store: Arc<dyn Store>,
    settings: Settings,
    stop: CancellationToken,
) {
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
        job_timeout: Duration::from_secs(q.job_timeout_secs),
        backoff: Backoff {
            base: Duration::from_millis(q.backoff_base_ms),
            max: Duration::from_secs(q.backoff_max_secs),
        },
        poll: Duration::from_millis(q.poll_interval_ms),
        grace: Duration::from_secs(settings.server.shutdown_grace_secs),
    }
}
