//! BG/NBD: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy
//! Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2).
//!
//! While active a customer buys as a Poisson process with rate λ ~
//! Gamma(r, α); after each purchase they drop out with probability p ~
//! Beta(a, b). Individual likelihood (FHL eq. 6):
//!
//! L = B(a, b+x)/B(a, b) · Γ(r+x) αʳ / (Γ(r) (α+T)^(r+x))
//!   + [x > 0] B(a+1, b+x−1)/B(a, b) · Γ(r+x) αʳ / (Γ(r) (α+tₓ)^(r+x)).

use rayon::prelude::*;

use super::bgnbd_likelihood::BgNbdProblem;
use super::error::ClvError;
use super::optimize::{FitDiagnostics, FitOptions, fit_problem};
use super::rfm::{RfmColumns, RfmRow, validate_rfm};
use super::special::{ln_beta, ln_gamma};

/// Fitted (or given) BG/NBD parameters, rates in the data's time unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

/// P(alive) and expected purchases over a horizon for one customer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CustomerScore {
    pub p_alive: f64,
    pub expected_purchases: f64,
}

impl BgNbd {
    pub const PARAM_NAMES: [&'static str; 4] = ["r", "alpha", "a", "b"];

    /// Parameters must be finite and positive.
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self, ClvError> {
        check_positive(&[("r", r), ("alpha", alpha), ("a", a), ("b", b)])?;
        Ok(Self { r, alpha, a, b })
    }

    /// Maximum-likelihood fit (lifetimes' objective and time rescaling).
    pub fn fit(data: &[RfmRow], opts: &FitOptions) -> Result<(Self, FitDiagnostics), ClvError> {
        validate_rfm(data)?;
        let problem = BgNbdProblem {
            cols: RfmColumns::build(data),
        };
        let (lp, mut diag) = fit_problem(&problem, opts)?;
        let scale = problem.cols.scale;
        let model = Self {
            r: lp[0].exp(),
            alpha: lp[1].exp() / scale,
            a: lp[2].exp(),
            b: lp[3].exp(),
        };
        diag.std_errors[1] /= scale;
        diag.log_likelihood = problem.log_likelihood_original_units(&lp);
        Ok((model, diag))
    }

    /// Σ wᵢ ln Lᵢ in the data's time unit.
    pub fn log_likelihood(&self, data: &[RfmRow]) -> Result<f64, ClvError> {
        validate_rfm(data)?;
        let problem = BgNbdProblem {
            cols: RfmColumns::build(data),
        };
        let s = problem.cols.scale;
        let lp = [self.r.ln(), (self.alpha * s).ln(), self.a.ln(), self.b.ln()];
        Ok(problem.log_likelihood_original_units(&lp))
    }

    pub fn params(&self) -> Vec<(&'static str, f64)> {
        Self::PARAM_NAMES
            .into_iter()
            .zip([self.r, self.alpha, self.a, self.b])
            .collect()
    }

    /// P(alive at T | x, tₓ, T) (FHL eq. 11):
    /// 1 / (1 + [x>0] a/(b+x−1) · ((α+T)/(α+tₓ))^(r+x)). NaN outside the domain.
    pub fn p_alive(&self, x: f64, t_x: f64, big_t: f64) -> f64 {
        if !history_ok(x, t_x, big_t) {
            return f64::NAN;
        }
        if x == 0.0 {
            return 1.0;
        }
        let log_odds = (self.r + x) * ((self.alpha + big_t) / (self.alpha + t_x)).ln()
            + (self.a / (self.b + x - 1.0)).ln();
        1.0 / (1.0 + log_odds.exp())
    }

    /// E[X(t)] for a customer chosen at random at time 0 (FHL eq. 7):
    /// (a+b−1)/(a−1) · [1 − (α/(α+t))ʳ ₂F₁(r, b; a+b−1; t/(α+t))].
    pub fn expected_purchases_unconditional(&self, t: f64) -> f64 {
        if !(t >= 0.0 && t.is_finite()) {
            return f64::NAN;
        }
        (self.a + self.b - 1.0) * purchases_bracket(self.r, self.b, self.a, t / (self.alpha + t))
    }

    /// E[Y(t) | x, tₓ, T]: expected purchases in (T, T+t] (FHL eq. 10):
    ///
    /// (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
    ///   / (1 + [x>0] a/(b+x−1) ((α+T)/(α+tₓ))^(r+x)).
    ///
    /// Evaluated through [`purchases_bracket`], which has no 0/0 at a = 1.
    pub fn expected_purchases(&self, t: f64, x: f64, t_x: f64, big_t: f64) -> f64 {
        if !(history_ok(x, t_x, big_t) && t >= 0.0 && t.is_finite()) {
            return f64::NAN;
        }
        let z = t / (self.alpha + big_t + t);
        let num =
            (self.a + self.b + x - 1.0) * purchases_bracket(self.r + x, self.b + x, self.a, z);
        num * self.p_alive(x, t_x, big_t)
    }

    /// P(X(t) = n) for a customer chosen at random at time 0 (FHL eq. 8).
    pub fn prob_n_purchases(&self, t: f64, n: u32) -> f64 {
        if !(t >= 0.0 && t.is_finite()) {
            return f64::NAN;
        }
        let Self { r, alpha, a, b } = *self;
        let nf = f64::from(n);
        let ln_p = (alpha / (alpha + t)).ln();
        let q = t / (alpha + t);
        let nb = |j: f64| nb_pmf_ln(r, ln_p, q, j).exp();
        let first = (ln_beta(a, b + nf) - ln_beta(a, b)).exp() * nb(nf);
        if n == 0 {
            return first;
        }
        let tail = nb_tail(r, ln_p, q, n);
        first + (ln_beta(a + 1.0, b + nf - 1.0) - ln_beta(a, b)).exp() * tail
    }

    /// P(alive) and E[purchases in the next `horizon`] for every row, in
    /// parallel. Validates the rows first.
    pub fn score(&self, data: &[RfmRow], horizon: f64) -> Result<Vec<CustomerScore>, ClvError> {
        validate_rfm(data)?;
        if !(horizon >= 0.0 && horizon.is_finite()) {
            return Err(ClvError::InvalidArgument(format!(
                "horizon must be ≥ 0, got {horizon}"
            )));
        }
        Ok(data
            .par_iter()
            .with_min_len(4096)
            .map(|row| CustomerScore {
                p_alive: self.p_alive(row.frequency, row.recency, row.t),
                expected_purchases: self.expected_purchases(
                    horizon,
                    row.frequency,
                    row.recency,
                    row.t,
                ),
            })
            .collect())
    }
}

pub(crate) fn check_positive(params: &[(&str, f64)]) -> Result<(), ClvError> {
    for (name, v) in params {
        if !(v.is_finite() && *v > 0.0) {
            return Err(ClvError::InvalidArgument(format!(
                "{name} must be finite and > 0, got {v}"
            )));
        }
    }
    Ok(())
}

/// The history arguments of a prediction: 0 ≤ tₓ ≤ T, x ≥ 0, all finite.
pub(crate) fn history_ok(x: f64, t_x: f64, big_t: f64) -> bool {
    x.is_finite() && t_x.is_finite() && big_t.is_finite() && x >= 0.0 && t_x >= 0.0 && t_x <= big_t
}

/// ln of the NB pmf Γ(r+j)/(Γ(r) j!) pʳ qʲ, with ln p given.
fn nb_pmf_ln(r: f64, ln_p: f64, q: f64, j: f64) -> f64 {
    ln_gamma(r + j) - ln_gamma(r) - ln_gamma(j + 1.0) + r * ln_p + j * q.ln()
}

/// P(N ≥ n) for N ~ NB(r, p): 1 − CDF while the CDF is small, else the
/// upper tail summed directly so a tail near 0 is not lost to cancellation.
fn nb_tail(r: f64, ln_p: f64, q: f64, n: u32) -> f64 {
    if q == 0.0 {
        return 0.0;
    }
    let mut cdf = 0.0;
    let mut term = (r * ln_p).exp();
    for j in 0..n {
        cdf += term;
        term *= (r + f64::from(j)) / (f64::from(j) + 1.0) * q;
    }
    if cdf < 0.5 {
        return 1.0 - cdf;
    }
    let mut term = nb_pmf_ln(r, ln_p, q, f64::from(n)).exp();
    let mut tail = 0.0;
    for j in n..n.saturating_add(10_000_000) {
        tail += term;
        let ratio = (r + f64::from(j)) / (f64::from(j) + 1.0) * q;
        term *= ratio;
        let bound = ratio.max(q);
        if bound < 1.0 && term * bound / (1.0 - bound) <= 1e-17 * tail {
            break;
        }
    }
    tail
}

/// [1 − (1−z)^R ₂F₁(R, B; a+B−1; z)] / (a − 1), continuous through a = 1.
///
/// Euler's transformation with c = a+B−1 gives c−B = a−1, so
/// (1−z)^R ₂F₁(R, B; c; z) = (1−z)^(a−1) [1 + (a−1) G] with
/// G = Σₙ≥₁ (c−R)ₙ (a)ₙ₋₁ / ((c)ₙ n!) zⁿ, and the bracket becomes
/// −expm1((a−1) ln(1−z))/(a−1) − (1−z)^(a−1) G: no cancellation at a = 1,
/// and G's terms shrink like n^(a−R−2) zⁿ.
pub(crate) fn purchases_bracket(rr: f64, bb: f64, a: f64, z: f64) -> f64 {
    if !(0.0..1.0).contains(&z) {
        return f64::NAN;
    }
    let c = a + bb - 1.0;
    let l = (-z).ln_1p();
    let am1 = a - 1.0;
    let u = am1 * l;
    let first = if u.abs() < 1e-8 {
        -l * (1.0 + 0.5 * u)
    } else {
        -u.exp_m1() / am1
    };
    let p = c - rr;
    let mut term = p / c * z;
    let mut g = term;
    let mut n = 1.0;
    loop {
        let ratio = (p + n) * (a + n - 1.0) / ((c + n) * (n + 1.0)) * z;
        term *= ratio;
        g += term;
        let bound = ratio.abs().max(z);
        if bound < 1.0 && term.abs() * bound / (1.0 - bound) <= 1e-17 * g.abs() {
            break;
        }
        if n > 5e6 || !g.is_finite() {
            return f64::NAN;
        }
        n += 1.0;
    }
    first - u.exp() * g
}

#[cfg(test)]
#[path = "bgnbd_tests.rs"]
mod tests;
