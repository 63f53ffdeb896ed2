//! Email addresses, trimmed and lower-cased once at the edge.

use std::fmt;
use std::str::FromStr;

use super::DomainError;

/// A syntactically valid email address, lower-cased.
///
/// The whole address is lower-cased, local part included: RFC 5321 lets a
/// server treat local parts case-sensitively, but no mail system a shop's
/// customers use does, and matching customers by email needs one spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err(DomainError::new("email", "is empty"));
        }
        match s.matches('@').count() {
            0 => return Err(DomainError::new("email", "has no @")),
            1 => {}
            n => return Err(DomainError::new("email", format!("has {n} @ signs"))),
        }
        if s.len() > 254 {
            return Err(DomainError::new("email", "is longer than 254 characters"));
        }
        let parsed = email_address::EmailAddress::from_str(&s)
            .map_err(|e| DomainError::new("email", format!("is not a valid address ({e})")))?;
        let domain = parsed.domain();
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return Err(DomainError::new(
                "email",
                "domain must have a dot and no leading or trailing dot",
            ));
        }
        Ok(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For logs: first letter and the domain.
    pub fn redacted(&self) -> String {
        match self.0.split_once('@') {
            Some((local, domain)) => {
                format!("{}…@{domain}", local.chars().next().unwrap_or('?'))
            }
            None => "…".to_owned(),
        }
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trims_and_lowercases() {
        let e = Email::parse("  Vasilev8@Mail.example ").unwrap();
        assert_eq!(e.as_str(), "vasilev8@mail.example");
    }

    #[test]
    fn rejects_malformed() {
        for raw in [
            "dmitry.zaitsev@@mail.example",
            "elena.kuznetsova.mail.example",
            "a@b",
            "@mail.example",
            "x@.example",
            "",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?}");
        }
    }

    proptest! {
        #[test]
        fn parse_is_idempotent(local in "[A-Za-z0-9._%+-]{1,20}", dom in "[A-Za-z0-9-]{1,10}", tld in "[a-z]{2,6}") {
            let raw = format!(" {local}@{dom}.{tld} ");
            if let Ok(e) = Email::parse(&raw) {
                prop_assert_eq!(e.as_str(), e.as_str().to_lowercase());
                prop_assert_eq!(Email::parse(e.as_str()).unwrap(), e);
            }
        }

        #[test]
        fn never_panics(s in "\\PC{0,60}") {
            let _ = Email::parse(&s);
        }
    }
}
