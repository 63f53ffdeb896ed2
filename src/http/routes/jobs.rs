//! The queue, for operators: list jobs by state, retry dead ones.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::domain::JobId;
use crate::http::auth::{Actor, SignedJson};
use crate::http::dto::JobDto;
use crate::http::error::ApiError;
use crate::http::routes::ListQuery;
use crate::http::state::AppState;
use crate::pipeline::queue::JobState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/jobs", get(list))
        .route("/api/v1/jobs/{id}/retry", post(retry))
}

async fn list(
    State(state): State<AppState>,
    _actor: Actor,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let (filter, limit) = q.parse(JobState::parse)?;
    let jobs: Vec<JobDto> = state
        .store
        .list_jobs(filter, limit)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let counts: serde_json::Map<String, serde_json::Value> = state
        .store
        .job_counts()
        .await?
        .into_iter()
        .map(|(s, n)| (s.to_string(), json!(n)))
        .collect();
    Ok(axum::Json(json!({ "jobs": jobs, "counts": counts })).into_response())
}

async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: SignedJson,
) -> Result<Response, ApiError> {
    let id: JobId = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("job {id:?} does not exist")))?;
    let job = state.store.retry_job(id, &req.actor).await?;
    Ok(axum::Json(JobDto::from(job)).into_response())
}
