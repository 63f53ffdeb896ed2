//! Discounted customer lifetime value from a transaction model and a spend
//! estimate, following lifetimes 0.11.3 `_customer_lifetime_value` with an
//! added margin.

use rayon::prelude::*;

use super::bgnbd::BgNbd;
use super::error::ClvError;
use super::gamma_gamma::GammaGamma;
use super::pnbd::ParetoNbd;
use super::rfm::{RfmRow, validate_rfm};
use super::summary::Period;

/// A model that predicts E[purchases in (T, T+t] | x, tₓ, T].
pub trait TransactionModel: Sync {
    fn expected_purchases(&self, t: f64, x: f64, t_x: f64, big_t: f64) -> f64;
}

impl TransactionModel for BgNbd {
    fn expected_purchases(&self, t: f64, x: f64, t_x: f64, big_t: f64) -> f64 {
        BgNbd::expected_purchases(self, t, x, t_x, big_t)
    }
}

impl TransactionModel for ParetoNbd {
    fn expected_purchases(&self, t: f64, x: f64, t_x: f64, big_t: f64) -> f64 {
        ParetoNbd::expected_purchases(self, t, x, t_x, big_t)
    }
}

/// Horizon, discounting and margin for [`customer_lifetime_value`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClvOptions {
    /// Number of monthly steps (lifetimes' `time`, default 12).
    pub months: u32,
    /// Monthly discount rate d (lifetimes' `discount_rate`, default 0.01).
    pub monthly_discount_rate: f64,
    /// Share of spend kept as profit (1.0 reproduces lifetimes).
    pub margin: f64,
    /// Model time units per month: 30 for days, 4.345 for weeks, 1 for
    /// months (lifetimes' `factor` table).
    pub periods_per_month: f64,
}

impl ClvOptions {
    /// lifetimes' defaults (12 months, 1% a month, margin 1) for a period unit.
    pub fn for_period(period: Period) -> Self {
        let periods_per_month = match period {
            Period::Day => 30.0,
            Period::Week => 4.345,
            Period::Month => 1.0,
        };
        Self {
            months: 12,
            monthly_discount_rate: 0.01,
            margin: 1.0,
            periods_per_month,
        }
    }

    fn validate(&self) -> Result<(), ClvError> {
        let ok = self.monthly_discount_rate > -1.0
            && self.monthly_discount_rate.is_finite()
            && self.margin.is_finite()
            && self.periods_per_month > 0.0
            && self.periods_per_month.is_finite();
        if ok {
            Ok(())
        } else {
            Err(ClvError::InvalidArgument(format!(
                "invalid CLV options {self:?}"
            )))
        }
    }
}

/// CLV = margin · Σ_{i=1}^{months} spend · (E[Y(i f)] − E[Y((i−1) f)]) / (1+d)^i
///
/// where f = `periods_per_month`, E[Y(t)] the model's conditional expected
/// purchases in the next t periods and `spend` the expected value per
/// purchase (e.g. [`GammaGamma::expected_average_spend`]). Each month's
/// expected purchases are discounted at the end of that month, exactly as
/// lifetimes does. Arguments are not validated (NaN propagates); use
/// [`customer_lifetime_values`] for validated batches.
pub fn customer_lifetime_value<M: TransactionModel + ?Sized>(
    model: &M,
    spend: f64,
    x: f64,
    t_x: f64,
    big_t: f64,
    opts: &ClvOptions,
) -> f64 {
    let f = opts.periods_per_month;
    let mut prev = 0.0;
    let mut total = 0.0;
    for i in 1..=opts.months {
        let cum = model.expected_purchases(f64::from(i) * f, x, t_x, big_t);
        total += spend * (cum - prev) / (1.0 + opts.monthly_discount_rate).powi(i as i32);
        prev = cum;
    }
    opts.margin * total
}

/// CLV of every row with spend from the Gamma-Gamma conditional expectation
/// (lifetimes' `GammaGammaFitter.customer_lifetime_value`), in parallel.
pub fn customer_lifetime_values<M: TransactionModel + ?Sized>(
    model: &M,
    spend_model: &GammaGamma,
    data: &[RfmRow],
    opts: &ClvOptions,
) -> Result<Vec<f64>, ClvError> {
    validate_rfm(data)?;
    opts.validate()?;
    Ok(data
        .par_iter()
        .with_min_len(1024)
        .map(|r| {
            let spend = spend_model.expected_average_spend(r.frequency, r.monetary_value);
            customer_lifetime_value(model, spend, r.frequency, r.recency, r.t, opts)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undiscounted_clv_is_spend_times_expected_purchases() {
        let m = BgNbd::new(0.243, 4.414, 0.793, 2.426).expect("valid");
        let opts = ClvOptions {
            monthly_discount_rate: 0.0,
            margin: 0.3,
            ..ClvOptions::for_period(Period::Week)
        };
        let clv = customer_lifetime_value(&m, 20.0, 2.0, 30.43, 38.86, &opts);
        let e = m.expected_purchases(12.0 * 4.345, 2.0, 30.43, 38.86);
        assert!((clv - 0.3 * 20.0 * e).abs() < 1e-10);
        let discounted = customer_lifetime_value(
            &m,
            20.0,
            2.0,
            30.43,
            38.86,
            &ClvOptions::for_period(Period::Week),
        );
        assert!(discounted < clv / 0.3 && discounted > 0.8 * clv / 0.3);
    }

    #[test]
    fn batch_rejects_bad_rows_and_options() {
        let m = BgNbd::new(0.243, 4.414, 0.793, 2.426).expect("valid");
        let gg = GammaGamma::new(6.25, 3.74, 15.44).expect("valid");
        let good = [RfmRow::new(1.0, 2.0, 5.0, 10.0)];
        let bad = [RfmRow::new(1.0, 6.0, 5.0, 10.0)];
        let opts = ClvOptions::for_period(Period::Week);
        assert!(customer_lifetime_values(&m, &gg, &good, &opts).is_ok());
        assert!(customer_lifetime_values(&m, &gg, &bad, &opts).is_err());
        let neg = ClvOptions {
            periods_per_month: 0.0,
            ..opts
        };
        assert!(customer_lifetime_values(&m, &gg, &good, &neg).is_err());
    }
}
