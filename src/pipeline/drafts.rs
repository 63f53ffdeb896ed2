//! Draft use-cases: propose, decide (approve / edit / reject), requeue.

use std::sync::Arc;

use crate::domain::{ConversationId, DraftAction, DraftId, MessageId, OutboxId};

use super::ports::{Dispatch, DraftChange, Store, StoreError, StoreResult};
use super::queue::{JobKind, NewJob};
use super::views::{DraftView, NewDraft};

#[derive(Debug, Clone)]
pub enum Decision {
    Approve,
    Edit(String),
    Reject(Option<String>),
}

/// Creates a `proposed` draft in a conversation.
pub async fn propose(
    store: &Arc<dyn Store>,
    conversation: ConversationId,
    in_reply_to: Option<MessageId>,
    body: &str,
    actor: &str,
) -> StoreResult<DraftView> {
    let body = body.trim();
    if body.is_empty() {
        return Err(StoreError::Conflict("a draft needs text".into()));
    }
    let conv = store
        .conversation(conversation)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("conversation {conversation}")))?;
    store
        .create_draft(
            NewDraft {
                id: DraftId::new(),
                customer_id: conv.customer_id,
                conversation_id: conversation,
                in_reply_to,
                body: body.to_owned(),
                meta: Some(serde_json::json!({ "producer": "manager" })),
                analysis: None,
                offer: None,
            },
            actor,
        )
        .await
}

fn dispatch(max_attempts: u32) -> Dispatch {
    Dispatch {
        outbox_id: OutboxId::new(),
        // The store fills in the payload with the outbox row it settles on.
        job: NewJob::now(
            JobKind::DeliverOutbox,
            serde_json::Value::Null,
            max_attempts,
        ),
    }
}

/// A manager's decision. Approving or editing also queues the delivery in
/// the same transaction, so an approved draft is never left unsent.
pub async fn decide(
    store: &Arc<dyn Store>,
    id: DraftId,
    decision: Decision,
    actor: &str,
    max_attempts: u32,
) -> StoreResult<DraftView> {
    let (action, body, note, dispatch) = match decision {
        Decision::Approve => (
            DraftAction::Approve,
            None,
            None,
            Some(dispatch(max_attempts)),
        ),
        Decision::Edit(text) => {
            if text.trim().is_empty() {
                return Err(StoreError::Conflict("an edit needs the new text".into()));
            }
            (
                DraftAction::Edit,
                Some(text.trim().to_owned()),
                None,
                Some(dispatch(max_attempts)),
            )
        }
        Decision::Reject(reason) => (DraftAction::Reject, None, reason, None),
    };
    store
        .change_draft(DraftChange {
            id,
            action,
            actor: actor.to_owned(),
            body,
            note,
            dispatch,
        })
        .await
}

/// Sends a failed draft again (an operator's act, audited).
pub async fn requeue(
    store: &Arc<dyn Store>,
    id: DraftId,
    actor: &str,
    max_attempts: u32,
) -> StoreResult<DraftView> {
    store
        .change_draft(DraftChange {
            id,
            action: DraftAction::Requeue,
            actor: actor.to_owned(),
            body: None,
            note: None,
            dispatch: Some(dispatch(max_attempts)),
        })
        .await
}
