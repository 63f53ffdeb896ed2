//! Telegram identities: the numeric user id and the public @username.

use std::fmt;

use super::DomainError;

/// Telegram's numeric user id (positive, fits in 52 bits per the Bot API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TelegramUserId(i64);

impl TelegramUserId {
    pub fn new(id: i64) -> Result<Self, DomainError> {
        if id <= 0 || id >= (1 << 52) {
            return Err(DomainError::new(
                "telegram_id",
                "must be a positive Telegram user id",
            ));
        }
        Ok(Self(id))
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let id: i64 = raw
            .trim()
            .parse()
            .map_err(|_| DomainError::new("telegram_id", "is not a whole number"))?;
        Self::new(id)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for TelegramUserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A Telegram @username, stored without the `@` and lower-cased (Telegram
/// usernames are case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TelegramUsername(String);

impl TelegramUsername {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim();
        let s = s.strip_prefix('@').unwrap_or(s);
        let n = s.chars().count();
        if !(5..=32).contains(&n) {
            return Err(DomainError::new(
                "telegram_username",
                format!("has {n} characters; Telegram requires 5 to 32"),
            ));
        }
        if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(DomainError::new(
                "telegram_username",
                "may contain only Latin letters, digits and underscores",
            ));
        }
        if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(DomainError::new(
                "telegram_username",
                "must start with a letter",
            ));
        }
        Ok(Self(s.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TelegramUsername {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn usernames_normalise() {
        assert_eq!(
            TelegramUsername::parse("@SergeyPavl").unwrap().as_str(),
            "sergeypavl"
        );
        assert_eq!(
            TelegramUsername::parse("KIRILL_VASILEV").unwrap().as_str(),
            "kirill_vasilev"
        );
        assert!(TelegramUsername::parse("@o").is_err());
        assert!(TelegramUsername::parse("1abcde").is_err());
        assert!(TelegramUsername::parse("ab cde").is_err());
    }

    #[test]
    fn user_ids_are_positive() {
        assert!(TelegramUserId::new(0).is_err());
        assert!(TelegramUserId::parse("-5").is_err());
        assert_eq!(TelegramUserId::parse(" 12345 ").unwrap().get(), 12345);
    }

    proptest! {
        #[test]
        fn username_parse_is_idempotent(s in "@?[A-Za-z][A-Za-z0-9_]{4,31}") {
            let u = TelegramUsername::parse(&s).unwrap();
            prop_assert_eq!(TelegramUsername::parse(u.as_str()).unwrap(), u);
        }
    }
}
