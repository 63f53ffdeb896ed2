//! Identifiers: Holdfast's own (UUID v7, time-ordered) and the ones that
//! arrive from outside (a shop's customer id, a source's event id).

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use super::DomainError;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            pub fn from_uuid(u: Uuid) -> Self {
                Self(u)
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|_| DomainError::new("id", format!("{s:?} is not a UUID")))
            }
        }
    };
}

uuid_id!(
    /// Holdfast's id of a customer.
    CustomerId
);
uuid_id!(
    /// A stored behavioural event.
    EventId
);
uuid_id!(
    /// A stored message, inbound or outbound.
    MessageId
);
uuid_id!(
    /// A conversation: one customer on one channel thread.
    ConversationId
);
uuid_id!(
    /// A drafted reply or offer.
    DraftId
);
uuid_id!(
    /// A unit of queued work.
    JobId
);
uuid_id!(
    /// One intended delivery in the outbox.
    OutboxId
);

fn parse_token(field: &'static str, raw: &str, max: usize) -> Result<String, DomainError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(DomainError::new(field, "is empty"));
    }
    if s.len() > max {
        return Err(DomainError::new(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/' | '@')))
    {
        return Err(DomainError::new(
            field,
            format!("contains {c:?}; allowed are Latin letters, digits and - _ . : / @"),
        ));
    }
    Ok(s.to_owned())
}

/// The shop's own id for a customer (`C001`, a CRM key, ...). Case matters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExternalId(String);

impl ExternalId {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        parse_token("customer_id", raw, 128).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id a source gives its own event (`E00017`); makes re-sends safe.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceEventId(String);

impl SourceEventId {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        parse_token("event_id", raw, 128).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SourceEventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_ids_are_tokens() {
        assert_eq!(ExternalId::parse(" C001 ").unwrap().as_str(), "C001");
        assert!(ExternalId::parse("").is_err());
        assert!(ExternalId::parse("C 001").is_err());
        assert!(SourceEventId::parse(&"x".repeat(200)).is_err());
    }

    #[test]
    fn uuid_ids_round_trip() {
        let id = CustomerId::new();
        assert_eq!(id.to_string().parse::<CustomerId>().unwrap(), id);
        assert!("nope".parse::<JobId>().is_err());
    }
}
