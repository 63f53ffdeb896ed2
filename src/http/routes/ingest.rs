//! `POST /api/v1/events` and `POST /api/v1/messages`: validate, store
//! durably (group-committed), then acknowledge.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::Timestamp;
use crate::pipeline::parse;
use crate::pipeline::records::{IdempotencyKey, IngestRequest, IngestResult, ItemOutcome, Record};

use crate::http::auth::SignedJson;
use crate::http::dto::{BatchResponse, EventDto, MessageDto, json_error};
use crate::http::error::ApiError;
use crate::http::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/events", post(post_events))
        .route("/api/v1/messages", post(post_message))
}

fn idempotency_key(
    headers: &HeaderMap,
    scope: &'static str,
    body: &[u8],
) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| ApiError::BadRequest {
            title: "Bad Idempotency-Key",
            detail: "Idempotency-Key must be 1 to 255 visible ASCII characters".into(),
        })?;
    Ok(Some(IdempotencyKey {
        scope,
        key: key.to_owned(),
        request_digest: hex::encode(Sha256::digest(body)),
    }))
}

fn key_reused() -> ApiError {
    ApiError::Invalid {
        title: "Idempotency-Key reused",
        detail: "this Idempotency-Key was used with a different request body; use a new key for a new request".into(),
        errors: vec![],
        extra: None,
    }
}

fn json(status: StatusCode, body: &impl serde::Serialize, replayed: bool) -> Response {
    let mut resp = (status, axum::Json(body)).into_response();
    if replayed {
        resp.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    resp
}

/// One item, answered on its own: 202 stored, 200 duplicate, 422 rejected.
fn single_response(outcome: ItemOutcome, replayed: bool) -> Response {
    match outcome {
        o @ ItemOutcome::Stored { .. } => json(StatusCode::ACCEPTED, &o, replayed),
        o @ ItemOutcome::Duplicate { .. } => json(StatusCode::OK, &o, replayed),
        ItemOutcome::Rejected { errors } => {
            let detail = errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.reason))
                .collect::<Vec<_>>()
                .join("; ");
            let mut resp = ApiError::invalid(detail, errors).into_response();
            if replayed {
                resp.headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
            }
            resp
        }
    }
}

fn batch_response(outcomes: Vec<ItemOutcome>, replayed: bool) -> Response {
    let body = BatchResponse::from_outcomes(outcomes);
    if body.rejected > 0 && body.rejected == body.results.len() {
        let extra = serde_json::to_value(&body).ok().map(Box::new);
        let mut resp = ApiError::Invalid {
            title: "Invalid input",
            detail: format!("all {} items were rejected; see results", body.rejected),
            errors: vec![],
            extra,
        }
        .into_response();
        if replayed {
            resp.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        return resp;
    }
    json(StatusCode::OK, &body, replayed)
}

async fn post_events(State(state): State<AppState>, req: SignedJson) -> Result<Response, ApiError> {
    let idempotency = idempotency_key(&req.headers, "events", &req.body)?;
    let value: Value = serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::bad_json(format!("the body is not valid JSON: {e}")))?;
    let (items, single) = match value {
        Value::Object(mut map) if map.contains_key("events") => match map.remove("events") {
            Some(Value::Array(a)) if map.is_empty() => (a, false),
            _ => {
                return Err(ApiError::invalid(
                    "a batch is {\"events\": [ ... ]} with no other fields",
                    vec![],
                ));
            }
        },
        v @ Value::Object(_) => (vec![v], true),
        Value::Array(a) => (a, false),
        _ => {
            return Err(ApiError::invalid(
                "send one event object or {\"events\": [...]}",
                vec![],
            ));
        }
    };
    if items.is_empty() {
        return Err(ApiError::invalid("the batch is empty", vec![]));
    }
    if items.len() > state.api.max_batch {
        return Err(ApiError::PayloadTooLarge(format!(
            "a batch holds at most {} events; this one has {}",
            state.api.max_batch,
            items.len()
        )));
    }
    let now = Timestamp::now();
    let items = items
        .into_iter()
        .map(|v| {
            let dto: EventDto = serde_json::from_value(v).map_err(|e| vec![json_error(&e)])?;
            let event = parse::event(dto.into(), &state.api.policy, now)?;
            Ok(state.ingestor.item(Record::Event(event)))
        })
        .collect();
    let result = state
        .ingestor
        .submit(IngestRequest { idempotency, items })
        .await?;
    let (outcomes, replayed) = match result {
        IngestResult::KeyReused => return Err(key_reused()),
        IngestResult::Fresh(o) => (o, false),
        IngestResult::Replayed(o) => (o, true),
    };
    Ok(if single {
        match outcomes.into_iter().next() {
            Some(o) => single_response(o, replayed),
            None => {
                return Err(ApiError::Internal(anyhow::anyhow!(
                    "no outcome for a single event"
                )));
            }
        }
    } else {
        batch_response(outcomes, replayed)
    })
}

async fn post_message(
    State(state): State<AppState>,
    req: SignedJson,
) -> Result<Response, ApiError> {
    let idempotency = idempotency_key(&req.headers, "messages", &req.body)?;
    let value: Value = serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::bad_json(format!("the body is not valid JSON: {e}")))?;
    let item = serde_json::from_value::<MessageDto>(value)
        .map_err(|e| vec![json_error(&e)])
        .and_then(|dto| parse::message(dto.into(), &state.api.policy, Timestamp::now()))
        .map(|m| state.ingestor.item(Record::Message(m)));
    let result = state
        .ingestor
        .submit(IngestRequest {
            idempotency,
            items: vec![item],
        })
        .await?;
    let (outcome, replayed) = match result {
        IngestResult::KeyReused => return Err(key_reused()),
        IngestResult::Fresh(o) => (o, false),
        IngestResult::Replayed(o) => (o, true),
    };
    match outcome.into_iter().next() {
        Some(o) => Ok(single_response(o, replayed)),
        None => Err(ApiError::Internal(anyhow::anyhow!(
            "no outcome for a message"
        ))),
    }
}
