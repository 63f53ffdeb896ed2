//! Pareto/NBD: Schmittlein, Morrison & Colombo (1987), "Counting Your
//! Customers: Who Are They and What Will They Do Next?", Management Science
//! 33(1); likelihood as in Fader & Hardie (2005), "A Note on Deriving the
//! Pareto/NBD Model and Related Expressions".
//!
//! Purchases: Poisson(λ), λ ~ Gamma(r, α); lifetime: Exp(μ), μ ~ Gamma(s, β).
//!
//! L = Γ(r+x) αʳ βˢ / Γ(r) · [ 1/((α+T)^(r+x) (β+T)ˢ) + s/(r+s+x) · A₀ ],
//! A₀ = F(tₓ) − F(T), F(t) = ₂F₁(r+s+x, b; r+s+x+1; |α−β|/(M+t)) / (M+t)^(r+s+x)
//! with M = max(α, β) and b = s+1 if α ≥ β, b = r+x otherwise, which keeps
//! the argument in [0, 1). The ₂F₁ is evaluated through Euler's
//! transformation ₂F₁(a, b; a+1; z) = (1−z)^(1−b) ₂F₁(1, a+1−b; a+1; z),
//! whose series has positive, geometrically shrinking terms (see
//! [`hyp2f1_unit_a_with_grad`]), and the difference A₀ in log space.
//! Gradients come from forward-mode dual numbers.

use super::dual::{Dual, log_add_exp};
use super::error::ClvError;
use super::optimize::{
    COSTLY_CHUNK, FitDiagnostics, FitOptions, FitProblem, chunked_sum, fit_problem,
};
use super::rfm::{RfmColumns, RfmRow, validate_rfm};
use super::special::{gauss_legendre, hyp2f1_unit_a_with_grad, ln_gamma};

type D4 = Dual<4>;

/// Fitted (or given) Pareto/NBD parameters, rates in the data's time unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParetoNbd {
    pub r: f64,
    pub alpha: f64,
    pub s: f64,
    pub beta: f64,
}

impl ParetoNbd {
    pub const PARAM_NAMES: [&'static str; 4] = ["r", "alpha", "s", "beta"];

    pub fn new(r: f64, alpha: f64, s: f64, beta: f64) -> Result<Self, ClvError> {
        super::bgnbd::check_positive(&[("r", r), ("alpha", alpha), ("s", s), ("beta", beta)])?;
        Ok(Self { r, alpha, s, beta })
    }

    /// Maximum-likelihood fit. Time is rescaled by 1/max T as in lifetimes
    /// (the penalizer applies to the rescaled α, β); the reported
    /// log-likelihood and parameters are in the data's units.
    pub fn fit(data: &[RfmRow], opts: &FitOptions) -> Result<(Self, FitDiagnostics), ClvError> {
        validate_rfm(data)?;
        let problem = PnbdProblem {
            cols: RfmColumns::build(data),
        };
        let (lp, mut diag) = fit_problem(&problem, opts)?;
        let scale = problem.cols.scale;
        let model = Self {
            r: lp[0].exp(),
            alpha: lp[1].exp() / scale,
            s: lp[2].exp(),
            beta: lp[3].exp() / scale,
        };
        diag.std_errors[1] /= scale;
        diag.std_errors[3] /= scale;
        diag.log_likelihood = problem.log_likelihood_original_units(&lp);
        Ok((model, diag))
    }

    /// Σ wᵢ ln Lᵢ in the data's time unit.
    pub fn log_likelihood(&self, data: &[RfmRow]) -> Result<f64, ClvError> {
        validate_rfm(data)?;
        let problem = PnbdProblem {
            cols: RfmColumns::build(data),
        };
        let s = problem.cols.scale;
        let lp = [
            self.r.ln(),
            (self.alpha * s).ln(),
            self.s.ln(),
            (self.beta * s).ln(),
        ];
        Ok(problem.log_likelihood_original_units(&lp))
    }

    pub fn params(&self) -> Vec<(&'static str, f64)> {
        Self::PARAM_NAMES
            .into_iter()
            .zip([self.r, self.alpha, self.s, self.beta])
            .collect()
    }

    fn consts(&self) -> [D4; 4] {
        [
            D4::cst(self.r),
            D4::cst(self.alpha),
            D4::cst(self.s),
            D4::cst(self.beta),
        ]
    }

    /// P(alive at T | x, tₓ, T) = 1 / (1 + s/(r+s+x) (α+T)^(r+x) (β+T)ˢ A₀).
    pub fn p_alive(&self, x: f64, t_x: f64, big_t: f64) -> f64 {
        if !super::bgnbd::history_ok(x, t_x, big_t) {
            return f64::NAN;
        }
        let [r, alpha, s, beta] = self.consts();
        let ln_a0 = ln_a0(r, alpha, s, beta, x, t_x, big_t).v;
        if ln_a0 == f64::NEG_INFINITY {
            return 1.0;
        }
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let log_odds = (s / (r + s + x)).ln()
            + (r + x) * (alpha + big_t).ln()
            + s * (beta + big_t).ln()
            + ln_a0;
        1.0 / (1.0 + log_odds.exp())
    }

    /// E[Y(t) | x, tₓ, T] = P(alive) · (r+x)(β+T) / ((α+T)(s−1)) ·
    /// [1 − ((β+T)/(β+T+t))^(s−1)] (Schmittlein et al. 1987 eq. 22), with
    /// the s = 1 limit handled by expm1.
    pub fn expected_purchases(&self, t: f64, x: f64, t_x: f64, big_t: f64) -> f64 {
        if !(t >= 0.0 && t.is_finite()) {
            return f64::NAN;
        }
        let pa = self.p_alive(x, t_x, big_t);
        let l = ((self.beta + big_t) / (self.beta + big_t + t)).ln();
        pa * (self.r + x) * (self.beta + big_t) / (self.alpha + big_t)
            * one_minus_pow_over(self.s - 1.0, l)
    }

    /// E[X(t)] for a new customer: rβ/(α(s−1)) [1 − (β/(β+t))^(s−1)].
    pub fn expected_purchases_unconditional(&self, t: f64) -> f64 {
        if !(t >= 0.0 && t.is_finite()) {
            return f64::NAN;
        }
        let l = (self.beta / (self.beta + t)).ln();
        self.r / self.alpha * self.beta * one_minus_pow_over(self.s - 1.0, l)
    }

    /// P(X(t) = n) for a new customer, from the mixture over the death time τ:
    /// NB(n; τ=t) (β/(β+t))ˢ + ∫₀ᵗ s βˢ (β+τ)^−(s+1) NB(n; τ) dτ, where
    /// NB(n; τ) = Γ(r+n)/(Γ(r) n!) (α/(α+τ))ʳ (τ/(α+τ))ⁿ. The integral is
    /// done by Gauss–Legendre in u = ln(1 + τ/min(α, β)), where the power
    /// laws are smooth (accuracy ~1e-12, checked by Σₙ P = 1 in the tests).
    pub fn prob_n_purchases(&self, t: f64, n: u32) -> f64 {
        if !(t >= 0.0 && t.is_finite()) {
            return f64::NAN;
        }
        let Self { r, alpha, s, beta } = *self;
        let nf = f64::from(n);
        let ln_c = ln_gamma(r + nf) - ln_gamma(r) - ln_gamma(nf + 1.0);
        let nb = |tau: f64| {
            if tau == 0.0 {
                return if n == 0 { 1.0 } else { 0.0 };
            }
            (ln_c + r * (alpha / (alpha + tau)).ln() + nf * (tau / (alpha + tau)).ln()).exp()
        };
        let survive = nb(t) * (s * (beta / (beta + t)).ln()).exp();
        if t == 0.0 {
            return survive;
        }
        let c = alpha.min(beta);
        let u_max = (t / c).ln_1p();
        let integral = gauss_legendre(0.0, u_max, 32, |u| {
            let tau = c * u.exp_m1();
            let jac = c * u.exp();
            s * (s * beta.ln() - (s + 1.0) * (beta + tau).ln()).exp() * nb(tau) * jac
        });
        survive + integral
    }
}

/// (1 − e^(c·l)) / c, continuous at c = 0 (where it is −l).
fn one_minus_pow_over(c: f64, l: f64) -> f64 {
    let u = c * l;
    if u.abs() < 1e-10 {
        -l * (1.0 + 0.5 * u)
    } else {
        -u.exp_m1() / c
    }
}

/// ln A₀ as a dual number (−∞ when tₓ = T, where A₀ = 0).
fn ln_a0(r: D4, alpha: D4, s: D4, beta: D4, x: f64, t_x: f64, big_t: f64) -> D4 {
    let a = r + s + x;
    let (big, small, b) = if alpha.v >= beta.v {
        (alpha, beta, s + 1.0)
    } else {
        (beta, alpha, r + x)
    };
    let p = a + 1.0 - b;
    let q = a + 1.0;
    let ln_f = |t: f64| -> D4 {
        let big_t = big + t;
        let z = (big - small) / big_t;
        let [sv, sp, sq, sz] = hyp2f1_unit_a_with_grad(p.v, q.v, z.v);
        let ln_s = D4::from_partials(sv.ln(), &[(sp / sv, p), (sq / sv, q), (sz / sv, z)]);
        (D4::cst(1.0) - b) * ((small + t) / big_t).ln() + ln_s - a * big_t.ln()
    };
    if t_x >= big_t {
        return D4::cst(f64::NEG_INFINITY);
    }
    let hi = ln_f(t_x);
    let lo = ln_f(big_t);
    let d = lo - hi;
    if d.v.is_nan() || d.v >= -1e-12 {
        // tₓ within rounding of T: A₀ ∝ (T − tₓ) is negligible next to the
        // first term, and the difference would be pure rounding noise.
        return D4::cst(f64::NEG_INFINITY);
    }
    hi + d.log1m_exp()
}

struct PnbdProblem {
    cols: RfmColumns,
}

impl PnbdProblem {
    /// Same Jacobian correction as BG/NBD: each purchase density scales by
    /// 1/k when time is rescaled by k.
    fn log_likelihood_original_units(&self, lp: &[f64]) -> f64 {
        let mut g = [0.0; 4];
        let ll = self.log_lik_grad(lp, &mut g);
        let sum_wx: f64 = self
            .cols
            .xs
            .iter()
            .zip(&self.cols.weight_per_x)
            .map(|(x, w)| x * w)
            .sum();
        ll + sum_wx * self.cols.scale.ln()
    }
}

impl FitProblem for PnbdProblem {
    const PARAM_NAMES: &'static [&'static str] = &ParetoNbd::PARAM_NAMES;

    fn total_weight(&self) -> f64 {
        self.cols.total_weight
    }

    fn rows(&self) -> usize {
        self.cols.len()
    }

    fn starting_points(&self) -> Vec<Vec<f64>> {
        vec![vec![0.0; 4], vec![-0.7, -1.0, -0.5, -1.0]]
    }

    fn subsample(&self, stride: usize) -> Option<Self> {
        Some(Self {
            cols: self.cols.every_nth(stride),
        })
    }

    fn log_lik_grad(&self, lp: &[f64], grad: &mut [f64]) -> f64 {
        let r = D4::var(lp[0].exp(), 0);
        let alpha = D4::var(lp[1].exp(), 1);
        let s = D4::var(lp[2].exp(), 2);
        let beta = D4::var(lp[3].exp(), 3);
        let c = &self.cols;
        let ln_alpha = alpha.ln();
        let ln_beta = beta.ln();
        let lg_r = r.ln_gamma();
        let mut total = D4::cst(0.0);
        for (&x, &w) in c.xs.iter().zip(&c.weight_per_x) {
            let a1 = (r + x).ln_gamma() - lg_r + r * ln_alpha + s * ln_beta;
            total = total + a1 * w;
        }
        let ln_s = s.ln();
        let rows = chunked_sum(c.len(), COSTLY_CHUNK, |range| {
            let mut acc = D4::cst(0.0);
            for i in range {
                let x = c.xs[c.x_idx[i] as usize];
                let (tx, t) = (c.tx[i], c.t[i]);
                let first = -((r + x) * (alpha + t).ln()) - s * (beta + t).ln();
                let ln_a0 = ln_a0(r, alpha, s, beta, x, tx, t);
                let a2 = if ln_a0.v == f64::NEG_INFINITY {
                    first
                } else {
                    log_add_exp(first, ln_s + ln_a0 - (r + s + x).ln())
                };
                acc = acc + a2 * c.w[i];
            }
            [acc.v, acc.d[0], acc.d[1], acc.d[2], acc.d[3]]
        });
        let mut out = [total.v + rows[0], 0.0, 0.0, 0.0, 0.0];
        for j in 0..4 {
            out[j + 1] = total.d[j] + rows[j + 1];
        }
        let theta = [r.v, alpha.v, s.v, beta.v];
        for j in 0..4 {
            grad[j] = out[j + 1] * theta[j];
        }
        if out.iter().any(|v| !v.is_finite()) {
            return f64::NAN;
        }
        out[0]
    }
}

#[cfg(test)]
#[path = "pnbd_tests.rs"]
mod tests;
