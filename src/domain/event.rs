//! Behavioural events: what a customer did, when, through which channel.

use std::fmt;

use super::{ChannelKind, DomainError, Identity, Money, SourceEventId, Timestamp};

/// Whether a kind of event carries an amount of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountRule {
    Required,
    Optional,
    Forbidden,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    Signup,
    Order,
    SubscriptionStarted,
    SubscriptionPaused,
    SubscriptionResumed,
    SubscriptionCancelled,
    Delivery,
    EmailOpen,
    EmailClick,
    Login,
    PageView,
    SupportMessage,
    Refund,
    Referral,
    OfferAccepted,
    OfferDeclined,
    /// A kind the operator declared in `ingest.custom_event_kinds`.
    Custom(String),
}

const BUILT_IN: [(&str, EventKind); 16] = [
    ("signup", EventKind::Signup),
    ("order", EventKind::Order),
    ("subscription_started", EventKind::SubscriptionStarted),
    ("subscription_paused", EventKind::SubscriptionPaused),
    ("subscription_resumed", EventKind::SubscriptionResumed),
    ("subscription_cancelled", EventKind::SubscriptionCancelled),
    ("delivery", EventKind::Delivery),
    ("email_open", EventKind::EmailOpen),
    ("email_click", EventKind::EmailClick),
    ("login", EventKind::Login),
    ("page_view", EventKind::PageView),
    ("support_message", EventKind::SupportMessage),
    ("refund", EventKind::Refund),
    ("referral", EventKind::Referral),
    ("offer_accepted", EventKind::OfferAccepted),
    ("offer_declined", EventKind::OfferDeclined),
];

impl EventKind {
    /// Parses a built-in kind, or one of `custom` (the configured extra
    /// kinds). Anything else is an error that lists what is accepted.
    pub fn parse(raw: &str, custom: &[String]) -> Result<Self, DomainError> {
        let s = raw.trim().to_ascii_lowercase();
        if let Some((_, k)) = BUILT_IN.iter().find(|(name, _)| *name == s) {
            return Ok(k.clone());
        }
        if custom.iter().any(|c| c.eq_ignore_ascii_case(&s)) {
            return Ok(EventKind::Custom(s));
        }
        let hint = if custom.is_empty() {
            " (or declare it in ingest.custom_event_kinds)"
        } else {
            ""
        };
        Err(DomainError::new(
            "kind",
            format!(
                "unknown kind {:?}; known: {}{hint}",
                raw.trim(),
                BUILT_IN.map(|(n, _)| n).join(", ")
            ),
        ))
    }

    pub fn as_str(&self) -> &str {
        match self {
            EventKind::Custom(s) => s,
            k => BUILT_IN
                .iter()
                .find(|(_, b)| b == k)
                .map(|(n, _)| *n)
                .unwrap_or("custom"),
        }
    }

    pub fn amount_rule(&self) -> AmountRule {
        match self {
            EventKind::Order | EventKind::Refund => AmountRule::Required,
            EventKind::SubscriptionStarted
            | EventKind::SubscriptionResumed
            | EventKind::OfferAccepted
            | EventKind::Referral
            | EventKind::Custom(_) => AmountRule::Optional,
            _ => AmountRule::Forbidden,
        }
    }

    /// Kinds that change what a customer is worth (purchases, subscription state).
    pub fn affects_value(&self) -> bool {
        matches!(
            self,
            EventKind::Order
                | EventKind::Refund
                | EventKind::SubscriptionStarted
                | EventKind::SubscriptionPaused
                | EventKind::SubscriptionResumed
                | EventKind::SubscriptionCancelled
        )
    }

    /// Kinds that say a customer may be leaving.
    pub fn signals_churn(&self) -> bool {
        matches!(
            self,
            EventKind::SubscriptionCancelled | EventKind::SubscriptionPaused | EventKind::Refund
        )
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated event, ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub source_id: Option<SourceEventId>,
    pub kind: EventKind,
    pub occurred_at: Timestamp,
    pub customer: Identity,
    pub amount: Option<Money>,
    pub channel: ChannelKind,
    /// Free-form attributes from the source (plan, sku, page...), a JSON object.
    pub properties: serde_json::Map<String, serde_json::Value>,
}

impl NewEvent {
    /// Checks the rules that tie fields together; each field was parsed already.
    pub fn validate(self, now: Timestamp, future_tolerance_secs: i64) -> Result<Self, DomainError> {
        if self.customer.is_empty() {
            return Err(DomainError::new(
                "customer_id",
                "is missing: an event needs a customer id, phone, email or Telegram id",
            ));
        }
        if self.occurred_at > now.plus_secs(future_tolerance_secs) {
            return Err(DomainError::new(
                "occurred_at",
                format!("{} is in the future", self.occurred_at),
            ));
        }
        match (self.kind.amount_rule(), &self.amount) {
            (AmountRule::Required, None) => {
                return Err(DomainError::new(
                    "amount",
                    format!("is required for {} events", self.kind),
                ));
            }
            (AmountRule::Forbidden, Some(_)) => {
                return Err(DomainError::new(
                    "amount",
                    format!(
                        "{} events carry no money; leave the amount empty",
                        self.kind
                    ),
                ));
            }
            (_, Some(m)) if !m.is_positive() => {
                let extra = if self.kind == EventKind::Refund {
                    " (refunds are stored as positive amounts)"
                } else {
                    ""
                };
                return Err(DomainError::new(
                    "amount",
                    format!("must be positive, got {m}{extra}"),
                ));
            }
            _ => {}
        }
        Ok(self)
    }

    /// A digest of everything that makes this event what it is, so that a
    /// re-sent copy can be told apart from a different event reusing an id.
    pub fn content_digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let amount = self
            .amount
            .map(|m| format!("{}:{}", m.minor, m.currency))
            .unwrap_or_default();
        let props = serde_json::Value::Object(self.properties.clone()).to_string();
        for part in [
            self.kind.as_str(),
            &self.occurred_at.unix_micros().to_string(),
            &self.customer.digest_key(),
            &amount,
            self.channel.as_str(),
            &props,
        ] {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        hex::encode(&h.finalize()[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Currency, ExternalId};

    fn event(kind: EventKind, amount: Option<i64>) -> NewEvent {
        NewEvent {
            source_id: None,
            kind,
            occurred_at: Timestamp::parse_rfc3339("t", "2026-01-01T10:00:00+03:00").unwrap(),
            customer: Identity {
                external_id: Some(ExternalId::parse("C1").unwrap()),
                ..Identity::default()
            },
            amount: amount.map(|minor| Money {
                minor,
                currency: Currency::RUB,
            }),
            channel: ChannelKind::Web,
            properties: Default::default(),
        }
    }

    #[test]
    fn amount_rules() {
        let now = Timestamp::now();
        assert!(event(EventKind::Order, Some(100)).validate(now, 0).is_ok());
        assert!(event(EventKind::Order, None).validate(now, 0).is_err());
        assert!(
            event(EventKind::Order, Some(-100))
                .validate(now, 0)
                .is_err()
        );
        let e = event(EventKind::Refund, Some(-1))
            .validate(now, 0)
            .unwrap_err();
        assert!(e.reason.contains("refunds are stored as positive"));
        assert!(
            event(EventKind::EmailOpen, Some(100))
                .validate(now, 0)
                .is_err()
        );
        assert!(event(EventKind::EmailOpen, None).validate(now, 0).is_ok());
    }

    #[test]
    fn future_and_missing_customer_rejected() {
        let now = Timestamp::parse_rfc3339("t", "2025-01-01T00:00:00Z").unwrap();
        assert_eq!(
            event(EventKind::Login, None)
                .validate(now, 300)
                .unwrap_err()
                .field,
            "occurred_at"
        );
        let mut e = event(EventKind::Login, None);
        e.customer = Identity::default();
        assert_eq!(
            e.validate(Timestamp::now(), 0).unwrap_err().field,
            "customer_id"
        );
    }

    #[test]
    fn kinds_parse_and_custom_needs_config() {
        assert_eq!(EventKind::parse("ORDER", &[]).unwrap(), EventKind::Order);
        assert!(EventKind::parse("purchase", &[]).is_err());
        let custom = vec!["purchase".to_owned()];
        assert_eq!(
            EventKind::parse("purchase", &custom).unwrap().as_str(),
            "purchase"
        );
        for (n, k) in BUILT_IN {
            assert_eq!(k.as_str(), n);
        }
    }

    #[test]
    fn digest_tells_copies_from_changes() {
        let a = event(EventKind::Order, Some(100));
        let b = event(EventKind::Order, Some(100));
        let c = event(EventKind::Order, Some(200));
        assert_eq!(a.content_digest(), b.content_digest());
        assert_ne!(a.content_digest(), c.content_digest());
    }
}
