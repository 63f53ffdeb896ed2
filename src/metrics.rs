//! Prometheus metrics, one registry per application instance (so tests that
//! run several apps in one process do not mix their figures).

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub kind: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: String,
}

pub struct Metrics {
    registry: Mutex<Registry>,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_latency: Family<RouteLabels, Histogram>,
    /// Time from a request arriving at the ingest use-case to its commit.
    pub ingest_ack_latency: Histogram,
    pub ingest_items: Family<OutcomeLabels, Counter>,
    pub group_commit_size: Histogram,
    pub jobs_finished: Family<OutcomeLabels, Counter>,
    pub queue_depth: Family<StateLabels, Gauge>,
    pub outbox_rows: Family<StateLabels, Gauge>,
    pub guardrail_violations: Family<RuleLabels, Counter>,
    pub drafts: Family<OutcomeLabels, Counter>,
    /// LLM steps that produced nothing usable: kind = analysis | draft,
    /// outcome = timeout, rate_limited, invalid_response, http, transport.
    pub llm_failures: Family<OutcomeLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleLabels {
    pub rule: String,
}

fn latency_histogram() -> Histogram {
    // 0.1 ms .. ~6.5 s
    Histogram::new(exponential_buckets(0.0001, 2.0, 17))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_latency = Family::<RouteLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let ingest_ack_latency = latency_histogram();
        let ingest_items = Family::<OutcomeLabels, Counter>::default();
        let group_commit_size = Histogram::new(exponential_buckets(1.0, 2.0, 12));
        let jobs_finished = Family::<OutcomeLabels, Counter>::default();
        let queue_depth = Family::<StateLabels, Gauge>::default();
        let outbox_rows = Family::<StateLabels, Gauge>::default();
        let guardrail_violations = Family::<RuleLabels, Counter>::default();
        let drafts = Family::<OutcomeLabels, Counter>::default();
        let llm_failures = Family::<OutcomeLabels, Counter>::default();
        let mut r = Registry::with_prefix("holdfast");
        r.register(
            "guardrail_violations",
            "Policy violations found in drafts, by rule",
            guardrail_violations.clone(),
        );
        r.register(
            "drafts",
            "Drafts by producer (llm, template, handover) and route",
            drafts.clone(),
        );
        r.register(
            "llm_failures",
            "LLM steps that fell back to the local path, by step and error kind",
            llm_failures.clone(),
        );
        r.register(
            "http_requests",
            "HTTP requests by route and status",
            http_requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            http_latency.clone(),
        );
        r.register(
            "ingest_ack_latency_seconds",
            "Time from accepting an ingest request to its durable commit",
            ingest_ack_latency.clone(),
        );
        r.register(
            "ingest_items",
            "Ingested items by kind and outcome",
            ingest_items.clone(),
        );
        r.register(
            "ingest_group_commit_requests",
            "Requests committed together in one transaction",
            group_commit_size.clone(),
        );
        r.register(
            "jobs_finished",
            "Finished job attempts by kind and outcome",
            jobs_finished.clone(),
        );
        r.register(
            "queue_jobs",
            "Jobs in the queue by state",
            queue_depth.clone(),
        );
        r.register(
            "outbox_deliveries",
            "Outbox rows by state",
            outbox_rows.clone(),
        );
        Metrics {
            registry: Mutex::new(r),
            http_requests,
            http_latency,
            ingest_ack_latency,
            ingest_items,
            group_commit_size,
            jobs_finished,
            queue_depth,
            outbox_rows,
            guardrail_violations,
            drafts,
            llm_failures,
        }
    }

    pub fn job_finished(&self, kind: &str, outcome: &str) {
        self.jobs_finished
            .get_or_create(&OutcomeLabels {
                kind: kind.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    pub fn ingest_item(&self, kind: &str, outcome: &str) {
        self.ingest_items
            .get_or_create(&OutcomeLabels {
                kind: kind.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Ok(r) = self.registry.lock() {
            let _ = encode(&mut out, &r);
        }
        out
    }
}
