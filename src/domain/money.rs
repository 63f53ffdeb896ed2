//! Money as integer minor units plus an ISO 4217 currency.

use std::fmt;

use super::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const RUB: Currency = Currency(*b"RUB");

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() != 3 || !b.iter().all(u8::is_ascii_uppercase) {
            return Err(DomainError::new(
                "currency",
                format!("{:?} is not a three-letter ISO 4217 code", raw.trim()),
            ));
        }
        Ok(Currency([b[0], b[1], b[2]]))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII uppercase letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point. Currencies that have none are listed;
    /// everything else has two, which covers every currency a shop here bills in.
    pub fn exponent(&self) -> u32 {
        match self.as_str() {
            "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "UGX" | "XAF" | "XOF" | "PYG" => 0,
            "BHD" | "KWD" | "OMR" | "JOD" | "TND" | "IQD" | "LYD" => 3,
            _ => 2,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount in minor units (kopecks for RUB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    /// Parses a plain decimal amount: digits, optionally a `.` and at most as
    /// many fraction digits as the currency has. Thousands separators (space,
    /// comma) are rejected, not guessed: `1,690` could be 1.69 or 1690.
    pub fn parse_decimal(
        field: &'static str,
        raw: &str,
        currency: Currency,
    ) -> Result<Self, DomainError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(DomainError::new(field, "is empty"));
        }
        let (neg, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        if body.contains([' ', '\u{a0}', ',']) {
            return Err(DomainError::new(
                field,
                format!(
                    "{s:?} uses a thousands or decimal separator other than '.'; write plain digits such as 1690 or 1690.50"
                ),
            ));
        }
        let (int_part, frac_part) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body, ""),
        };
        let exp = currency.exponent();
        let valid_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if int_part.is_empty() || !valid_digits(int_part) || !valid_digits(frac_part) {
            return Err(DomainError::new(field, format!("{s:?} is not a number")));
        }
        if body.contains('.') && frac_part.is_empty() {
            return Err(DomainError::new(
                field,
                format!("{s:?} ends with a bare '.'"),
            ));
        }
        if frac_part.len() as u32 > exp {
            return Err(DomainError::new(
                field,
                format!("{s:?} has more than {exp} digits after the point for {currency}"),
            ));
        }
        let scale = 10i64.pow(exp);
        let int: i64 = int_part
            .parse()
            .map_err(|_| DomainError::new(field, format!("{s:?} is too large")))?;
        let frac: i64 = if frac_part.is_empty() {
            0
        } else {
            let pad = 10i64.pow(exp - frac_part.len() as u32);
            frac_part
                .parse::<i64>()
                .map_err(|_| DomainError::new(field, format!("{s:?} is not a number")))?
                * pad
        };
        let minor = int
            .checked_mul(scale)
            .and_then(|v| v.checked_add(frac))
            .ok_or_else(|| DomainError::new(field, format!("{s:?} is too large")))?;
        Ok(Money {
            minor: if neg { -minor } else { minor },
            currency,
        })
    }

    pub fn is_positive(&self) -> bool {
        self.minor > 0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = self.currency.exponent();
        if exp == 0 {
            return write!(f, "{} {}", self.minor, self.currency);
        }
        let scale = 10i64.pow(exp);
        let sign = if self.minor < 0 { "-" } else { "" };
        let a = self.minor.unsigned_abs();
        write!(
            f,
            "{sign}{}.{:0width$} {}",
            a / scale as u64,
            a % scale as u64,
            self.currency,
            width = exp as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rub(s: &str) -> Result<Money, DomainError> {
        Money::parse_decimal("amount", s, Currency::RUB)
    }

    #[test]
    fn parses_whole_and_kopecks() {
        assert_eq!(rub("1690").unwrap().minor, 169_000);
        assert_eq!(rub("890.5").unwrap().minor, 89_050);
        assert_eq!(rub("890.05").unwrap().minor, 89_005);
        assert_eq!(rub("-890").unwrap().minor, -89_000);
    }

    #[test]
    fn rejects_separators_and_junk() {
        for s in [
            "1 690",
            "1,690",
            "8\"90",
            "",
            "1.",
            ".5",
            "1.234",
            "abc",
            "99999999999999999999",
        ] {
            assert!(rub(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn currency_codes() {
        assert_eq!(Currency::parse("rub").unwrap(), Currency::RUB);
        assert!(Currency::parse("RU").is_err());
        assert_eq!(Currency::parse("JPY").unwrap().exponent(), 0);
    }

    proptest! {
        #[test]
        fn display_round_trips(minor in -1_000_000_000i64..1_000_000_000) {
            let m = Money { minor, currency: Currency::RUB };
            let shown = m.to_string();
            let number = shown.trim_end_matches(" RUB");
            prop_assert_eq!(rub(number).unwrap(), m);
        }
    }
}
