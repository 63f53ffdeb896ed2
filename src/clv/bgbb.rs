//! BG/BB discrete-time model: Fader, Hardie & Shang (2010), "Customer-Base
//! Analysis in a Discrete-Time Noncontractual Setting", Marketing Science
//! 29(6).
//!
//! In each of n transaction opportunities an active customer transacts with
//! probability p ~ Beta(α, β), and becomes inactive at the start of a
//! period with probability θ ~ Beta(γ, δ). Individual likelihood (eq. 5):
//!
//! L = B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
//!   + Σ_{i=0}^{n−tₓ−1} B(α+x, β+tₓ−x+i)/B(α,β) · B(γ+1, δ+tₓ+i)/B(γ,δ).
//!
//! Data usually come aggregated as (x, tₓ, n) patterns with counts, which
//! the weights carry.

use super::bgbb_likelihood::{BgBbProblem, ll_pattern, pattern_error};
use super::error::ClvError;
use super::optimize::{FitDiagnostics, FitOptions, FitProblem, fit_problem};
use super::special::{ln_beta, ln_gamma};

/// A (frequency, recency, opportunities) pattern shared by `weight` customers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgBbRow {
    pub frequency: u32,
    pub recency: u32,
    pub n_periods: u32,
    pub weight: f64,
}

/// Fitted (or given) BG/BB parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BetaGeometricBetaBinomial {
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    pub delta: f64,
}

impl BetaGeometricBetaBinomial {
    pub const PARAM_NAMES: [&'static str; 4] = ["alpha", "beta", "gamma", "delta"];

    pub fn new(alpha: f64, beta: f64, gamma: f64, delta: f64) -> Result<Self, ClvError> {
        super::bgnbd::check_positive(&[
            ("alpha", alpha),
            ("beta", beta),
            ("gamma", gamma),
            ("delta", delta),
        ])?;
        Ok(Self {
            alpha,
            beta,
            gamma,
            delta,
        })
    }

    pub fn fit(data: &[BgBbRow], opts: &FitOptions) -> Result<(Self, FitDiagnostics), ClvError> {
        let problem = BgBbProblem::build(data)?;
        let (lp, mut diag) = fit_problem(&problem, opts)?;
        let mut g = [0.0; 4];
        diag.log_likelihood = problem.log_lik_grad(&lp, &mut g);
        let m = Self {
            alpha: lp[0].exp(),
            beta: lp[1].exp(),
            gamma: lp[2].exp(),
            delta: lp[3].exp(),
        };
        Ok((m, diag))
    }

    pub fn log_likelihood(&self, data: &[BgBbRow]) -> Result<f64, ClvError> {
        let problem = BgBbProblem::build(data)?;
        let mut g = [0.0; 4];
        let lp = [
            self.alpha.ln(),
            self.beta.ln(),
            self.gamma.ln(),
            self.delta.ln(),
        ];
        Ok(problem.log_lik_grad(&lp, &mut g))
    }

    pub fn params(&self) -> Vec<(&'static str, f64)> {
        Self::PARAM_NAMES
            .into_iter()
            .zip([self.alpha, self.beta, self.gamma, self.delta])
            .collect()
    }

    /// ln L for one pattern (NaN for an invalid pattern).
    pub fn individual_log_likelihood(&self, x: u32, t_x: u32, n: u32) -> f64 {
        if pattern_error(x, t_x, n).is_some() {
            return f64::NAN;
        }
        let mut g = [0.0; 4];
        ll_pattern(self, f64::from(x), f64::from(t_x), f64::from(n), &mut g)
    }

    /// P(alive in period n + m | x, tₓ, n); m = 1 is FHS eq. 11.
    pub fn p_alive(&self, m: u32, x: u32, t_x: u32, n: u32) -> f64 {
        let ll = self.individual_log_likelihood(x, t_x, n);
        let (x, n, m) = (f64::from(x), f64::from(n), f64::from(m));
        let num = ln_beta(self.alpha + x, self.beta + n - x) - ln_beta(self.alpha, self.beta)
            + ln_beta(self.gamma, self.delta + n + m)
            - ln_beta(self.gamma, self.delta);
        (num - ll).exp()
    }

    /// E[X(n, n+n*) | x, tₓ, n], expected transactions in the next n*
    /// opportunities (FHS eq. 13), evaluated as the finite sum
    /// B(α+x+1, β+n−x)/B(α,β) · Σ_{k=1}^{n*} B(γ, δ+n+k)/B(γ,δ) / L, which
    /// equals eq. 13's closed form but has no 0/0 at γ = 1.
    pub fn expected_transactions(&self, n_star: u32, x: u32, t_x: u32, n: u32) -> f64 {
        let ll = self.individual_log_likelihood(x, t_x, n);
        let (xf, nf) = (f64::from(x), f64::from(n));
        let lead =
            ln_beta(self.alpha + xf + 1.0, self.beta + nf - xf) - ln_beta(self.alpha, self.beta);
        (lead - ll).exp() * self.alive_sum(nf, n_star)
    }

    /// Σ_{k=1}^{K} B(γ, δ+n+k)/B(γ,δ) via B(γ, d+1)/B(γ, d) = d/(γ+d).
    fn alive_sum(&self, n: f64, k_max: u32) -> f64 {
        let mut term =
            (ln_beta(self.gamma, self.delta + n) - ln_beta(self.gamma, self.delta)).exp();
        let mut sum = 0.0;
        for k in 1..=k_max {
            let d = self.delta + n + f64::from(k) - 1.0;
            term *= d / (self.gamma + d);
            sum += term;
        }
        sum
    }

    /// E[X(n)] for a new customer (FHS eq. 9 as a sum):
    /// α/(α+β) · Σ_{k=1}^{n} B(γ, δ+k)/B(γ,δ).
    pub fn expected_transactions_unconditional(&self, n: u32) -> f64 {
        self.alpha / (self.alpha + self.beta) * self.alive_sum(0.0, n)
    }

    /// P(X(n) = x) for a new customer (FHS eq. 7).
    pub fn prob_n_transactions(&self, n: u32, x: u32) -> f64 {
        if x > n {
            return 0.0;
        }
        let (a, b, g, d) = (self.alpha, self.beta, self.gamma, self.delta);
        let (xf, nf) = (f64::from(x), f64::from(n));
        let ln_choose =
            |n: f64, k: f64| ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0);
        let (lb_ab, lb_gd) = (ln_beta(a, b), ln_beta(g, d));
        let mut p = (ln_choose(nf, xf) + ln_beta(a + xf, b + nf - xf) - lb_ab + ln_beta(g, d + nf)
            - lb_gd)
            .exp();
        for i in x..n {
            let i = f64::from(i);
            p += (ln_choose(i, xf) + ln_beta(a + xf, b + i - xf) - lb_ab + ln_beta(g + 1.0, d + i)
                - lb_gd)
                .exp();
        }
        p
    }
}

#[cfg(test)]
#[path = "bgbb_tests.rs"]
mod tests;
