//! Where a message or event came from, or where a reply goes.

use std::fmt;

use super::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChannelKind {
    Telegram,
    Email,
    /// The shop's website (page views, web orders, the account area).
    Web,
    /// The chat widget on the shop's site.
    Widget,
    /// Bulk imports and other systems' exports (couriers, CRM).
    Import,
    /// Direct API calls from the shop's backend.
    Api,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 6] = [
        ChannelKind::Telegram,
        ChannelKind::Email,
        ChannelKind::Web,
        ChannelKind::Widget,
        ChannelKind::Import,
        ChannelKind::Api,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Telegram => "telegram",
            ChannelKind::Email => "email",
            ChannelKind::Web => "web",
            ChannelKind::Widget => "widget",
            ChannelKind::Import => "import",
            ChannelKind::Api => "api",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                DomainError::new(
                    "channel",
                    format!(
                        "unknown channel {:?}; known: {}",
                        raw.trim(),
                        Self::ALL.map(ChannelKind::as_str).join(", ")
                    ),
                )
            })
    }

    /// Whether a conversation on this channel can be answered by Holdfast.
    pub fn is_conversational(self) -> bool {
        matches!(
            self,
            ChannelKind::Telegram | ChannelKind::Email | ChannelKind::Widget
        )
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_and_rejects_unknown() {
        assert_eq!(
            ChannelKind::parse(" Telegram ").unwrap(),
            ChannelKind::Telegram
        );
        let e = ChannelKind::parse("whatsapp").unwrap_err();
        assert!(e.reason.contains("unknown channel \"whatsapp\""), "{e}");
        for c in ChannelKind::ALL {
            assert_eq!(ChannelKind::parse(c.as_str()).unwrap(), c);
        }
    }
}
