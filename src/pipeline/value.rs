//! Customer value in the product: a customer's purchases become a BTYD
//! summary (weeks, lifetimes' conventions) plus the behaviour figures the
//! lifecycle analysis uses; the active model version turns the summary into
//! P(alive), expected purchases, expected spend and CLV.

use serde::{Deserialize, Serialize};

use crate::clv::{
    BgNbd, ClvOptions, FitDiagnostics, FitOptions, GammaGamma, Period, RfmRow, Transaction,
    TransactionModel, customer_lifetime_value, summary_from_transactions,
};
use crate::domain::{CustomerId, Timestamp};

const MICROS_PER_DAY: f64 = 86_400e6;

/// One order, as the value models see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Purchase {
    pub customer: CustomerId,
    pub at_us: i64,
    pub amount_minor: i64,
}

/// A customer's purchase summary and behaviour figures.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueSummary {
    pub purchases: u32,
    /// Repeat purchase weeks (BTYD frequency).
    pub frequency: f64,
    /// Weeks from the first to the last purchase week.
    pub recency: f64,
    /// Weeks from the first purchase to now.
    pub t: f64,
    /// Mean repeat spend per purchase week, in minor units.
    pub monetary_value: f64,
    pub first_purchase_at: Timestamp,
    pub last_purchase_at: Timestamp,
    /// Median gap between purchase days: the customer's own rhythm.
    pub rhythm_days: Option<f64>,
    /// Recent spend against earlier spend: mean of the last (up to) three
    /// orders over the mean of the orders before them, minus one.
    pub spend_trend: Option<f64>,
}

fn day(at_us: i64) -> i32 {
    (at_us as f64 / MICROS_PER_DAY).floor() as i32
}

/// Summarises one customer's purchases (any order) as of `now`.
pub fn summarise(purchases: &[(i64, i64)], now: Timestamp) -> Option<ValueSummary> {
    if purchases.is_empty() {
        return None;
    }
    let mut sorted: Vec<(i64, i64)> = purchases.to_vec();
    sorted.sort();
    let tx: Vec<Transaction<u8>> = sorted
        .iter()
        .map(|(at, amount)| Transaction {
            customer: 0,
            day: day(*at),
            amount: *amount as f64,
        })
        .collect();
    let end = day(now.unix_micros()).max(tx.iter().map(|t| t.day).max().unwrap_or(0));
    let s = summary_from_transactions(&tx, end, Period::Week)
        .ok()?
        .into_iter()
        .next()?;
    let mut days: Vec<i32> = tx.iter().map(|t| t.day).collect();
    days.dedup();
    let mut gaps: Vec<f64> = days.windows(2).map(|w| f64::from(w[1] - w[0])).collect();
    gaps.sort_by(f64::total_cmp);
    let rhythm_days = (!gaps.is_empty()).then(|| {
        let n = gaps.len();
        if n % 2 == 1 {
            gaps[n / 2]
        } else {
            (gaps[n / 2 - 1] + gaps[n / 2]) / 2.0
        }
    });
    let amounts: Vec<f64> = sorted.iter().map(|(_, a)| *a as f64).collect();
    let spend_trend = (amounts.len() >= 2).then(|| {
        let k = (amounts.len() / 2).clamp(1, 3);
        let (before, recent) = amounts.split_at(amounts.len() - k);
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let b = mean(before);
        if b > 0.0 { mean(recent) / b - 1.0 } else { 0.0 }
    });
    Some(ValueSummary {
        purchases: sorted.len() as u32,
        frequency: s.frequency,
        recency: s.recency,
        t: s.t,
        monetary_value: s.monetary_value,
        first_purchase_at: Timestamp::from_unix_micros(sorted[0].0),
        last_purchase_at: Timestamp::from_unix_micros(sorted[sorted.len() - 1].0),
        rhythm_days,
        spend_trend,
    })
}

/// Days since the last purchase, and that over the customer's own rhythm
/// (above ~1.5 means later than usual).
pub fn lateness(s: &ValueSummary, now: Timestamp) -> (f64, Option<f64>) {
    let days =
        (now.unix_micros() - s.last_purchase_at.unix_micros()).max(0) as f64 / MICROS_PER_DAY;
    (days, s.rhythm_days.filter(|r| *r > 0.0).map(|r| days / r))
}

/// A fitted model version as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelParams {
    pub bgnbd: [f64; 4],
    pub gamma_gamma: Option<[f64; 3]>,
}

#[derive(Debug, Clone)]
pub struct ActiveModel {
    pub version: i64,
    pub purchase: BgNbd,
    pub spend: Option<GammaGamma>,
}

impl ActiveModel {
    pub fn from_params(version: i64, p: &ModelParams) -> Result<Self, crate::clv::ClvError> {
        let [r, alpha, a, b] = p.bgnbd;
        let spend = match p.gamma_gamma {
            Some([pp, q, v]) => Some(GammaGamma::new(pp, q, v)?),
            None => None,
        };
        Ok(ActiveModel {
            version,
            purchase: BgNbd::new(r, alpha, a, b)?,
            spend,
        })
    }
}

/// How far ahead and on what terms value is predicted.
#[derive(Debug, Clone, Copy)]
pub struct ValueOptions {
    /// Expected purchases are reported over this many days.
    pub horizon_days: f64,
    pub clv: ClvOptions,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    pub p_alive: f64,
    pub expected_purchases: f64,
    /// Expected spend per purchase, minor units (needs the spend model).
    pub expected_spend: Option<f64>,
    /// Discounted margin over the CLV horizon, minor units.
    pub clv: Option<f64>,
}

pub fn score(s: &ValueSummary, m: &ActiveModel, o: &ValueOptions) -> Scores {
    let weeks = o.horizon_days / 7.0;
    let expected_spend = m
        .spend
        .as_ref()
        .map(|g| g.expected_average_spend(s.frequency, s.monetary_value));
    let clv = expected_spend.map(|spend| {
        customer_lifetime_value(
            &m.purchase as &dyn TransactionModel,
            spend,
            s.frequency,
            s.recency,
            s.t,
            &o.clv,
        )
    });
    Scores {
        p_alive: m.purchase.p_alive(s.frequency, s.recency, s.t),
        expected_purchases: m
            .purchase
            .expected_purchases(weeks, s.frequency, s.recency, s.t),
        expected_spend,
        clv,
    }
}

/// The outcome of a refit.
#[derive(Debug)]
pub struct Fitted {
    pub params: ModelParams,
    pub diagnostics: FitDiagnostics,
    pub spend_diagnostics: Option<FitDiagnostics>,
    pub customers: usize,
    /// The L2 penalty the purchase model needed to converge (0 = none).
    pub penalizer: f64,
}

/// Penalties tried in turn until BG/NBD converges. The unpenalised maximum
/// can run off to a boundary (e.g. when most customers have been quiet for a
/// long time, `a` and `b` grow without bound); a small penalty keeps the
/// estimate finite and unique, as lifetimes' `penalizer_coef` does.
const PENALIZERS: [f64; 4] = [0.0, 0.001, 0.01, 0.1];

/// Fits BG/NBD on every customer's summary, and Gamma-Gamma on the repeat
/// buyers when there are enough. `Err` says why no model was made.
pub fn fit(summaries: &[ValueSummary], min_repeat: usize) -> Result<Fitted, String> {
    let rows: Vec<RfmRow> = summaries
        .iter()
        .map(|s| RfmRow::new(s.frequency, s.recency, s.t, s.monetary_value))
        .collect();
    let repeat: Vec<RfmRow> = rows
        .iter()
        .filter(|r| r.frequency > 0.0 && r.monetary_value > 0.0)
        .cloned()
        .collect();
    if repeat.len() < min_repeat {
        return Err(format!(
            "{} customers have repeat purchases; at least {min_repeat} are needed (clv.min_repeat_customers)",
            repeat.len()
        ));
    }
    let opts = FitOptions::default();
    let mut failures = Vec::new();
    let mut purchase = None;
    for penalizer in PENALIZERS {
        let o = FitOptions { penalizer, ..opts };
        match BgNbd::fit(&rows, &o) {
            Ok((m, d)) if d.converged => {
                purchase = Some((m, d, penalizer));
                break;
            }
            Ok((_, d)) => failures.push(format!(
                "penalizer {penalizer}: {}",
                d.advice.unwrap_or_else(|| "did not converge".into())
            )),
            Err(e) => failures.push(format!("penalizer {penalizer}: {e}")),
        }
    }
    let Some((m, d, penalizer)) = purchase else {
        return Err(format!("BG/NBD did not converge: {}", failures.join("; ")));
    };
    let spend = GammaGamma::fit(&repeat, &opts)
        .ok()
        .filter(|(_, d)| d.converged);
    Ok(Fitted {
        params: ModelParams {
            bgnbd: [m.r, m.alpha, m.a, m.b],
            gamma_gamma: spend.as_ref().map(|(g, _)| [g.p, g.q, g.v]),
        },
        diagnostics: d,
        spend_diagnostics: spend.map(|(_, d)| d),
        customers: rows.len(),
        penalizer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(day: i64) -> i64 {
        day * 86_400_000_000
    }

    #[test]
    fn summary_follows_the_customer_rhythm() {
        // Every 14 days, spend rising.
        let p: Vec<(i64, i64)> = (0..6)
            .map(|i| (at(20_000 + 14 * i), 1000 + 100 * i))
            .collect();
        let now = Timestamp::from_unix_micros(at(20_000 + 14 * 5 + 42));
        let s = summarise(&p, now).unwrap();
        assert_eq!(s.purchases, 6);
        assert_eq!(s.rhythm_days, Some(14.0));
        assert!(s.spend_trend.unwrap() > 0.0);
        let (days, ratio) = lateness(&s, now);
        assert_eq!(days, 42.0);
        assert_eq!(ratio, Some(3.0));
        assert!(s.recency <= s.t);
    }

    #[test]
    fn one_purchase_has_no_rhythm() {
        let s = summarise(
            &[(at(20_000), 500)],
            Timestamp::from_unix_micros(at(20_010)),
        )
        .unwrap();
        assert_eq!(
            (s.frequency, s.rhythm_days, s.spend_trend),
            (0.0, None, None)
        );
        assert!(summarise(&[], Timestamp::now()).is_none());
    }

    #[test]
    fn scoring_orders_late_customers_below_regular_ones() {
        let m = ActiveModel::from_params(
            1,
            &ModelParams {
                bgnbd: [0.243, 4.414, 0.793, 2.426],
                gamma_gamma: Some([6.25, 3.74, 15.44]),
            },
        )
        .unwrap();
        let o = ValueOptions {
            horizon_days: 90.0,
            clv: ClvOptions::for_period(Period::Week),
        };
        let regular: Vec<(i64, i64)> = (0..10).map(|i| (at(20_000 + 7 * i), 2000)).collect();
        let now = Timestamp::from_unix_micros(at(20_070));
        let later = Timestamp::from_unix_micros(at(20_300));
        let fresh = score(&summarise(&regular, now).unwrap(), &m, &o);
        let stale = score(&summarise(&regular, later).unwrap(), &m, &o);
        assert!(fresh.p_alive > stale.p_alive);
        assert!(fresh.clv.unwrap() > stale.clv.unwrap());
    }

    proptest! {
        #[test]
        fn summaries_are_consistent(days in proptest::collection::vec(0i64..700, 1..30), extra in 0i64..400) {
            let p: Vec<(i64, i64)> = days.iter().map(|d| (at(19_000 + d), 100)).collect();
            let last = days.iter().max().copied().unwrap_or(0);
            let s = summarise(&p, Timestamp::from_unix_micros(at(19_000 + last + extra))).unwrap();
            prop_assert!(s.recency <= s.t + 1e-9);
            prop_assert!(s.frequency >= 0.0 && s.frequency < s.purchases as f64);
            prop_assert!(s.rhythm_days.is_none_or(|r| r > 0.0));
        }
    }
}
