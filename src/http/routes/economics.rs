//! Unit economics and the marketing spend they need.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::Timestamp;
use crate::http::auth::{Actor, SignedJson};
use crate::http::dto::json_error;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::pipeline::economics;
use crate::pipeline::parse::{self, RawSpend};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/metrics/economics", get(get_economics))
        .route("/api/v1/marketing-spend", post(post_spend))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Window {
    from: Option<String>,
    to: Option<String>,
}

/// The window [from, to): default the 90 days up to now.
pub fn window(from: Option<&str>, to: Option<&str>) -> Result<(Timestamp, Timestamp), ApiError> {
    let bad = |e: crate::domain::DomainError| ApiError::invalid(e.to_string(), vec![e.into()]);
    let to = match to {
        Some(t) => parse::day_or_time("to", t).map_err(bad)?,
        None => Timestamp::now(),
    };
    let from = match from {
        Some(f) => parse::day_or_time("from", f).map_err(bad)?,
        None => to.plus_secs(-90 * 86_400),
    };
    if from >= to {
        return Err(ApiError::invalid("from must be before to", vec![]));
    }
    Ok((from, to))
}

async fn get_economics(
    State(state): State<AppState>,
    _actor: Actor,
    Query(w): Query<Window>,
) -> Result<Response, ApiError> {
    let (from, to) = window(w.from.as_deref(), w.to.as_deref())?;
    let data = state.store.economics_data(to, &state.api.currency).await?;
    let margin = state.api.margin;
    let figures = tokio::task::spawn_blocking(move || {
        economics::compute(&data, from.unix_micros(), to.unix_micros(), margin)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    let mut body = serde_json::to_value(&figures).map_err(|e| ApiError::Internal(e.into()))?;
    body["currency"] = json!(state.api.currency);
    Ok(axum::Json(body).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpendDto {
    channel: String,
    period_start: String,
    period_end: String,
    amount: Value,
    currency: Option<String>,
}

async fn post_spend(State(state): State<AppState>, req: SignedJson) -> Result<Response, ApiError> {
    let value: Value = req.json()?;
    let items = match value {
        Value::Object(mut m) if m.contains_key("spend") => match m.remove("spend") {
            Some(Value::Array(a)) => a,
            _ => return Err(ApiError::invalid("\"spend\" must be an array", vec![])),
        },
        v @ Value::Object(_) => vec![v],
        _ => {
            return Err(ApiError::invalid(
                "send one spend object or {\"spend\": [...]}",
                vec![],
            ));
        }
    };
    let mut rows = Vec::new();
    for (i, v) in items.into_iter().enumerate() {
        let dto: SpendDto = serde_json::from_value(v)
            .map_err(|e| ApiError::invalid(format!("item {i}"), vec![json_error(&e)]))?;
        let amount = match dto.amount {
            Value::String(s) => s,
            other => other.to_string(),
        };
        let raw = RawSpend {
            channel: dto.channel,
            period_start: dto.period_start,
            period_end: dto.period_end,
            amount,
            currency: dto.currency,
        };
        rows.push(
            parse::spend(raw, &state.api.policy, &format!("api:{}", req.actor))
                .map_err(|e| ApiError::invalid(format!("item {i} is invalid"), e))?,
        );
    }
    let n = state.store.upsert_marketing_spend(rows).await?;
    Ok(axum::Json(json!({ "stored": n })).into_response())
}
