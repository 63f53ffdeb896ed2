//! Shared state of the HTTP layer; handlers pull the parts they need with
//! `State<…>` through `FromRef`.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::metrics::Metrics;
use crate::pipeline::ingest::Ingestor;
use crate::pipeline::parse::IngestPolicy;
use crate::pipeline::ports::Store;

use super::auth::AuthConfig;

#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub policy: IngestPolicy,
    pub max_batch: usize,
    pub max_attempts: u32,
    /// Currency of the value figures (ingest.default_currency).
    pub currency: String,
    pub value_horizon_days: f64,
    /// Gross margin share for unit economics.
    pub margin: f64,
}

#[derive(Clone, FromRef)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub ingestor: Ingestor,
    pub metrics: Arc<Metrics>,
    pub auth: Arc<AuthConfig>,
    pub api: Arc<ApiConfig>,
}
