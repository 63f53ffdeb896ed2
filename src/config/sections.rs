//! The sections of the settings tree, one struct per `[section]` of
//! `config/default.toml` (which documents every key and its default).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Secret;

/// The knowledge base and retrieval (`[kb]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KbSettings {
    pub dir: PathBuf,
    pub collection: String,
    pub history_collection: String,
    pub target_tokens: usize,
    pub max_tokens: usize,
    pub overlap_tokens: usize,
    pub candidates: usize,
    pub fusion: FusionKind,
    pub rrf_k: f32,
    pub dense_weight: f32,
    pub cross_lingual: f32,
    /// dictd dictionary prefix (`<prefix>.index`, `<prefix>.dict.dz`);
    /// empty: no cross-lingual BM25.
    pub lexicon: PathBuf,
    pub translated: f32,
    pub doc_second: f32,
    pub min_dense: f32,
    pub agree_margin: f32,
    pub min_coverage: f32,
    pub history_k: usize,
    pub history_recent: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VectorBackend {
    Edge,
    Server,
}

/// Where vectors live (`[vector]`): qdrant-edge in process, or a Qdrant
/// server over gRPC.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VectorSettings {
    pub backend: VectorBackend,
    pub url: String,
    pub api_key: Secret,
    pub timeout_ms: u64,
}

/// An OpenAI-compatible chat endpoint; an empty `base_url` means no LLM.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LlmSettings {
    pub base_url: String,
    pub api_key: Secret,
    pub model: String,
    pub temperature: f32,
    pub max_tokens: u32,
    pub timeout_secs: f64,
    pub max_retries: u32,
    pub max_retry_after_secs: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSettings {
    pub shop_name: String,
    pub catalogue: PathBuf,
    pub allowed_domains: Vec<String>,
    pub auto_send_faq: bool,
    pub auto_send_min_confidence: f64,
    pub min_confidence: f64,
    pub offer_budget_share: f64,
    pub offer_holdout_pct: u32,
    pub offer_experiment: String,
}

/// How the dense and BM25 lists are fused (`[kb] fusion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum FusionKind {
    Zscores,
    Rrf,
    Scores,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EmbedBackend {
    Local,
    Openai,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedSettings {
    pub backend: EmbedBackend,
    pub model_dir: PathBuf,
    pub batch: usize,
    pub query_cache: usize,
    pub openai_base_url: String,
    pub openai_api_key: Secret,
    pub openai_model: String,
    pub openai_dim: usize,
    pub openai_query_prefix: String,
    pub openai_passage_prefix: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyserSettings {
    pub enabled: bool,
    pub training: PathBuf,
    pub cache_dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClvSettings {
    pub horizon_days: f64,
    pub months: u32,
    pub monthly_discount_rate: f64,
    pub margin: f64,
    pub min_repeat_customers: usize,
    pub refit_every_hours: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub listen: String,
    pub max_body_bytes: usize,
    pub request_timeout_secs: u64,
    pub shutdown_grace_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    pub backend: Backend,
    pub sqlite_file: String,
    pub postgres_url: Secret,
    pub postgres_max_connections: u32,
    pub group_commit_max: usize,
    pub ingest_lanes: usize,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSettings {
    pub max_batch: usize,
    pub default_currency: String,
    pub default_phone_region: String,
    pub custom_event_kinds: Vec<String>,
    pub future_tolerance_secs: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiToken {
    pub name: String,
    pub token: Secret,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub api_tokens: Vec<ApiToken>,
    pub hmac_secret: Secret,
    pub signature_tolerance_secs: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSettings {
    pub workers: usize,
    pub batch: usize,
    pub max_attempts: u32,
    pub backoff_base_ms: u64,
    pub backoff_max_secs: u64,
    pub lease_secs: u64,
    pub job_timeout_secs: u64,
    pub poll_interval_ms: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSettings {
    pub dev_sink: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    pub format: LogFormat,
    pub level: String,
}
