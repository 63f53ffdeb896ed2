//! Shifted-beta-geometric (sBG) contractual churn model: Fader & Hardie
//! (2007), "How to Project Customer Retention", Journal of Interactive
//! Marketing 21(1); DERL from Fader & Hardie (2010), "Customer-Base
//! Valuation in a Contractual Setting: The Perils of Ignoring
//! Heterogeneity", Marketing Science 29(1).
//!
//! Each customer churns at the end of any period with probability θ,
//! θ ~ Beta(α, β). With T the period in which the customer churns:
//!
//! * P(T = t) = B(α+1, β+t−1) / B(α, β)           (FH 2007 eq. 4)
//! * S(t)     = B(α, β+t) / B(α, β)                (eq. 5)
//! * r(t)     = S(t)/S(t−1) = (β+t−1)/(α+β+t−1)    (eq. 8)

use std::collections::HashMap;

use super::error::ClvError;
use super::optimize::{FitDiagnostics, FitOptions, FitProblem, fit_problem};
use super::special::{digamma, hyp2f1_unit_a_with_grad, ln_beta};

/// One customer (or `weight` identical customers) of a cohort: either
/// churned in period `period` (≥ 1), or still active after `period` periods.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SbgObservation {
    pub period: u32,
    pub churned: bool,
    pub weight: f64,
}

impl SbgObservation {
    /// pymc-marketing's individual-data convention: `recency` is the last
    /// period the customer was active and `t` the number of periods plus
    /// one; recency < T means they churned in period `recency`, recency = T
    /// means they were still active after T − 1 periods.
    pub fn from_recency(recency: u32, t: u32) -> Result<Self, ClvError> {
        if recency == 0 || recency > t {
            return Err(ClvError::InvalidArgument(format!(
                "need 1 ≤ recency ≤ T, got recency {recency}, T {t}"
            )));
        }
        Ok(if recency < t {
            Self {
                period: recency,
                churned: true,
                weight: 1.0,
            }
        } else {
            Self {
                period: t - 1,
                churned: false,
                weight: 1.0,
            }
        })
    }

    /// Aggregate cohort data: `alive[0]` customers at the start and
    /// `alive[t]` still active after t periods (FH 2007 Table 1 layout).
    pub fn from_survivors(alive: &[f64]) -> Result<Vec<Self>, ClvError> {
        if alive.len() < 2 {
            return Err(ClvError::EmptyData(
                "need the initial count and at least one period",
            ));
        }
        let mut out = Vec::with_capacity(alive.len());
        for (t, pair) in alive.windows(2).enumerate() {
            let lost = pair[0] - pair[1];
            if !(pair[1] >= 0.0 && lost >= 0.0 && pair[0].is_finite()) {
                return Err(ClvError::InvalidRow {
                    row: t + 1,
                    message: format!(
                        "survivor counts must be finite and non-increasing, got {} then {}",
                        pair[0], pair[1]
                    ),
                });
            }
            out.push(Self {
                period: t as u32 + 1,
                churned: true,
                weight: lost,
            });
        }
        let last = alive.len() as u32 - 1;
        out.push(Self {
            period: last,
            churned: false,
            weight: alive[alive.len() - 1],
        });
        Ok(out)
    }
}

/// Fitted (or given) sBG parameters of one cohort.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShiftedBetaGeometric {
    pub alpha: f64,
    pub beta: f64,
}

impl ShiftedBetaGeometric {
    pub const PARAM_NAMES: [&'static str; 2] = ["alpha", "beta"];

    pub fn new(alpha: f64, beta: f64) -> Result<Self, ClvError> {
        super::bgnbd::check_positive(&[("alpha", alpha), ("beta", beta)])?;
        Ok(Self { alpha, beta })
    }

    /// Maximum-likelihood fit on one cohort.
    pub fn fit(
        data: &[SbgObservation],
        opts: &FitOptions,
    ) -> Result<(Self, FitDiagnostics), ClvError> {
        let problem = SbgProblem::build(data)?;
        let (lp, mut diag) = fit_problem(&problem, opts)?;
        let mut g = [0.0; 2];
        diag.log_likelihood = problem.log_lik_grad(&lp, &mut g);
        Ok((
            Self {
                alpha: lp[0].exp(),
                beta: lp[1].exp(),
            },
            diag,
        ))
    }

    pub fn log_likelihood(&self, data: &[SbgObservation]) -> Result<f64, ClvError> {
        let problem = SbgProblem::build(data)?;
        let mut g = [0.0; 2];
        Ok(problem.log_lik_grad(&[self.alpha.ln(), self.beta.ln()], &mut g))
    }

    pub fn params(&self) -> Vec<(&'static str, f64)> {
        Self::PARAM_NAMES
            .into_iter()
            .zip([self.alpha, self.beta])
            .collect()
    }

    /// P(T = t): churn in period t ≥ 1.
    pub fn churn_probability(&self, t: u32) -> f64 {
        if t == 0 {
            return 0.0;
        }
        let tf = f64::from(t);
        (ln_beta(self.alpha + 1.0, self.beta + tf - 1.0) - ln_beta(self.alpha, self.beta)).exp()
    }

    /// S(t): still active after t periods (S(0) = 1).
    pub fn survival(&self, t: u32) -> f64 {
        (ln_beta(self.alpha, self.beta + f64::from(t)) - ln_beta(self.alpha, self.beta)).exp()
    }

    /// r(t) = S(t)/S(t−1): the retention rate in period t ≥ 1 (rises with t
    /// as the cohort sheds its high-churn members).
    pub fn retention_rate(&self, t: u32) -> f64 {
        if t == 0 {
            return 1.0;
        }
        let tf = f64::from(t);
        (self.beta + tf - 1.0) / (self.alpha + self.beta + tf - 1.0)
    }

    /// S(0), S(1), …, S(periods).
    pub fn survival_curve(&self, periods: u32) -> Vec<f64> {
        let mut s = 1.0;
        let mut out = vec![1.0];
        for t in 1..=periods {
            s *= self.retention_rate(t);
            out.push(s);
        }
        out
    }

    /// r(1), …, r(periods).
    pub fn retention_curve(&self, periods: u32) -> Vec<f64> {
        (1..=periods).map(|t| self.retention_rate(t)).collect()
    }

    /// Discounted expected residual lifetime (FH 2010 eq. 6) of a customer
    /// who has made `renewals` = n−1 renewals, valued just before the next
    /// renewal decision, with per-period discount rate `discount`:
    ///
    /// DERL = Σ_{t≥n} S(t)/S(n−1) (1+d)^−(t−n)
    ///      = B(α, β+n)/B(α, β+n−1) · ₂F₁(1, β+n; α+β+n; 1/(1+d)).
    ///
    /// Multiply by the margin per period for the residual value. At d = 0
    /// it is (β+n−1)/(α−1) when α > 1 and infinite otherwise. NaN for
    /// d < 0 or d so small (< ~2e-5) that the series does not converge.
    pub fn derl(&self, discount: f64, renewals: u32) -> f64 {
        let n = f64::from(renewals) + 1.0;
        let (a, b) = (self.alpha, self.beta);
        if !(discount >= 0.0 && discount.is_finite()) {
            return f64::NAN;
        }
        if discount == 0.0 {
            return if a > 1.0 {
                (b + n - 1.0) / (a - 1.0)
            } else {
                f64::INFINITY
            };
        }
        let ratio = (ln_beta(a, b + n) - ln_beta(a, b + n - 1.0)).exp();
        ratio * hyp2f1_unit_a_with_grad(b + n, a + b + n, 1.0 / (1.0 + discount))[0]
    }
}

/// Observations merged by (period, churned).
struct SbgProblem {
    rows: Vec<SbgObservation>,
    total_weight: f64,
}

impl SbgProblem {
    fn build(data: &[SbgObservation]) -> Result<Self, ClvError> {
        let mut merged: HashMap<(u32, bool), f64> = HashMap::new();
        for (i, o) in data.iter().enumerate() {
            if !o.weight.is_finite() {
                return Err(ClvError::NonFinite {
                    row: i,
                    field: "weight",
                    value: o.weight,
                });
            }
            if o.weight < 0.0 {
                return Err(ClvError::InvalidRow {
                    row: i,
                    message: format!("weight must be ≥ 0, got {}", o.weight),
                });
            }
            if o.churned && o.period == 0 {
                return Err(ClvError::InvalidRow {
                    row: i,
                    message: "churn period must be ≥ 1".into(),
                });
            }
            if o.weight > 0.0 {
                *merged.entry((o.period, o.churned)).or_insert(0.0) += o.weight;
            }
        }
        let mut rows: Vec<SbgObservation> = merged
            .into_iter()
            .map(|((period, churned), weight)| SbgObservation {
                period,
                churned,
                weight,
            })
            .collect();
        // Fixed order so the summed likelihood is bit-reproducible.
        rows.sort_by_key(|o| (o.period, o.churned));
        let total_weight: f64 = rows.iter().map(|o| o.weight).sum();
        if total_weight <= 0.0 {
            return Err(ClvError::EmptyData(
                "no sBG observations with positive weight",
            ));
        }
        Ok(Self { rows, total_weight })
    }
}

impl FitProblem for SbgProblem {
    const PARAM_NAMES: &'static [&'static str] = &ShiftedBetaGeometric::PARAM_NAMES;

    fn total_weight(&self) -> f64 {
        self.total_weight
    }

    fn rows(&self) -> usize {
        self.rows.len()
    }

    fn starting_points(&self) -> Vec<Vec<f64>> {
        vec![vec![0.0, 0.0], vec![-1.0, 1.0]]
    }

    fn log_lik_grad(&self, lp: &[f64], grad: &mut [f64]) -> f64 {
        let (a, b) = (lp[0].exp(), lp[1].exp());
        let lb = ln_beta(a, b);
        let (dg_a, dg_b, dg_ab) = (digamma(a), digamma(b), digamma(a + b));
        let (mut ll, mut ga, mut gb) = (0.0, 0.0, 0.0);
        for o in &self.rows {
            let t = f64::from(o.period);
            let w = o.weight;
            if o.churned {
                // ln B(α+1, β+t−1) − ln B(α, β)
                ll += w * (ln_beta(a + 1.0, b + t - 1.0) - lb);
                let dg_end = digamma(a + b + t);
                ga += w * (digamma(a + 1.0) - dg_end - dg_a + dg_ab);
                gb += w * (digamma(b + t - 1.0) - dg_end - dg_b + dg_ab);
            } else {
                // ln B(α, β+t) − ln B(α, β)
                ll += w * (ln_beta(a, b + t) - lb);
                let dg_end = digamma(a + b + t);
                ga += w * (dg_ab - dg_end);
                gb += w * (digamma(b + t) - dg_end - dg_b + dg_ab);
            }
        }
        grad[0] = ga * a;
        grad[1] = gb * b;
        ll
    }
}

#[cfg(test)]
#[path = "sbg_tests.rs"]
mod tests;
