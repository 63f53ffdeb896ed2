//! The BG/BB log-likelihood (FHS 2010 eq. 5) with its analytic gradient,
//! and pattern validation.

use std::collections::HashMap;

use super::bgbb::{BetaGeometricBetaBinomial, BgBbRow};
use super::error::ClvError;
use super::optimize::FitProblem;
use super::special::{digamma, ln_beta};

pub(crate) fn pattern_error(x: u32, t_x: u32, n: u32) -> Option<String> {
    if n == 0 {
        return Some("n_periods must be ≥ 1".into());
    }
    if t_x > n {
        return Some(format!("recency {t_x} exceeds n_periods {n}"));
    }
    if x > t_x {
        return Some(format!("frequency {x} exceeds recency {t_x}"));
    }
    if x == 0 && t_x != 0 {
        return Some(format!("frequency 0 needs recency 0, got {t_x}"));
    }
    None
}

/// ln L of one pattern and ∂/∂(α, β, γ, δ) (natural parameters), as a
/// log-sum-exp over the n−tₓ+1 terms with softmax-weighted term gradients.
pub(crate) fn ll_pattern(
    m: &BetaGeometricBetaBinomial,
    x: f64,
    tx: f64,
    n: f64,
    grad: &mut [f64; 4],
) -> f64 {
    let (a, b, g, d) = (m.alpha, m.beta, m.gamma, m.delta);
    let base = -ln_beta(a, b) - ln_beta(g, d);
    let (dg_a, dg_b, dg_ab) = (digamma(a), digamma(b), digamma(a + b));
    let (dg_g, dg_d, dg_gd) = (digamma(g), digamma(d), digamma(g + d));
    let dg_ax = digamma(a + x);
    let extra = (n - tx) as usize;
    let mut terms: Vec<(f64, [f64; 4])> = Vec::with_capacity(extra + 1);
    // Alive through all n periods.
    let dg_abn = digamma(a + b + n);
    let dg_gdn = digamma(g + d + n);
    terms.push((
        ln_beta(a + x, b + n - x) + ln_beta(g, d + n) + base,
        [
            dg_ax - dg_abn - dg_a + dg_ab,
            digamma(b + n - x) - dg_abn - dg_b + dg_ab,
            dg_gd - dg_gdn,
            digamma(d + n) - dg_gdn - dg_d + dg_gd,
        ],
    ));
    // Dropped out at the start of period tₓ+i+1 (alive through tₓ+i).
    let dg_g1 = digamma(g + 1.0);
    for i in 0..extra {
        let mm = tx + i as f64;
        let dg_abm = digamma(a + b + mm);
        let dg_gdm1 = digamma(g + d + mm + 1.0);
        terms.push((
            ln_beta(a + x, b + mm - x) + ln_beta(g + 1.0, d + mm) + base,
            [
                dg_ax - dg_abm - dg_a + dg_ab,
                digamma(b + mm - x) - dg_abm - dg_b + dg_ab,
                dg_g1 - dg_gdm1 - dg_g + dg_gd,
                digamma(d + mm) - dg_gdm1 - dg_d + dg_gd,
            ],
        ));
    }
    let top = terms.iter().fold(f64::NEG_INFINITY, |acc, t| acc.max(t.0));
    let mut s = 0.0;
    *grad = [0.0; 4];
    for (l, gr) in &terms {
        let e = (l - top).exp();
        s += e;
        for j in 0..4 {
            grad[j] += e * gr[j];
        }
    }
    for gj in grad.iter_mut() {
        *gj /= s;
    }
    top + s.ln()
}

/// Patterns merged by (x, tₓ, n), in a fixed order.
pub(crate) struct BgBbProblem {
    rows: Vec<BgBbRow>,
    total_weight: f64,
}

impl BgBbProblem {
    pub fn build(data: &[BgBbRow]) -> Result<Self, ClvError> {
        if data.is_empty() {
            return Err(ClvError::EmptyData("no BG/BB patterns"));
        }
        let mut merged: HashMap<(u32, u32, u32), f64> = HashMap::new();
        for (i, r) in data.iter().enumerate() {
            if !r.weight.is_finite() {
                return Err(ClvError::NonFinite {
                    row: i,
                    field: "weight",
                    value: r.weight,
                });
            }
            if r.weight < 0.0 {
                return Err(ClvError::InvalidRow {
                    row: i,
                    message: format!("weight must be ≥ 0, got {}", r.weight),
                });
            }
            if let Some(message) = pattern_error(r.frequency, r.recency, r.n_periods) {
                return Err(ClvError::InvalidRow { row: i, message });
            }
            if r.weight > 0.0 {
                *merged
                    .entry((r.frequency, r.recency, r.n_periods))
                    .or_insert(0.0) += r.weight;
            }
        }
        let mut rows: Vec<BgBbRow> = merged
            .into_iter()
            .map(|((frequency, recency, n_periods), weight)| BgBbRow {
                frequency,
                recency,
                n_periods,
                weight,
            })
            .collect();
        rows.sort_by_key(|r| (r.n_periods, r.frequency, r.recency));
        let total_weight = rows.iter().map(|r| r.weight).sum();
        if rows.is_empty() {
            return Err(ClvError::EmptyData("all BG/BB patterns have zero weight"));
        }
        Ok(Self { rows, total_weight })
    }
}

impl FitProblem for BgBbProblem {
    const PARAM_NAMES: &'static [&'static str] = &BetaGeometricBetaBinomial::PARAM_NAMES;

    fn total_weight(&self) -> f64 {
        self.total_weight
    }

    fn rows(&self) -> usize {
        self.rows.len()
    }

    fn starting_points(&self) -> Vec<Vec<f64>> {
        vec![vec![0.0; 4], vec![0.5, -0.5, -0.5, 1.0]]
    }

    fn log_lik_grad(&self, lp: &[f64], grad: &mut [f64]) -> f64 {
        let m = BetaGeometricBetaBinomial {
            alpha: lp[0].exp(),
            beta: lp[1].exp(),
            gamma: lp[2].exp(),
            delta: lp[3].exp(),
        };
        let theta = [m.alpha, m.beta, m.gamma, m.delta];
        let mut ll = 0.0;
        let mut acc = [0.0; 4];
        let mut g = [0.0; 4];
        for r in &self.rows {
            let l = ll_pattern(
                &m,
                f64::from(r.frequency),
                f64::from(r.recency),
                f64::from(r.n_periods),
                &mut g,
            );
            ll += r.weight * l;
            for j in 0..4 {
                acc[j] += r.weight * g[j];
            }
        }
        for j in 0..4 {
            grad[j] = acc[j] * theta[j];
        }
        ll
    }
}
