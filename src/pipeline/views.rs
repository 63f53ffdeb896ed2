//! Read models: what storage returns to use-cases and, through DTOs in
//! `http`, to API clients.

use crate::domain::{
    ChannelKind, ConversationId, CustomerId, Direction, DraftId, DraftState, EventId, EventKind,
    IdKind, Identity, MessageId, Money, OutboxId, Timestamp,
};

#[derive(Debug, Clone, PartialEq)]
pub struct CustomerView {
    pub id: CustomerId,
    pub name: Option<String>,
    pub identity: Identity,
    pub created_at: Timestamp,
    pub merged_into: Option<CustomerId>,
    pub stats: CustomerStats,
    pub open_conflicts: u64,
    /// Further identifiers gained by merges.
    pub aliases: Vec<(IdKind, String)>,
}

/// Value figures kept current by the `customer_value` job.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerStats {
    pub orders: u64,
    pub revenue_minor: i64,
    pub refunds_minor: i64,
    pub first_order_at: Option<Timestamp>,
    pub last_order_at: Option<Timestamp>,
    pub last_event_at: Option<Timestamp>,
    /// active, paused, cancelled, or none
    pub subscription: String,
    pub events: u64,
    pub messages: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConflictView {
    pub id: uuid::Uuid,
    pub customer_id: Option<CustomerId>,
    pub other_customer_id: Option<CustomerId>,
    pub kind: IdKind,
    pub value: String,
    pub existing_value: Option<String>,
    pub source: String,
    pub created_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub id: EventId,
    pub source_id: Option<String>,
    pub customer_id: CustomerId,
    pub kind: EventKind,
    pub occurred_at: Timestamp,
    pub amount: Option<Money>,
    pub channel: ChannelKind,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    pub id: MessageId,
    pub customer_id: CustomerId,
    pub conversation_id: ConversationId,
    pub channel: ChannelKind,
    pub direction: Direction,
    pub text: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DraftView {
    pub id: DraftId,
    pub customer_id: CustomerId,
    pub conversation_id: ConversationId,
    pub in_reply_to: Option<MessageId>,
    pub channel: ChannelKind,
    pub state: DraftState,
    pub body: String,
    /// The text as first proposed, kept when a manager edits.
    pub original_body: String,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub meta: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: uuid::Uuid,
    pub entity: String,
    pub entity_id: String,
    pub action: String,
    pub actor: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub detail: Option<String>,
    pub at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxState {
    Pending,
    Sending,
    Sent,
    Failed,
    Dead,
}

impl OutboxState {
    pub const ALL: [OutboxState; 5] = [
        OutboxState::Pending,
        OutboxState::Sending,
        OutboxState::Sent,
        OutboxState::Failed,
        OutboxState::Dead,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sending => "sending",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
            OutboxState::Dead => "dead",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One intended delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    pub id: OutboxId,
    pub draft_id: Option<DraftId>,
    pub customer_id: CustomerId,
    pub conversation_id: ConversationId,
    pub channel: ChannelKind,
    /// Address on the channel (Telegram chat id, email address, widget session).
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
    /// Unique per intended delivery; channels that can, deduplicate on it.
    pub idempotency_key: String,
    pub state: OutboxState,
    pub attempts: u32,
    pub channel_message_id: Option<String>,
    pub last_error: Option<String>,
}

/// A claimed delivery and whether an earlier attempt may have reached the
/// channel (the row was already `sending` when claimed: a process died
/// between send and mark).
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryClaim {
    pub entry: OutboxEntry,
    pub maybe_sent_before: bool,
}

/// Why a delivery ended, for `complete_delivery`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub channel_message_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewDraft {
    pub id: DraftId,
    pub customer_id: CustomerId,
    pub conversation_id: ConversationId,
    pub in_reply_to: Option<MessageId>,
    pub body: String,
    /// Provenance: analysis, citations, offer, producer, guardrails, routing.
    pub meta: Option<serde_json::Value>,
    /// The analysis of `in_reply_to`, stored on that message in the same
    /// transaction.
    pub analysis: Option<serde_json::Value>,
    /// The offer decision, recorded for uplift measurement.
    pub offer: Option<OfferAssignment>,
}

/// Who got which offer variant (or the holdout) and when.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferAssignment {
    pub experiment: String,
    pub variant: String,
    pub offer_id: Option<String>,
    pub holdout: bool,
    pub priced: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConversationView {
    pub id: ConversationId,
    pub customer_id: CustomerId,
    pub channel: ChannelKind,
    pub thread: String,
    /// open, awaiting_manager, closed
    pub status: String,
    pub last_message_at: Timestamp,
}

/// A customer's stored value summary and, when a model exists, scores.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerValueRecord {
    pub customer_id: CustomerId,
    pub summary: crate::pipeline::value::ValueSummary,
    pub currency: String,
    pub model_version: Option<i64>,
    pub scores: Option<crate::pipeline::value::Scores>,
    pub scored_at: Timestamp,
}

/// A model version to store.
#[derive(Debug, Clone)]
pub struct NewClvModel {
    pub params: crate::pipeline::value::ModelParams,
    /// JSON: log-likelihood, iterations, convergence, standard errors.
    pub diagnostics: serde_json::Value,
    pub customers: u64,
    pub period: &'static str,
}

/// Marketing spend on one channel over [start, end).
#[derive(Debug, Clone, PartialEq)]
pub struct SpendRow {
    pub channel: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub amount: Money,
    pub source: String,
}
