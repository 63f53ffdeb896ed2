//! `/healthz` (the process answers), `/readyz` (database reachable and
//! migrated), `/metrics` (Prometheus text format).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::http::error::problem;
use crate::http::state::AppState;
use crate::metrics::StateLabels;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn healthz() -> Response {
    axum::Json(json!({ "status": "alive" })).into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ready().await {
        Ok(()) => {
            axum::Json(json!({ "status": "ready", "store": state.store.backend() })).into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "not-ready",
                "Not ready",
                &e.to_string(),
                None,
            )
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    // Queue and outbox gauges are read from the database at scrape time, so
    // they are true across processes sharing one database.
    if let Ok(counts) = state.store.job_counts().await {
        for (s, n) in counts {
            state
                .metrics
                .queue_depth
                .get_or_create(&StateLabels {
                    state: s.as_str().into(),
                })
                .set(n as i64);
        }
    }
    if let Ok(counts) = state.store.outbox_counts().await {
        for (s, n) in counts {
            state
                .metrics
                .outbox_rows
                .get_or_create(&StateLabels {
                    state: s.as_str().into(),
                })
                .set(n as i64);
        }
    }
    let mut resp = state.metrics.render().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    resp
}
