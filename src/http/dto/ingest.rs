//! Shapes of what comes in: events, messages, batch results.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::pipeline::parse::{RawEvent, RawIdentity, RawMessage};
use crate::pipeline::records::ItemOutcome;

use super::scalar;

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
