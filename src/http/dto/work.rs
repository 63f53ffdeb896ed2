//! Shapes of jobs, drafts, audit entries and conversations.

use serde::Serialize;
use serde_json::Value;

use crate::pipeline::queue::Job;
use crate::pipeline::views::{AuditEntry, ConversationView, DraftView, StoredMessage};

#[derive(Debug, Serialize)]
pub struct JobDto {
    pub id: String,
    pub kind: String,
    pub state: String,
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_after: String,
    pub lease_until: Option<String>,
    pub last_error: Option<String>,
    pub payload: Value,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Job> for JobDto {
    fn from(j: Job) -> Self {
        JobDto {
            id: j.id.to_string(),
            kind: j.kind.to_string(),
            state: j.state.to_string(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_after: j.run_after.to_string(),
            lease_until: j.lease_until.map(|t| t.to_string()),
            last_error: j.last_error,
            payload: j.payload,
            created_at: j.created_at.to_string(),
            updated_at: j.updated_at.to_string(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AuditDto {
    pub action: String,
    pub actor: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub detail: Option<String>,
    pub at: String,
}

impl From<AuditEntry> for AuditDto {
    fn from(a: AuditEntry) -> Self {
        AuditDto {
            action: a.action,
            actor: a.actor,
            from: a.from_state,
            to: a.to_state,
            detail: a.detail,
            at: a.at.to_string(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct DraftDto {
    pub id: String,
    pub customer_id: String,
    pub conversation_id: String,
    pub in_reply_to: Option<String>,
    pub channel: String,
    pub state: String,
    pub body: String,
    pub original_body: String,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    /// How the draft came about: analysis, citations, offer, producer,
    /// guardrail results and routing.
    pub meta: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<AuditDto>>,
}

impl From<DraftView> for DraftDto {
    fn from(d: DraftView) -> Self {
        DraftDto {
            id: d.id.to_string(),
            customer_id: d.customer_id.to_string(),
            conversation_id: d.conversation_id.to_string(),
            in_reply_to: d.in_reply_to.map(|m| m.to_string()),
            channel: d.channel.to_string(),
            state: d.state.to_string(),
            body: d.body,
            original_body: d.original_body,
            created_by: d.created_by,
            created_at: d.created_at.to_string(),
            updated_at: d.updated_at.to_string(),
            meta: d.meta,
            history: None,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct MessageOutDto {
    pub id: String,
    pub direction: String,
    pub channel: String,
    pub text: String,
    pub at: String,
}

impl From<StoredMessage> for MessageOutDto {
    fn from(m: StoredMessage) -> Self {
        MessageOutDto {
            id: m.id.to_string(),
            direction: m.direction.as_str().to_owned(),
            channel: m.channel.to_string(),
            text: m.text,
            at: m.at.to_string(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ConversationDto {
    pub id: String,
    pub customer_id: String,
    pub channel: String,
    pub thread: String,
    pub status: String,
    pub last_message_at: String,
    pub messages: Vec<MessageOutDto>,
}

impl ConversationDto {
    pub fn new(c: ConversationView, messages: Vec<StoredMessage>) -> Self {
        ConversationDto {
            id: c.id.to_string(),
            customer_id: c.customer_id.to_string(),
            channel: c.channel.to_string(),
            thread: c.thread,
            status: c.status,
            last_message_at: c.last_message_at.to_string(),
            messages: messages.into_iter().map(Into::into).collect(),
        }
    }
}
