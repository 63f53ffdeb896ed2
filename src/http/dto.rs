//! JSON shapes of the API. Domain and view types convert into these; nothing
//! else in the crate derives Serialize for the wire.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::pipeline::parse::{RawEvent, RawIdentity, RawMessage};
use crate::pipeline::queue::Job;
use crate::pipeline::records::{FieldError, ItemOutcome};
use crate::pipeline::views::{
    AuditEntry, ConflictView, ConversationView, CustomerView, DraftView, StoredMessage,
};

/// A JSON scalar that may arrive as a string or a number (amounts, ids).
fn scalar(v: Option<Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerRefDto {
    /// The shop's own customer id.
    #[serde(alias = "external_id")]
    pub id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub telegram_id: Option<Value>,
    pub telegram_username: Option<String>,
}

impl CustomerRefDto {
    fn into_raw(self, shorthand_id: Option<String>) -> RawIdentity {
        RawIdentity {
            external_id: self.id.or(shorthand_id),
            phone: self.phone,
            email: self.email,
            telegram_id: scalar(self.telegram_id),
            telegram_username: self.telegram_username,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventDto {
    pub event_id: Option<String>,
    pub kind: String,
    pub occurred_at: String,
    #[serde(default)]
    pub customer: CustomerRefDto,
    /// Shorthand for `customer.id`.
    pub customer_id: Option<String>,
    /// A decimal amount as a string ("890.50") or number.
    pub amount: Option<Value>,
    pub currency: Option<String>,
    pub channel: Option<String>,
    #[serde(default)]
    pub properties: serde_json::Map<String, Value>,
}

impl From<EventDto> for RawEvent {
    fn from(d: EventDto) -> Self {
        RawEvent {
            event_id: d.event_id,
            customer: d.customer.into_raw(d.customer_id),
            kind: d.kind,
            occurred_at: d.occurred_at,
            amount: scalar(d.amount),
            currency: d.currency,
            channel: d.channel,
            properties: d.properties,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageDto {
    pub channel: String,
    /// The channel's id for the message; repeats are recognised.
    pub external_id: Option<Value>,
    /// The channel's thread or chat.
    pub thread: Option<Value>,
    #[serde(default)]
    pub customer: CustomerRefDto,
    pub customer_id: Option<String>,
    pub text: String,
    pub subject: Option<String>,
    pub received_at: Option<String>,
}

impl From<MessageDto> for RawMessage {
    fn from(d: MessageDto) -> Self {
        RawMessage {
            channel: d.channel,
            external_id: scalar(d.external_id),
            thread: scalar(d.thread),
            customer: d.customer.into_raw(d.customer_id),
            text: d.text,
            subject: d.subject,
            received_at: d.received_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ItemResultDto {
    pub index: usize,
    #[serde(flatten)]
    pub outcome: ItemOutcome,
}

#[derive(Debug, Serialize)]
pub struct BatchResponse {
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: usize,
    pub results: Vec<ItemResultDto>,
}

impl BatchResponse {
    pub fn from_outcomes(outcomes: Vec<ItemOutcome>) -> Self {
        let count = |f: fn(&ItemOutcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
        BatchResponse {
            accepted: count(|o| matches!(o, ItemOutcome::Stored { .. })),
            duplicates: count(|o| matches!(o, ItemOutcome::Duplicate { .. })),
            rejected: count(|o| matches!(o, ItemOutcome::Rejected { .. })),
            results: outcomes
                .into_iter()
                .enumerate()
                .map(|(index, outcome)| ItemResultDto { index, outcome })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct IdentifiersDto {
    pub external_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub telegram_id: Option<i64>,
    pub telegram_username: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct StatsDto {
    pub orders: u64,
    pub revenue: String,
    pub revenue_minor: i64,
    pub refunds_minor: i64,
    pub first_order_at: Option<String>,
    pub last_order_at: Option<String>,
    pub last_activity_at: Option<String>,
    pub subscription: String,
    pub events: u64,
    pub messages: u64,
}

#[derive(Debug, Serialize)]
pub struct CustomerDto {
    pub id: String,
    pub name: Option<String>,
    pub identifiers: IdentifiersDto,
    pub created_at: String,
    pub merged_into: Option<String>,
    pub stats: StatsDto,
    pub open_conflicts: u64,
    /// Identifiers the customer gained from merged records.
    pub aliases: Vec<AliasDto>,
    /// Purchase summary and model scores; null before the first order.
    pub value: Option<ValueDto>,
}

/// What the customer is worth and how they behave, for managers and for
/// the lifecycle analysis.
#[derive(Debug, Serialize)]
pub struct ValueDto {
    pub currency: String,
    pub purchases: u32,
    /// BTYD summary in weeks (lifetimes' conventions).
    pub frequency: f64,
    pub recency_weeks: f64,
    pub t_weeks: f64,
    pub first_purchase_at: String,
    pub last_purchase_at: String,
    /// Median days between purchases.
    pub rhythm_days: Option<f64>,
    pub days_since_last_purchase: f64,
    /// days since last purchase / rhythm (above ~1.5: later than usual).
    pub recency_ratio: Option<f64>,
    /// Recent order amounts over earlier ones, minus one.
    pub spend_trend: Option<f64>,
    pub model_version: Option<i64>,
    pub p_alive: Option<f64>,
    pub expected_purchases: Option<f64>,
    pub horizon_days: f64,
    pub expected_spend: Option<f64>,
    /// Discounted margin over the CLV horizon, in currency units.
    pub clv: Option<f64>,
    pub scored_at: String,
    /// Why scores are missing, when they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ValueDto {
    pub fn new(
        v: crate::pipeline::views::CustomerValueRecord,
        horizon_days: f64,
        now: crate::domain::Timestamp,
    ) -> Self {
        let (days, ratio) = crate::pipeline::value::lateness(&v.summary, now);
        let s = v.summary;
        let major = |minor: f64| minor / 100.0;
        ValueDto {
            currency: v.currency,
            purchases: s.purchases,
            frequency: s.frequency,
            recency_weeks: s.recency,
            t_weeks: s.t,
            first_purchase_at: s.first_purchase_at.to_string(),
            last_purchase_at: s.last_purchase_at.to_string(),
            rhythm_days: s.rhythm_days,
            days_since_last_purchase: days,
            recency_ratio: ratio,
            spend_trend: s.spend_trend,
            model_version: v.model_version,
            p_alive: v.scores.map(|x| x.p_alive),
            expected_purchases: v.scores.map(|x| x.expected_purchases),
            horizon_days,
            expected_spend: v.scores.and_then(|x| x.expected_spend).map(major),
            clv: v.scores.and_then(|x| x.clv).map(major),
            scored_at: v.scored_at.to_string(),
            note: v.scores.is_none().then(|| "no customer-value model yet: it is fitted once enough customers have bought twice (clv.min_repeat_customers)".to_owned()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AliasDto {
    pub kind: String,
    pub value: String,
}

impl From<CustomerView> for CustomerDto {
    fn from(c: CustomerView) -> Self {
        let i = c.identity;
        let s = c.stats;
        CustomerDto {
            id: c.id.to_string(),
            name: c.name,
            identifiers: IdentifiersDto {
                external_id: i.external_id.map(|x| x.to_string()),
                phone: i.phone.map(|x| x.to_string()),
                email: i.email.map(|x| x.to_string()),
                telegram_id: i.telegram_id.map(|x| x.get()),
                telegram_username: i.telegram_username.map(|x| x.as_str().to_owned()),
            },
            created_at: c.created_at.to_string(),
            merged_into: c.merged_into.map(|m| m.to_string()),
            stats: StatsDto {
                orders: s.orders,
                revenue: format!(
                    "{}.{:02}",
                    s.revenue_minor / 100,
                    (s.revenue_minor % 100).abs()
                ),
                revenue_minor: s.revenue_minor,
                refunds_minor: s.refunds_minor,
                first_order_at: s.first_order_at.map(|t| t.to_string()),
                last_order_at: s.last_order_at.map(|t| t.to_string()),
                last_activity_at: s.last_event_at.map(|t| t.to_string()),
                subscription: s.subscription,
                events: s.events,
                messages: s.messages,
            },
            open_conflicts: c.open_conflicts,
            aliases: c
                .aliases
                .into_iter()
                .map(|(k, v)| AliasDto {
                    kind: k.to_string(),
                    value: v,
                })
                .collect(),
            value: None,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ConflictDto {
    pub id: String,
    pub customer_id: Option<String>,
    pub other_customer_id: Option<String>,
    pub kind: String,
    pub value: String,
    pub existing_value: Option<String>,
    pub source: String,
    pub created_at: String,
    pub resolved_at: Option<String>,
}

impl From<ConflictView> for ConflictDto {
    fn from(c: ConflictView) -> Self {
        ConflictDto {
            id: c.id.to_string(),
            customer_id: c.customer_id.map(|x| x.to_string()),
            other_customer_id: c.other_customer_id.map(|x| x.to_string()),
            kind: c.kind.to_string(),
            value: c.value,
            existing_value: c.existing_value,
            source: c.source,
            created_at: c.created_at.to_string(),
            resolved_at: c.resolved_at.map(|t| t.to_string()),
        }
    }
}

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

/// Turns a serde error on one item into the field-level form.
pub fn json_error(e: &serde_json::Error) -> FieldError {
    let msg = e.to_string();
    let field = msg
        .split('`')
        .nth(1)
        .filter(|_| msg.starts_with("unknown field") || msg.starts_with("missing field"))
        .unwrap_or("body")
        .to_owned();
    FieldError { field, reason: msg }
}
