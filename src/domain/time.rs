//! Timestamps with the sender's UTC offset kept.

use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};

use super::DomainError;

/// An instant plus the UTC offset it was written in. Ordering and equality
/// use the instant; the offset is kept so that "what time was it for the
/// customer" stays answerable.
#[derive(Debug, Clone, Copy)]
pub struct Timestamp(DateTime<FixedOffset>);

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for Timestamp {}
impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn num(s: &str, field: &'static str, what: &str) -> Result<u32, DomainError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DomainError::new(
            field,
            format!("{what} {s:?} is not a number"),
        ));
    }
    s.parse()
        .map_err(|_| DomainError::new(field, format!("{what} {s:?} is not a number")))
}

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(Utc::now().fixed_offset())
    }

    pub fn from_datetime(dt: DateTime<FixedOffset>) -> Self {
        Timestamp(dt)
    }

    /// Strict RFC 3339 (`2026-03-05T10:15:00+03:00`, `...Z`, optional
    /// fractional seconds; a space in place of `T` is allowed as RFC 3339 §5.6
    /// permits). The UTC offset is required: a local time without one is
    /// ambiguous, so it is rejected with a reason rather than guessed.
    pub fn parse_rfc3339(field: &'static str, raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim();
        let bad_format = || {
            DomainError::new(
                field,
                format!("{s:?} is not an RFC 3339 timestamp such as 2026-03-05T10:15:00+03:00"),
            )
        };
        // Every valid form is ASCII; checking first also keeps the byte
        // slicing below on character boundaries.
        if s.len() < 19 || !s.is_ascii() {
            return Err(bad_format());
        }
        let (date, rest) = s.split_at(10);
        let dparts: Vec<&str> = date.split('-').collect();
        if dparts.len() != 3 || dparts[0].len() != 4 || dparts[1].len() != 2 || dparts[2].len() != 2
        {
            return Err(bad_format());
        }
        let sep = rest.as_bytes()[0];
        if !matches!(sep, b'T' | b't' | b' ') {
            return Err(bad_format());
        }
        let rest = &rest[1..];
        if rest.len() < 8 {
            return Err(bad_format());
        }
        let (clock, mut tail) = rest.split_at(8);
        let tparts: Vec<&str> = clock.split(':').collect();
        if tparts.len() != 3 || tparts.iter().any(|p| p.len() != 2) {
            return Err(bad_format());
        }
        let mut nanos = 0u32;
        if let Some(frac_rest) = tail.strip_prefix('.') {
            let n = frac_rest.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 || n > 9 {
                return Err(bad_format());
            }
            let digits = &frac_rest[..n];
            nanos = num(digits, field, "fraction")? * 10u32.pow(9 - n as u32);
            tail = &frac_rest[n..];
        }
        let offset_secs: i32 = match tail {
            "Z" | "z" => 0,
            "" => {
                return Err(DomainError::new(
                    field,
                    format!(
                        "{s:?} has no UTC offset; add one, e.g. {}+03:00 or {}Z",
                        s, s
                    ),
                ));
            }
            t if t.len() == 6 && (t.starts_with('+') || t.starts_with('-')) && &t[3..4] == ":" => {
                let h = num(&t[1..3], field, "offset hour")? as i32;
                let m = num(&t[4..6], field, "offset minute")? as i32;
                if h > 23 || m > 59 {
                    return Err(DomainError::new(
                        field,
                        format!("offset {t} is out of range"),
                    ));
                }
                let v = h * 3600 + m * 60;
                if t.starts_with('-') { -v } else { v }
            }
            _ => return Err(bad_format()),
        };
        let year = num(dparts[0], field, "year")? as i32;
        let month = num(dparts[1], field, "month")?;
        let day = num(dparts[2], field, "day")?;
        let hour = num(tparts[0], field, "hour")?;
        let minute = num(tparts[1], field, "minute")?;
        let second = num(tparts[2], field, "second")?;
        if !(1..=12).contains(&month) {
            return Err(DomainError::new(
                field,
                format!("invalid date: month {month} does not exist"),
            ));
        }
        let date = NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| {
            DomainError::new(
                field,
                format!(
                    "invalid date: {} {day} does not exist in {year}",
                    MONTHS[(month - 1) as usize]
                ),
            )
        })?;
        if hour > 23 {
            return Err(DomainError::new(
                field,
                format!("invalid time: hour {hour} does not exist"),
            ));
        }
        if minute > 59 || second > 59 {
            return Err(DomainError::new(
                field,
                format!("invalid time: {clock} has minutes or seconds above 59"),
            ));
        }
        let naive = date
            .and_hms_nano_opt(hour, minute, second, nanos)
            .ok_or_else(bad_format)?;
        let tz = FixedOffset::east_opt(offset_secs).ok_or_else(bad_format)?;
        let dt = tz
            .from_local_datetime(&naive)
            .single()
            .ok_or_else(bad_format)?;
        Ok(Timestamp(dt))
    }

    /// Microseconds since the Unix epoch (the storage form).
    pub fn unix_micros(&self) -> i64 {
        self.0.timestamp_micros()
    }

    pub fn offset_secs(&self) -> i32 {
        self.0.offset().local_minus_utc()
    }

    /// Rebuilds a stored value.
    pub fn from_parts(unix_micros: i64, offset_secs: i32) -> Self {
        let utc = DateTime::<Utc>::from_timestamp_micros(unix_micros).unwrap_or_default();
        let tz = FixedOffset::east_opt(offset_secs)
            .unwrap_or(FixedOffset::east_opt(0).expect("zero offset is valid"));
        Timestamp(utc.with_timezone(&tz))
    }

    pub fn from_unix_micros(unix_micros: i64) -> Self {
        Self::from_parts(unix_micros, 0)
    }

    pub fn datetime(&self) -> DateTime<FixedOffset> {
        self.0
    }

    pub fn to_rfc3339(&self) -> String {
        self.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    }

    pub fn plus_secs(&self, secs: i64) -> Self {
        Timestamp(self.0 + chrono::Duration::seconds(secs))
    }

    pub fn plus_micros(&self, micros: i64) -> Self {
        Timestamp(self.0 + chrono::Duration::microseconds(micros))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Result<Timestamp, DomainError> {
        Timestamp::parse_rfc3339("occurred_at", s)
    }

    #[test]
    fn accepts_rfc3339_forms() {
        let a = p("2026-03-05T10:15:00+03:00").unwrap();
        let b = p("2026-03-05T07:15:00Z").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.offset_secs(), 3 * 3600);
        assert!(p("2026-03-05T10:15:00.123456+03:00").is_ok());
        assert!(p("1999-12-31T23:59:59-05:30").is_ok());
    }

    #[test]
    fn explains_what_is_wrong() {
        let cases = [
            ("2026-02-30T10:15:00+03:00", "February 30 does not exist"),
            ("2026-13-05T10:15:00+03:00", "month 13"),
            ("2026-03-05T25:10:00+03:00", "hour 25"),
            ("2026-03-05 10:15:00", "no UTC offset"),
            ("05.03.2026 10:15", "not an RFC 3339"),
            ("", "not an RFC 3339"),
        ];
        for (raw, want) in cases {
            let e = p(raw).unwrap_err();
            assert!(e.reason.contains(want), "{raw}: {e}");
        }
    }

    proptest! {
        #[test]
        fn storage_round_trip(secs in 0i64..4_000_000_000, off_min in -720i32..840) {
            let t = Timestamp::from_parts(secs * 1_000_000, off_min * 60);
            let again = p(&t.to_rfc3339()).unwrap();
            prop_assert_eq!(again, t);
            prop_assert_eq!(again.offset_secs(), t.offset_secs());
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = p(&s);
        }
    }
}
