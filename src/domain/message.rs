//! Customer messages, inbound and outbound.

use super::{ChannelKind, DomainError, Identity, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "in",
            Direction::Outbound => "out",
        }
    }
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "in" => Ok(Direction::Inbound),
            "out" => Ok(Direction::Outbound),
            _ => Err(DomainError::new("direction", format!("unknown {s:?}"))),
        }
    }
}

/// Text a customer wrote: non-empty after trimming, bounded in size, and
/// free of control characters other than newlines and tabs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText(String);

impl MessageText {
    pub const MAX_CHARS: usize = 16_000;

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(DomainError::new("text", "is empty"));
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(DomainError::new(
                "text",
                format!("is longer than {} characters", Self::MAX_CHARS),
            ));
        }
        let clean: String = s
            .chars()
            .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
            .collect();
        Ok(Self(clean.replace("\r\n", "\n")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated inbound message from a channel adapter.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub channel: ChannelKind,
    /// The channel's own id for this message (Telegram `chat:message_id`,
    /// an email Message-ID); makes redelivery by the channel harmless.
    pub external_id: Option<String>,
    /// The channel's thread (Telegram chat id, email thread root); messages
    /// of one customer on one thread form a conversation.
    pub thread: String,
    pub customer: Identity,
    pub text: MessageText,
    pub subject: Option<String>,
    pub received_at: Timestamp,
}

impl NewMessage {
    pub fn validate(self) -> Result<Self, DomainError> {
        if self.customer.is_empty() {
            return Err(DomainError::new(
                "customer",
                "is missing: a message needs a customer id, phone, email or Telegram id",
            ));
        }
        if !self.channel.is_conversational() {
            return Err(DomainError::new(
                "channel",
                format!(
                    "{} carries no conversations; messages come from telegram, email or widget",
                    self.channel
                ),
            ));
        }
        if let Some(x) = &self.external_id
            && (x.is_empty() || x.len() > 256)
        {
            return Err(DomainError::new(
                "external_id",
                "must be 1 to 256 characters",
            ));
        }
        if self.thread.len() > 256 {
            return Err(DomainError::new("thread", "must be at most 256 characters"));
        }
        Ok(self)
    }

    pub fn content_digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [
            self.channel.as_str(),
            &self.thread,
            &self.customer.digest_key(),
            self.text.as_str(),
            self.subject.as_deref().unwrap_or(""),
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

    #[test]
    fn text_is_trimmed_and_cleaned() {
        assert_eq!(
            MessageText::parse("  hi\r\nthere\u{7} ").unwrap().as_str(),
            "hi\nthere"
        );
        assert!(MessageText::parse("   ").is_err());
        assert!(MessageText::parse(&"a".repeat(MessageText::MAX_CHARS + 1)).is_err());
    }
}
