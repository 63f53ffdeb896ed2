//! What a message says about the customer: sentiment, intent, and where
//! they stand in their lifecycle.

use std::fmt;

use super::DomainError;

macro_rules! label_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal, { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Result<Self, DomainError> {
                let t = s.trim().to_ascii_lowercase();
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == t)
                    .ok_or_else(|| DomainError::new($field, format!(
                        "unknown {} {s:?}; known: {}", $field,
                        Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "))))
            }

            pub fn index(self) -> usize {
                Self::ALL.iter().position(|v| *v == self).unwrap_or(0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

label_enum!(
    /// The customer's attitude in this message.
    Sentiment, "sentiment", {
        Positive => "positive",
        Neutral => "neutral",
        Negative => "negative",
    }
);

label_enum!(
    /// The one thing the customer mainly wants. When several apply, the
    /// first in this order wins: cancel_intent, complaint, price_objection,
    /// buying_signal, question, praise, other.
    Intent, "intent", {
        Question => "question",
        BuyingSignal => "buying_signal",
        Complaint => "complaint",
        PriceObjection => "price_objection",
        CancelIntent => "cancel_intent",
        Praise => "praise",
        Other => "other",
    }
);

label_enum!(
    /// Where the customer stands. See ARCHITECTURE.md, "Lifecycle phases".
    Phase, "phase", {
        /// First weeks, at most one order.
        New => "new",
        /// Buying on their own rhythm.
        Active => "active",
        /// About to buy or buying more: a buying signal, rising spend.
        Hot => "hot",
        /// Late against their own rhythm, falling P(alive), complaints,
        /// refunds or a pause.
        AtRisk => "at_risk",
        /// Asking to leave, or left recently.
        Churning => "churning",
        /// Objects or declines again and again but stays.
        Resisting => "resisting",
    }
);

label_enum!(
    /// The languages Holdfast answers in.
    Lang, "lang", {
        Ru => "ru",
        En => "en",
    }
);

impl Lang {
    /// The language a text is written in: Russian when Cyrillic letters are
    /// at least a third of the letters, else English.
    pub fn detect(text: &str) -> Lang {
        let (mut cyr, mut letters) = (0usize, 0usize);
        for c in text.chars().filter(|c| c.is_alphabetic()) {
            letters += 1;
            if ('\u{400}'..='\u{4ff}').contains(&c) {
                cyr += 1;
            }
        }
        if letters > 0 && cyr * 3 >= letters {
            Lang::Ru
        } else {
            Lang::En
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip() {
        for i in Intent::ALL {
            assert_eq!(Intent::parse(i.as_str()).unwrap(), *i);
        }
        assert!(Phase::parse("dormant").is_err());
        assert_eq!(Phase::parse(" AT_RISK ").unwrap(), Phase::AtRisk);
    }

    #[test]
    fn language_detection() {
        assert_eq!(Lang::detect("Когда придёт моя коробка?"), Lang::Ru);
        assert_eq!(Lang::detect("When will my box arrive?"), Lang::En);
        assert_eq!(Lang::detect("ok 👍"), Lang::En);
        assert_eq!(Lang::detect("Спасибо, thanks!"), Lang::Ru);
    }
}
