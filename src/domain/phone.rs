//! Phone numbers, normalised once to E.164 at the edge.

use std::fmt;
use std::str::FromStr;

use super::DomainError;

/// A valid phone number in E.164 form (`+79161234567`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

/// Characters people type around the digits of a phone number. Anything else
/// (letters in particular) is rejected rather than guessed at: libphonenumber
/// would read `1-800-FLOWERS` style letters as digits, and a Latin `O` or
/// Cyrillic `З` typed for `0`/`3` must not silently become another number.
fn is_phone_punctuation(c: char) -> bool {
    matches!(c, ' ' | '-' | '(' | ')' | '.' | '/' | '\u{a0}')
}

impl Phone {
    /// Parses messy input such as `8 (916) 123-45-67`, `+7 916 1234567` or
    /// `89161234567`. Numbers without a country code are read in
    /// `default_region` (an ISO 3166 code such as `RU`).
    pub fn parse(raw: &str, default_region: &str) -> Result<Self, DomainError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(DomainError::new("phone", "is empty"));
        }
        for (i, c) in s.char_indices() {
            let ok = c.is_ascii_digit() || is_phone_punctuation(c) || (c == '+' && i == 0);
            if !ok {
                return Err(DomainError::new(
                    "phone",
                    format!(
                        "contains {c:?}, which is not a digit (letters are never read as digits)"
                    ),
                ));
            }
        }
        let digits = s.chars().filter(char::is_ascii_digit).count();
        if !(7..=15).contains(&digits) {
            return Err(DomainError::new(
                "phone",
                format!("has {digits} digits; a phone number has 7 to 15"),
            ));
        }
        let region = phonenumber::country::Id::from_str(default_region).map_err(|_| {
            DomainError::new(
                "phone",
                format!("unknown default region {default_region:?}"),
            )
        })?;
        let number = phonenumber::parse(Some(region), s)
            .map_err(|e| DomainError::new("phone", format!("is not a phone number ({e})")))?;
        if !phonenumber::is_valid(&number) {
            return Err(DomainError::new(
                "phone",
                "is not a valid number for its country (wrong number of digits or unknown prefix)",
            ));
        }
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        Ok(Phone(e164))
    }

    /// Re-reads a value that was stored already normalised.
    pub fn from_e164(s: &str) -> Result<Self, DomainError> {
        let ok = s.len() >= 8
            && s.len() <= 16
            && s.starts_with('+')
            && s[1..].bytes().all(|b| b.is_ascii_digit());
        if ok {
            Ok(Phone(s.to_owned()))
        } else {
            Err(DomainError::new("phone", "is not in E.164 form"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For logs: the country code and last two digits only.
    pub fn redacted(&self) -> String {
        let n = self.0.len();
        format!("{}…{}", &self.0[..2.min(n)], &self.0[n.saturating_sub(2)..])
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn russian_styles_normalise_to_e164() {
        for raw in [
            "8 (916) 123-45-67",
            "+7 916 1234567",
            "89161234567",
            "7 916 123 45 67",
            "+7 (916) 123 45 67",
            "8-916-123-45-67",
            " +79161234567 ",
            "+7(916)123-45-67",
        ] {
            assert_eq!(
                Phone::parse(raw, "RU").unwrap().as_str(),
                "+79161234567",
                "{raw}"
            );
        }
    }

    #[test]
    fn international_numbers_keep_their_country() {
        assert_eq!(
            Phone::parse("+44 20 7946 0958", "RU").unwrap().as_str(),
            "+442079460958"
        );
        assert_eq!(
            Phone::parse("+1 (415) 555-2671", "RU").unwrap().as_str(),
            "+14155552671"
        );
    }

    #[test]
    fn letters_and_wrong_lengths_are_rejected() {
        for raw in [
            "8 (916) 12З-45-67",
            "+7 9l6 555 12 34",
            "+7 (9O3) 111-22-33",
            "8 916 123 45",
            "+7 916 123 45 67 89",
            "",
            "+",
            "++79161234567",
        ] {
            assert!(
                Phone::parse(raw, "RU").is_err(),
                "{raw:?} should be rejected"
            );
        }
    }

    proptest! {
        #[test]
        fn any_russian_mobile_in_any_style_is_the_same_number(
            code in 900u32..1000, rest in 0u32..10_000_000, style in 0usize..5
        ) {
            let d = format!("{code}{rest:07}");
            let raw = match style {
                0 => format!("8 ({}) {}-{}-{}", &d[..3], &d[3..6], &d[6..8], &d[8..]),
                1 => format!("+7 {} {}", &d[..3], &d[3..]),
                2 => format!("8{d}"),
                3 => format!("7-{}-{}-{}", &d[..3], &d[3..6], &d[6..]),
                _ => format!("  +7{d} "),
            };
            // Not every 9xx prefix is allocated; where one parses, it is the same number.
            if let Ok(p) = Phone::parse(&raw, "RU") {
                prop_assert_eq!(p.as_str(), format!("+7{d}"));
            }
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}") {
            let _ = Phone::parse(&s, "RU");
        }

        #[test]
        fn a_parsed_phone_is_e164_and_reparses_to_itself(s in "[0-9+() -]{0,20}") {
            if let Ok(p) = Phone::parse(&s, "RU") {
                prop_assert!(Phone::from_e164(p.as_str()).is_ok());
                prop_assert_eq!(Phone::parse(p.as_str(), "RU").unwrap(), p);
            }
        }
    }
}
