//! Gamma-Gamma spend model: Fader, Hardie & Lee (2005), "RFM and CLV:
//! Using Iso-Value Curves for Customer Base Analysis", JMR 42(4); and
//! Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value".
//!
//! A customer's transaction values are Gamma(p, ν); ν ~ Gamma(q, γ) across
//! customers (γ is `v` here, as in lifetimes). The mean m̄ of x repeat
//! transactions has density (lifetimes' parameterisation of FH 2013 eq. 3):
//!
//! ln f = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m̄ + px ln x
//!        − (px+q) ln(x m̄ + γ).
//!
//! Only customers with x > 0 carry information; rows with x = 0 are skipped.

use std::collections::HashMap;

use super::error::ClvError;
use super::optimize::{
    CHEAP_CHUNK, FitDiagnostics, FitOptions, FitProblem, chunked_sum, fit_problem,
};
use super::rfm::RfmRow;
use super::special::{digamma, ln_gamma};

/// Fitted (or given) Gamma-Gamma parameters; `v` is γ in FH's notation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub v: f64,
}

impl GammaGamma {
    pub const PARAM_NAMES: [&'static str; 3] = ["p", "q", "v"];

    pub fn new(p: f64, q: f64, v: f64) -> Result<Self, ClvError> {
        super::bgnbd::check_positive(&[("p", p), ("q", q), ("v", v)])?;
        Ok(Self { p, q, v })
    }

    /// Maximum-likelihood fit on the rows with frequency > 0.
    pub fn fit(data: &[RfmRow], opts: &FitOptions) -> Result<(Self, FitDiagnostics), ClvError> {
        let problem = GgProblem::build(data)?;
        let (lp, mut diag) = fit_problem(&problem, opts)?;
        let model = Self {
            p: lp[0].exp(),
            q: lp[1].exp(),
            v: lp[2].exp(),
        };
        let mut g = [0.0; 3];
        diag.log_likelihood = problem.log_lik_grad(&lp, &mut g);
        Ok((model, diag))
    }

    /// Σ wᵢ ln fᵢ over the rows with frequency > 0.
    pub fn log_likelihood(&self, data: &[RfmRow]) -> Result<f64, ClvError> {
        let problem = GgProblem::build(data)?;
        let mut g = [0.0; 3];
        Ok(problem.log_lik_grad(&[self.p.ln(), self.q.ln(), self.v.ln()], &mut g))
    }

    pub fn params(&self) -> Vec<(&'static str, f64)> {
        Self::PARAM_NAMES
            .into_iter()
            .zip([self.p, self.q, self.v])
            .collect()
    }

    /// E[Z | x, m̄] = (p γ + p x m̄) / (p x + q − 1) (FH 2013 eq. 5): a
    /// weighted average of the population mean pγ/(q−1) and the customer's
    /// observed mean. NaN when p x + q ≤ 1 (the mean does not exist).
    pub fn expected_average_spend(&self, x: f64, m: f64) -> f64 {
        let den = self.p * x + self.q - 1.0;
        if !(x >= 0.0 && m >= 0.0 && m.is_finite() && den > 0.0) {
            return f64::NAN;
        }
        self.p * (self.v + x * m) / den
    }
}

/// Rows with x > 0 grouped by x: the terms in ln Γ and ψ depend on x alone.
struct GgProblem {
    xs: Vec<f64>,
    /// Per distinct x: total weight and Σ w ln m̄.
    w_x: Vec<f64>,
    wlnm_x: Vec<f64>,
    x_idx: Vec<u32>,
    m: Vec<f64>,
    w: Vec<f64>,
    total_weight: f64,
}

impl GgProblem {
    fn build(data: &[RfmRow]) -> Result<Self, ClvError> {
        let mut groups: HashMap<u64, u32> = HashMap::new();
        let mut p = Self {
            xs: Vec::new(),
            w_x: Vec::new(),
            wlnm_x: Vec::new(),
            x_idx: Vec::new(),
            m: Vec::new(),
            w: Vec::new(),
            total_weight: 0.0,
        };
        for (i, r) in data.iter().enumerate() {
            for (field, v) in [
                ("frequency", r.frequency),
                ("monetary_value", r.monetary_value),
                ("weight", r.weight),
            ] {
                if !v.is_finite() {
                    return Err(ClvError::NonFinite {
                        row: i,
                        field,
                        value: v,
                    });
                }
            }
            if r.frequency < 0.0 || r.frequency.fract() != 0.0 {
                return Err(ClvError::InvalidRow {
                    row: i,
                    message: format!("frequency must be a whole number ≥ 0, got {}", r.frequency),
                });
            }
            if r.weight < 0.0 {
                return Err(ClvError::InvalidRow {
                    row: i,
                    message: format!("weight must be ≥ 0, got {}", r.weight),
                });
            }
            if r.frequency == 0.0 || r.weight == 0.0 {
                continue;
            }
            if r.monetary_value <= 0.0 {
                return Err(ClvError::InvalidRow {
                    row: i,
                    message: format!(
                        "Gamma-Gamma needs monetary_value > 0 when frequency > 0, got {}",
                        r.monetary_value
                    ),
                });
            }
            let k = *groups.entry(r.frequency.to_bits()).or_insert_with(|| {
                p.xs.push(r.frequency);
                p.w_x.push(0.0);
                p.wlnm_x.push(0.0);
                (p.xs.len() - 1) as u32
            });
            p.w_x[k as usize] += r.weight;
            p.wlnm_x[k as usize] += r.weight * r.monetary_value.ln();
            p.x_idx.push(k);
            p.m.push(r.monetary_value);
            p.w.push(r.weight);
            p.total_weight += r.weight;
        }
        if p.total_weight <= 0.0 {
            return Err(ClvError::EmptyData(
                "Gamma-Gamma needs customers with frequency > 0",
            ));
        }
        Ok(p)
    }
}

impl FitProblem for GgProblem {
    const PARAM_NAMES: &'static [&'static str] = &GammaGamma::PARAM_NAMES;

    fn total_weight(&self) -> f64 {
        self.total_weight
    }

    fn rows(&self) -> usize {
        self.w.len()
    }

    fn starting_points(&self) -> Vec<Vec<f64>> {
        // lifetimes starts every parameter at e^0.1; a start with q > 1 and
        // γ near the mean spend is a second, often closer, guess.
        let mean_m: f64 =
            self.m.iter().zip(&self.w).map(|(m, w)| m * w).sum::<f64>() / self.total_weight;
        vec![vec![0.1; 3], vec![0.5, 1.0, mean_m.max(1e-3).ln()]]
    }

    fn log_lik_grad(&self, lp: &[f64], grad: &mut [f64]) -> f64 {
        let (p, q, v) = (lp[0].exp(), lp[1].exp(), lp[2].exp());
        let (lg_q, dg_q, ln_v) = (ln_gamma(q), digamma(q), v.ln());
        // Σ over rows of w·[−(px+q) ln(xm+γ)] and its derivatives.
        let rows = chunked_sum(self.w.len(), CHEAP_CHUNK, |range| {
            let mut s = [0.0; 5];
            for i in range {
                let x = self.xs[self.x_idx[i] as usize];
                let w = self.w[i];
                let xm_v = x * self.m[i] + v;
                let l = xm_v.ln();
                s[0] -= w * (p * x + q) * l;
                s[1] -= w * x * l;
                s[2] -= w * l;
                s[3] -= w * (p * x + q) / xm_v;
            }
            s
        });
        let mut acc = [rows[0], rows[1], rows[2], rows[3]];
        for k in 0..self.xs.len() {
            let (x, w, wlnm) = (self.xs[k], self.w_x[k], self.wlnm_x[k]);
            let (px, pxq) = (p * x, p * x + q);
            let lnx = x.ln();
            acc[0] +=
                w * (ln_gamma(pxq) - ln_gamma(px) - lg_q + q * ln_v + px * lnx) + (px - 1.0) * wlnm;
            let (dg_pxq, dg_px) = (digamma(pxq), digamma(px));
            acc[1] += w * x * (dg_pxq - dg_px + lnx) + x * wlnm;
            acc[2] += w * (dg_pxq - dg_q + ln_v);
            acc[3] += w * q / v;
        }
        grad[0] = acc[1] * p;
        grad[1] = acc[2] * q;
        grad[2] = acc[3] * v;
        if acc.iter().any(|a| !a.is_finite()) {
            return f64::NAN;
        }
        acc[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<RfmRow> {
        vec![
            RfmRow::new(1.0, 2.0, 10.0, 20.0),
            RfmRow::new(3.0, 5.0, 10.0, 35.5),
            RfmRow::new(0.0, 0.0, 10.0, 0.0),
            RfmRow::new(2.0, 4.0, 10.0, 12.25),
            RfmRow::new(7.0, 9.0, 10.0, 18.0),
        ]
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let prob = GgProblem::build(&rows()).expect("valid");
        let lp = [0.7, 1.2, 2.1];
        let mut g = [0.0; 3];
        prob.log_lik_grad(&lp, &mut g);
        for j in 0..3 {
            let h = 1e-6;
            let (mut up, mut dn) = (lp, lp);
            up[j] += h;
            dn[j] -= h;
            let mut tmp = [0.0; 3];
            let fd =
                (prob.log_lik_grad(&up, &mut tmp) - prob.log_lik_grad(&dn, &mut tmp)) / (2.0 * h);
            assert!(
                (g[j] - fd).abs() < 1e-6 * fd.abs().max(1.0),
                "param {j}: {} vs {fd}",
                g[j]
            );
        }
    }

    #[test]
    fn rejects_zero_spend_for_repeat_buyers_and_needs_repeat_buyers() {
        let mut bad = rows();
        bad[1].monetary_value = 0.0;
        assert!(GammaGamma::fit(&bad, &FitOptions::default()).is_err());
        let none = [RfmRow::new(0.0, 0.0, 3.0, 0.0)];
        assert!(matches!(
            GammaGamma::fit(&none, &FitOptions::default()),
            Err(ClvError::EmptyData(_))
        ));
    }

    #[test]
    fn expected_spend_shrinks_towards_population_mean() {
        let gg = GammaGamma::new(6.25, 3.74, 15.44).expect("valid");
        let pop = gg.expected_average_spend(0.0, 0.0);
        assert!((pop - 6.25 * 15.44 / 2.74).abs() < 1e-12);
        let one = gg.expected_average_spend(1.0, 100.0);
        let many = gg.expected_average_spend(50.0, 100.0);
        assert!(pop < one && one < many && many < 100.0);
    }
}
