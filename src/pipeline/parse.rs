//! Raw input (from JSON or a CSV row) to validated domain records. Every
//! field is checked and every problem reported, not just the first.

use crate::domain::{
    ChannelKind, Currency, DomainError, Email, EventKind, ExternalId, Identity, MessageText, Money,
    NewEvent, NewMessage, NewProfile, Phone, SourceEventId, TelegramUserId, TelegramUsername,
    Timestamp,
};

use super::records::FieldError;

mod nul;

/// What the operator configured about input.
#[derive(Debug, Clone)]
pub struct IngestPolicy {
    pub default_currency: Currency,
    pub default_region: String,
    pub custom_kinds: Vec<String>,
    pub future_tolerance_secs: i64,
}

impl Default for IngestPolicy {
    fn default() -> Self {
        IngestPolicy {
            default_currency: Currency::RUB,
            default_region: "RU".into(),
            custom_kinds: Vec::new(),
            future_tolerance_secs: 300,
        }
    }
}

/// Identifiers as they arrive: all optional strings.
#[derive(Debug, Clone, Default)]
pub struct RawIdentity {
    pub external_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub telegram_id: Option<String>,
    pub telegram_username: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RawEvent {
    pub event_id: Option<String>,
    pub customer: RawIdentity,
    pub kind: String,
    pub occurred_at: String,
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub channel: Option<String>,
    pub properties: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default)]
pub struct RawMessage {
    pub channel: String,
    pub external_id: Option<String>,
    pub thread: Option<String>,
    pub customer: RawIdentity,
    pub text: String,
    pub subject: Option<String>,
    pub received_at: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RawProfile {
    pub customer: RawIdentity,
    pub name: Option<String>,
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

struct Errors(Vec<FieldError>);

impl Errors {
    fn take<T>(&mut self, r: Result<T, DomainError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e.into());
                None
            }
        }
    }
}

fn identity(raw: &RawIdentity, policy: &IngestPolicy, errs: &mut Errors) -> Identity {
    Identity {
        external_id: present(&raw.external_id).and_then(|s| errs.take(ExternalId::parse(s))),
        phone: present(&raw.phone).and_then(|s| errs.take(Phone::parse(s, &policy.default_region))),
        email: present(&raw.email).and_then(|s| errs.take(Email::parse(s))),
        telegram_id: present(&raw.telegram_id).and_then(|s| errs.take(TelegramUserId::parse(s))),
        telegram_username: present(&raw.telegram_username)
            .and_then(|s| errs.take(TelegramUsername::parse(s))),
    }
}

pub fn event(
    raw: RawEvent,
    policy: &IngestPolicy,
    now: Timestamp,
) -> Result<NewEvent, Vec<FieldError>> {
    nul::event(&raw).merge(event_fields(raw, policy, now))
}

fn event_fields(
    raw: RawEvent,
    policy: &IngestPolicy,
    now: Timestamp,
) -> Result<NewEvent, Vec<FieldError>> {
    let mut errs = Errors(Vec::new());
    let source_id = present(&raw.event_id).and_then(|s| errs.take(SourceEventId::parse(s)));
    let customer = identity(&raw.customer, policy, &mut errs);
    let kind = errs.take(EventKind::parse(&raw.kind, &policy.custom_kinds));
    let occurred_at = errs.take(Timestamp::parse_rfc3339("occurred_at", &raw.occurred_at));
    let currency = match present(&raw.currency) {
        Some(c) => errs.take(Currency::parse(c)),
        None => Some(policy.default_currency),
    };
    let amount = match (present(&raw.amount), currency) {
        (Some(a), Some(c)) => errs.take(Money::parse_decimal("amount", a, c)).map(Some),
        (Some(_), None) => None,
        (None, _) => Some(None),
    };
    let channel = match present(&raw.channel) {
        Some(c) => errs.take(ChannelKind::parse(c)),
        None => Some(ChannelKind::Api),
    };
    let customer_given = !customer.is_empty()
        || [
            &raw.customer.external_id,
            &raw.customer.phone,
            &raw.customer.email,
            &raw.customer.telegram_id,
            &raw.customer.telegram_username,
        ]
        .iter()
        .any(|v| present(v).is_some());
    if !customer_given {
        errs.0.push(FieldError {
            field: "customer_id".into(),
            reason: "is missing: an event needs a customer id, phone, email or Telegram id".into(),
        });
    }
    let (Some(kind), Some(occurred_at), Some(amount), Some(channel)) =
        (kind, occurred_at, amount, channel)
    else {
        return Err(errs.0);
    };
    if !errs.0.is_empty() {
        return Err(errs.0);
    }
    NewEvent {
        source_id,
        kind,
        occurred_at,
        customer,
        amount,
        channel,
        properties: raw.properties,
    }
    .validate(now, policy.future_tolerance_secs)
    .map_err(|e| vec![e.into()])
}

pub fn message(
    raw: RawMessage,
    policy: &IngestPolicy,
    now: Timestamp,
) -> Result<NewMessage, Vec<FieldError>> {
    nul::message(&raw).merge(message_fields(raw, policy, now))
}

fn message_fields(
    raw: RawMessage,
    policy: &IngestPolicy,
    now: Timestamp,
) -> Result<NewMessage, Vec<FieldError>> {
    let mut errs = Errors(Vec::new());
    let channel = errs.take(ChannelKind::parse(&raw.channel));
    let customer = identity(&raw.customer, policy, &mut errs);
    let text = errs.take(MessageText::parse(&raw.text));
    let received_at = match present(&raw.received_at) {
        Some(s) => errs.take(Timestamp::parse_rfc3339("received_at", s)),
        None => Some(now),
    };
    let subject = present(&raw.subject).map(|s| s.chars().take(500).collect::<String>());
    let (Some(channel), Some(text), Some(received_at)) = (channel, text, received_at) else {
        return Err(errs.0);
    };
    if !errs.0.is_empty() {
        return Err(errs.0);
    }
    // Without a thread id, one conversation per customer and channel.
    let thread = present(&raw.thread).unwrap_or("default").to_owned();
    NewMessage {
        channel,
        external_id: present(&raw.external_id).map(str::to_owned),
        thread,
        customer,
        text,
        subject,
        received_at,
    }
    .validate()
    .map_err(|e| vec![e.into()])
}

/// A day (`2026-01-31`, midnight UTC) or an RFC 3339 timestamp.
pub fn day_or_time(field: &'static str, raw: &str) -> Result<Timestamp, DomainError> {
    let s = raw.trim();
    if s.len() == 10 {
        return Timestamp::parse_rfc3339(field, &format!("{s}T00:00:00Z"));
    }
    Timestamp::parse_rfc3339(field, s)
}

/// Marketing spend on a channel over [period_start, period_end).
#[derive(Debug, Clone, Default)]
pub struct RawSpend {
    pub channel: String,
    pub period_start: String,
    pub period_end: String,
    pub amount: String,
    pub currency: Option<String>,
}

pub fn spend(
    raw: RawSpend,
    policy: &IngestPolicy,
    source: &str,
) -> Result<crate::pipeline::views::SpendRow, Vec<FieldError>> {
    nul::spend(&raw).merge(spend_fields(raw, policy, source))
}

fn spend_fields(
    raw: RawSpend,
    policy: &IngestPolicy,
    source: &str,
) -> Result<crate::pipeline::views::SpendRow, Vec<FieldError>> {
    let mut errs = Errors(Vec::new());
    let channel = raw.channel.trim().to_ascii_lowercase();
    if channel.is_empty() || channel.len() > 64 {
        errs.0.push(FieldError {
            field: "channel".into(),
            reason: "must be 1 to 64 characters".into(),
        });
    }
    let start = errs.take(day_or_time("period_start", &raw.period_start));
    let end = errs.take(day_or_time("period_end", &raw.period_end));
    let currency = match present(&raw.currency) {
        Some(c) => errs.take(Currency::parse(c)),
        None => Some(policy.default_currency),
    };
    let amount = currency.and_then(|c| errs.take(Money::parse_decimal("amount", &raw.amount, c)));
    if let (Some(a), Some(b)) = (start, end)
        && b <= a
    {
        errs.0.push(FieldError {
            field: "period_end".into(),
            reason: "must be after period_start".into(),
        });
    }
    if let Some(m) = amount
        && m.minor < 0
    {
        errs.0.push(FieldError {
            field: "amount".into(),
            reason: "must not be negative".into(),
        });
    }
    match (start, end, amount) {
        (Some(start), Some(end), Some(amount)) if errs.0.is_empty() => {
            Ok(crate::pipeline::views::SpendRow {
                channel,
                start,
                end,
                amount,
                source: source.to_owned(),
            })
        }
        _ => Err(errs.0),
    }
}

pub fn profile(raw: RawProfile, policy: &IngestPolicy) -> Result<NewProfile, Vec<FieldError>> {
    nul::profile(&raw).merge(profile_fields(raw, policy))
}

fn profile_fields(raw: RawProfile, policy: &IngestPolicy) -> Result<NewProfile, Vec<FieldError>> {
    let mut errs = Errors(Vec::new());
    let customer = identity(&raw.customer, policy, &mut errs);
    if !errs.0.is_empty() {
        return Err(errs.0);
    }
    NewProfile {
        identity: customer,
        name: present(&raw.name).map(str::to_owned),
    }
    .validate()
    .map_err(|e| vec![e.into()])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(kind: &str, at: &str, amount: Option<&str>) -> RawEvent {
        RawEvent {
            event_id: Some("E1".into()),
            customer: RawIdentity {
                external_id: Some("C1".into()),
                ..Default::default()
            },
            kind: kind.into(),
            occurred_at: at.into(),
            amount: amount.map(Into::into),
            channel: Some("web".into()),
            ..Default::default()
        }
    }

    #[test]
    fn reports_every_bad_field() {
        let mut r = raw("purchase", "2026-02-30T10:00:00+03:00", Some("1 690"));
        r.customer.phone = Some("8 (916) 12З-45-67".into());
        let errs = event(r, &IngestPolicy::default(), Timestamp::now()).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"kind"), "{errs:?}");
        assert!(fields.contains(&"occurred_at"), "{errs:?}");
        assert!(fields.contains(&"amount"), "{errs:?}");
        assert!(fields.contains(&"phone"), "{errs:?}");
    }

    #[test]
    fn good_event_parses_with_defaults() {
        let e = event(
            raw("order", "2026-01-05T10:00:00+03:00", Some("890")),
            &IngestPolicy::default(),
            Timestamp::now(),
        )
        .unwrap();
        assert_eq!(e.amount.unwrap().minor, 89_000);
        assert_eq!(e.channel, ChannelKind::Web);
    }

    #[test]
    fn message_needs_a_conversational_channel_and_text() {
        let m = RawMessage {
            channel: "web".into(),
            customer: RawIdentity {
                telegram_id: Some("42".into()),
                ..Default::default()
            },
            text: "  ".into(),
            ..Default::default()
        };
        let errs = message(m, &IngestPolicy::default(), Timestamp::now()).unwrap_err();
        assert!(errs.iter().any(|e| e.field == "text"), "{errs:?}");
    }
}
