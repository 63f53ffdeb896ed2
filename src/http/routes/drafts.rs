//! Drafts and conversations: list, read with history, propose, decide.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use crate::domain::{ConversationId, DraftId, DraftState, MessageId};
use crate::http::auth::{Actor, SignedJson};
use crate::http::dto::{ConversationDto, DraftDto};
use crate::http::error::ApiError;
use crate::http::routes::ListQuery;
use crate::http::state::AppState;
use crate::pipeline::drafts::{self, Decision};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/drafts", get(list).post(create))
        .route("/api/v1/drafts/{id}", get(get_one))
        .route("/api/v1/drafts/{id}/{action}", post(act))
        .route("/api/v1/conversations/{id}", get(conversation))
}

async fn list(
    State(state): State<AppState>,
    _actor: Actor,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let (filter, limit) = q.parse(DraftState::parse)?;
    let drafts: Vec<DraftDto> = state
        .store
        .list_drafts(filter, limit)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(axum::Json(json!({ "drafts": drafts })).into_response())
}

fn draft_id(raw: &str) -> Result<DraftId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound(format!("draft {raw:?} does not exist")))
}

async fn with_history(state: &AppState, id: DraftId) -> Result<DraftDto, ApiError> {
    let draft = state
        .store
        .draft(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("draft {id} does not exist")))?;
    let history = state.store.audit_log("draft", &id.to_string()).await?;
    let mut dto = DraftDto::from(draft);
    dto.history = Some(history.into_iter().map(Into::into).collect());
    Ok(dto)
}

async fn get_one(
    State(state): State<AppState>,
    _actor: Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(with_history(&state, draft_id(&id)?).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    conversation_id: String,
    body: String,
    in_reply_to: Option<String>,
}

async fn create(State(state): State<AppState>, req: SignedJson) -> Result<Response, ApiError> {
    let b: CreateBody = req.json()?;
    let conversation: ConversationId = b.conversation_id.parse().map_err(|_| {
        ApiError::NotFound(format!(
            "conversation {:?} does not exist",
            b.conversation_id
        ))
    })?;
    let reply_to: Option<MessageId> = b
        .in_reply_to
        .as_deref()
        .map(|m| m.parse())
        .transpose()
        .map_err(|_| ApiError::invalid("in_reply_to is not a message id", vec![]))?;
    let draft = drafts::propose(&state.store, conversation, reply_to, &b.body, &req.actor).await?;
    Ok((StatusCode::CREATED, axum::Json(DraftDto::from(draft))).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ActBody {
    body: Option<String>,
    reason: Option<String>,
}

async fn act(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    req: SignedJson,
) -> Result<Response, ApiError> {
    let id = draft_id(&id)?;
    let b: ActBody = if req.body.is_empty() {
        ActBody::default()
    } else {
        req.json()?
    };
    let max = state.api.max_attempts;
    match action.as_str() {
        "approve" => drafts::decide(&state.store, id, Decision::Approve, &req.actor, max).await?,
        "edit" => {
            let text = b
                .body
                .ok_or_else(|| ApiError::invalid("an edit needs \"body\"", vec![]))?;
            drafts::decide(&state.store, id, Decision::Edit(text), &req.actor, max).await?
        }
        "reject" => {
            drafts::decide(
                &state.store,
                id,
                Decision::Reject(b.reason),
                &req.actor,
                max,
            )
            .await?
        }
        "requeue" => drafts::requeue(&state.store, id, &req.actor, max).await?,
        other => {
            return Err(ApiError::NotFound(format!(
                "no draft action {other:?}; use approve, edit, reject or requeue"
            )));
        }
    };
    Ok(axum::Json(with_history(&state, id).await?).into_response())
}

async fn conversation(
    State(state): State<AppState>,
    _actor: Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: ConversationId = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("conversation {id:?} does not exist")))?;
    let conv = state
        .store
        .conversation(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("conversation {id} does not exist")))?;
    let messages = state.store.conversation_messages(id).await?;
    Ok(axum::Json(ConversationDto::new(conv, messages)).into_response())
}
