//! Transactions → per-customer RFM summary, following lifetimes 0.11.3
//! `summary_data_from_transaction_data` and `calibration_and_holdout_data`
//! (with `freq_multiplier = 1`, `include_first_transaction = False`).
//!
//! Conventions, checked against lifetimes on the CDNOW transactions:
//!
//! * Every date is floored to the start of its period (pandas
//!   `to_period(freq).to_timestamp()`): the day itself; the Monday of its
//!   week (pandas `W` = weeks ending on Sunday); the 1st of its month.
//! * Transactions whose period start is after the observation end's period
//!   start are dropped; so are customers with none left.
//! * Transactions in the same period collapse into one, their amounts
//!   summed. frequency = number of distinct periods − 1.
//! * recency = (last period start − first period start) / unit and
//!   T = (observation-end period start − first period start) / unit, with
//!   unit = 1 day, 7 days, or 30.436875 days for months (numpy's mean
//!   Gregorian month, what `np.timedelta64(1, 'M')` means under pandas < 2;
//!   pandas ≥ 2 rejects `freq='M'` in lifetimes). So weeks and days give
//!   whole numbers and months give fractions.
//! * monetary_value = mean of the per-period totals excluding the first
//!   period; 0 when frequency is 0.
//!
//! Dates are `i32` day numbers (days since 1970-01-01) so this module needs
//! no date crate; [`parse_ymd`] converts ISO dates.

use std::cmp::Ordering;

pub use super::dates::{civil_from_days, days_from_civil, parse_ymd};
use super::error::ClvError;
use super::rfm::RfmRow;

/// One purchase. `day` is the number of days since 1970-01-01.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction<K> {
    pub customer: K,
    pub day: i32,
    pub amount: f64,
}

/// The period unit of the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Day,
    Week,
    Month,
}

/// numpy's `timedelta64(1, 'M')` in days: 365.2425 / 12.
pub const DAYS_PER_MONTH: f64 = 30.436_875;

impl Period {
    /// Day number of the start of the period containing `day`.
    pub fn start(self, day: i32) -> i32 {
        match self {
            Period::Day => day,
            // 1970-01-01 was a Thursday, so (day + 3) mod 7 is 0 on Mondays.
            Period::Week => day - (day + 3).rem_euclid(7),
            Period::Month => {
                let (y, m, _) = civil_from_days(day);
                days_from_civil(y, m, 1)
            }
        }
    }

    /// Length of the unit in days, for recency and T.
    pub fn unit_days(self) -> f64 {
        match self {
            Period::Day => 1.0,
            Period::Week => 7.0,
            Period::Month => DAYS_PER_MONTH,
        }
    }

    /// Whole periods from the period of `from` to the period of `to`
    /// (pandas `Period` subtraction `.n`).
    pub fn periods_between(self, from: i32, to: i32) -> i64 {
        match self {
            Period::Day => i64::from(to) - i64::from(from),
            Period::Week => (i64::from(self.start(to)) - i64::from(self.start(from))) / 7,
            Period::Month => {
                let (y0, m0, _) = civil_from_days(from);
                let (y1, m1, _) = civil_from_days(to);
                (i64::from(y1) * 12 + i64::from(m1)) - (i64::from(y0) * 12 + i64::from(m0))
            }
        }
    }
}

/// Per-customer summary in the chosen period unit.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerSummary<K> {
    pub customer: K,
    pub frequency: f64,
    pub recency: f64,
    pub t: f64,
    pub monetary_value: f64,
}

impl<K> CustomerSummary<K> {
    /// The row the models fit on (weight 1).
    pub fn rfm(&self) -> RfmRow {
        RfmRow::new(self.frequency, self.recency, self.t, self.monetary_value)
    }
}

/// A calibration summary with what the customer did in the holdout window.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationHoldout<K> {
    pub calibration: CustomerSummary<K>,
    /// Distinct periods with a purchase in (calibration_end, observation_end].
    pub frequency_holdout: f64,
    /// Mean of the individual holdout transaction amounts (not per-period
    /// totals, as in lifetimes); 0 without holdout purchases.
    pub monetary_value_holdout: f64,
    /// Whole periods from the calibration end to the observation end.
    pub duration_holdout: f64,
}

fn check_transactions<K>(tx: &[Transaction<K>]) -> Result<(), ClvError> {
    if tx.is_empty() {
        return Err(ClvError::EmptyData("no transactions"));
    }
    for (i, t) in tx.iter().enumerate() {
        if !t.amount.is_finite() {
            return Err(ClvError::NonFinite {
                row: i,
                field: "amount",
                value: t.amount,
            });
        }
        if t.amount < 0.0 {
            return Err(ClvError::InvalidRow {
                row: i,
                message: format!("amount must be ≥ 0, got {}", t.amount),
            });
        }
    }
    Ok(())
}

/// Transaction indices passing `keep`, sorted by (customer, period start).
fn sorted_indices<K: Ord>(
    tx: &[Transaction<K>],
    period: Period,
    keep: impl Fn(&Transaction<K>) -> bool,
) -> Vec<(usize, i32)> {
    let mut idx: Vec<(usize, i32)> = tx
        .iter()
        .enumerate()
        .filter(|(_, t)| keep(t))
        .map(|(i, t)| (i, period.start(t.day)))
        .collect();
    idx.sort_by(|a, b| match tx[a.0].customer.cmp(&tx[b.0].customer) {
        Ordering::Equal => a.1.cmp(&b.1),
        o => o,
    });
    idx
}

/// lifetimes' `summary_data_from_transaction_data` (see the module docs);
/// output sorted by customer.
pub fn summary_from_transactions<K: Ord + Clone>(
    tx: &[Transaction<K>],
    observation_end: i32,
    period: Period,
) -> Result<Vec<CustomerSummary<K>>, ClvError> {
    check_transactions(tx)?;
    let end = period.start(observation_end);
    let idx = sorted_indices(tx, period, |t| period.start(t.day) <= end);
    if idx.is_empty() {
        return Err(ClvError::EmptyData(
            "no transactions on or before the observation end",
        ));
    }
    let unit = period.unit_days();
    let mut out = Vec::new();
    let mut i = 0;
    while i < idx.len() {
        let customer = &tx[idx[i].0].customer;
        let first = idx[i].1;
        let (mut last, mut periods, mut repeat_total) = (first, 0u64, 0.0);
        let mut current: Option<i32> = None;
        while i < idx.len() && tx[idx[i].0].customer == *customer {
            let (k, p) = idx[i];
            if current != Some(p) {
                current = Some(p);
                periods += 1;
                last = p;
            }
            if p != first {
                repeat_total += tx[k].amount;
            }
            i += 1;
        }
        let frequency = (periods - 1) as f64;
        out.push(CustomerSummary {
            customer: customer.clone(),
            frequency,
            recency: f64::from(last - first) / unit,
            t: f64::from(end - first) / unit,
            monetary_value: if periods > 1 {
                repeat_total / frequency
            } else {
                0.0
            },
        });
    }
    Ok(out)
}

/// lifetimes' `calibration_and_holdout_data`: the calibration summary uses
/// the transactions dated on or before `calibration_end` (raw dates), the
/// holdout counts distinct purchase periods in (calibration_end,
/// observation_end]. Customers first seen in the holdout are not included.
pub fn calibration_and_holdout<K: Ord + Clone>(
    tx: &[Transaction<K>],
    calibration_end: i32,
    observation_end: i32,
    period: Period,
) -> Result<Vec<CalibrationHoldout<K>>, ClvError> {
    if calibration_end >= observation_end {
        return Err(ClvError::InvalidArgument(format!(
            "calibration end ({calibration_end}) must be before observation end ({observation_end})"
        )));
    }
    check_transactions(tx)?;
    let cal: Vec<Transaction<K>> = tx
        .iter()
        .filter(|t| t.day <= calibration_end)
        .cloned()
        .collect();
    if cal.is_empty() {
        return Err(ClvError::EmptyData(
            "no transactions in the calibration period",
        ));
    }
    let summary = summary_from_transactions(&cal, calibration_end, period)?;
    let hold = sorted_indices(tx, period, |t| {
        t.day > calibration_end && t.day <= observation_end
    });
    if hold.is_empty() {
        return Err(ClvError::EmptyData("no transactions in the holdout period"));
    }
    let duration = period.periods_between(calibration_end, observation_end) as f64;
    let mut out = Vec::with_capacity(summary.len());
    let mut j = 0;
    for s in summary {
        while j < hold.len() && tx[hold[j].0].customer < s.customer {
            j += 1;
        }
        let (mut periods, mut n, mut total) = (0u64, 0u64, 0.0);
        let mut current = None;
        while j < hold.len() && tx[hold[j].0].customer == s.customer {
            let (k, p) = hold[j];
            if current != Some(p) {
                current = Some(p);
                periods += 1;
            }
            n += 1;
            total += tx[k].amount;
            j += 1;
        }
        out.push(CalibrationHoldout {
            calibration: s,
            frequency_holdout: periods as f64,
            monetary_value_holdout: if n > 0 { total / n as f64 } else { 0.0 },
            duration_holdout: duration,
        });
    }
    Ok(out)
}

#[cfg(test)]
#[path = "summary_tests.rs"]
mod tests;
