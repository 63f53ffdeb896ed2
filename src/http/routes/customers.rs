//! Customers: read one, look one up by identifier, list conflicts, merge.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use crate::domain::{CustomerId, IdKind};
use crate::http::auth::{Actor, SignedJson};
use crate::http::dto::{ConflictDto, CustomerDto, ValueDto};
use crate::http::error::ApiError;
use crate::http::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/customers/lookup", get(lookup))
        .route("/api/v1/customers/{id}", get(get_customer))
        .route("/api/v1/customers/{id}/conflicts", get(conflicts))
        .route("/api/v1/customers/{id}/merge", post(merge))
}

fn parse_id(raw: &str) -> Result<CustomerId, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound(format!("customer {raw:?} does not exist (ids are UUIDs; use /api/v1/customers/lookup for the shop's own ids)")))
}

async fn get_customer(
    State(state): State<AppState>,
    _actor: Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    customer_response(&state, id).await
}

async fn customer_response(state: &AppState, id: CustomerId) -> Result<Response, ApiError> {
    let customer = state
        .store
        .customer(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("customer {id} does not exist")))?;
    let mut dto = CustomerDto::from(customer);
    dto.value = state.store.customer_value(id).await?.map(|v| {
        ValueDto::new(
            v,
            state.api.value_horizon_days,
            crate::domain::Timestamp::now(),
        )
    });
    Ok(axum::Json(dto).into_response())
}

#[derive(Deserialize)]
struct LookupQuery {
    kind: String,
    value: String,
}

async fn lookup(
    State(state): State<AppState>,
    _actor: Actor,
    Query(q): Query<LookupQuery>,
) -> Result<Response, ApiError> {
    let kind =
        IdKind::parse(&q.kind).map_err(|e| ApiError::invalid(e.to_string(), vec![e.into()]))?;
    // Normalise the value the way ingest does, so "+7 916 …" finds "+7916…".
    let policy = &state.api.policy;
    let value = match kind {
        IdKind::Phone => {
            crate::domain::Phone::parse(&q.value, &policy.default_region).map(|p| p.to_string())
        }
        IdKind::Email => crate::domain::Email::parse(&q.value).map(|e| e.to_string()),
        IdKind::TelegramUsername => {
            crate::domain::TelegramUsername::parse(&q.value).map(|u| u.as_str().to_owned())
        }
        _ => Ok(q.value.trim().to_owned()),
    }
    .map_err(|e| ApiError::invalid(e.to_string(), vec![e.into()]))?;
    let id = state
        .store
        .find_customer(kind, &value)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no customer has that {kind}")))?;
    customer_response(&state, id).await
}

async fn conflicts(
    State(state): State<AppState>,
    _actor: Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let list: Vec<ConflictDto> = state
        .store
        .conflicts(Some(id))
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(axum::Json(json!({ "conflicts": list })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeBody {
    from: String,
}

/// Merges customer `from` into `{id}`: an explicit, audited operator act.
async fn merge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: SignedJson,
) -> Result<Response, ApiError> {
    let into = parse_id(&id)?;
    let body: MergeBody = req.json()?;
    let from = parse_id(&body.from)?;
    let jobs = crate::pipeline::routing::jobs_for_merge(into, from, state.api.max_attempts);
    let r = state
        .store
        .merge_customers(into, from, &req.actor, jobs)
        .await?;
    Ok(axum::Json(json!({
        "into": into.to_string(),
        "from": from.to_string(),
        "identifiers_moved": r.identifiers_moved,
        "events_moved": r.events_moved,
        "messages_moved": r.messages_moved,
        "conversations_moved": r.conversations_moved,
        "drafts_moved": r.drafts_moved,
        "conflicts_resolved": r.conflicts_resolved,
    }))
    .into_response())
}
