//! The BG/NBD log-likelihood and its analytic gradient (FHL 2005 eq. 6),
//! in lifetimes' rescaled time.

use super::bgnbd::BgNbd;
use super::optimize::{CHEAP_CHUNK, FitProblem, chunked_sum};
use super::rfm::RfmColumns;
use super::special::{digamma, ln_gamma};

/// BG/NBD likelihood on rescaled columns.
pub(crate) struct BgNbdProblem {
    pub cols: RfmColumns,
}

impl BgNbdProblem {
    /// The fit runs in time rescaled by k = 1/max T; each of the x purchase
    /// densities then carries a factor 1/k, so ln L(original) = ln L(scaled)
    /// + x ln k.
    pub fn log_likelihood_original_units(&self, lp: &[f64]) -> f64 {
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

impl FitProblem for BgNbdProblem {
    const PARAM_NAMES: &'static [&'static str] = &BgNbd::PARAM_NAMES;

    fn total_weight(&self) -> f64 {
        self.cols.total_weight
    }

    fn rows(&self) -> usize {
        self.cols.len()
    }

    fn starting_points(&self) -> Vec<Vec<f64>> {
        vec![vec![0.0; 4], vec![-1.0, -1.5, -0.3, 0.8]]
    }

    fn subsample(&self, stride: usize) -> Option<Self> {
        Some(Self {
            cols: self.cols.every_nth(stride),
        })
    }

    fn log_lik_grad(&self, lp: &[f64], grad: &mut [f64]) -> f64 {
        let (r, alpha, a, b) = (lp[0].exp(), lp[1].exp(), lp[2].exp(), lp[3].exp());
        let c = &self.cols;
        // Terms that depend on x only, once per distinct x.
        let (lg_r, lg_b, lg_ab) = (ln_gamma(r), ln_gamma(b), ln_gamma(a + b));
        let (dg_r, dg_b, dg_ab) = (digamma(r), digamma(b), digamma(a + b));
        let ln_alpha = alpha.ln();
        let ln_a = a.ln();
        let mut acc = [0.0; 5];
        let mut ln_bx1 = Vec::with_capacity(c.xs.len());
        let mut inv_bx1 = Vec::with_capacity(c.xs.len());
        for (&x, &w) in c.xs.iter().zip(&c.weight_per_x) {
            ln_bx1.push(if x > 0.0 { (b + x - 1.0).ln() } else { 0.0 });
            inv_bx1.push(if x > 0.0 { 1.0 / (b + x - 1.0) } else { 0.0 });
            if w == 0.0 {
                continue;
            }
            let a12 = ln_gamma(r + x) - lg_r + r * ln_alpha + ln_gamma(b + x)
                - ln_gamma(a + b + x)
                - lg_b
                + lg_ab;
            let dg_abx = digamma(a + b + x);
            acc[0] += w * a12;
            acc[1] += w * (digamma(r + x) - dg_r + ln_alpha);
            acc[2] += w * r / alpha;
            acc[3] += w * (dg_ab - dg_abx);
            acc[4] += w * (digamma(b + x) - dg_b + dg_ab - dg_abx);
        }
        let rows = chunked_sum(c.len(), CHEAP_CHUNK, |range| {
            let mut s = [0.0; 5];
            for i in range {
                let k = c.x_idx[i] as usize;
                let x = c.xs[k];
                let w = c.w[i];
                let l_t = (alpha + c.t[i]).ln();
                let rx = r + x;
                if x == 0.0 {
                    s[0] -= w * r * l_t;
                    s[1] -= w * l_t;
                    s[2] -= w * r / (alpha + c.t[i]);
                    continue;
                }
                let l_tx = (alpha + c.tx[i]).ln();
                let a3 = -rx * l_t;
                let a4 = ln_a - ln_bx1[k] - rx * l_tx;
                let d = a4 - a3;
                let (ll, p4) = if d > 0.0 {
                    let e = (-d).exp();
                    (a4 + e.ln_1p(), 1.0 / (1.0 + e))
                } else {
                    let e = d.exp();
                    (a3 + e.ln_1p(), e / (1.0 + e))
                };
                let p3 = 1.0 - p4;
                s[0] += w * ll;
                s[1] -= w * (p3 * l_t + p4 * l_tx);
                s[2] -= w * rx * (p3 / (alpha + c.t[i]) + p4 / (alpha + c.tx[i]));
                s[3] += w * p4 / a;
                s[4] -= w * p4 * inv_bx1[k];
            }
            s
        });
        for (a, r) in acc.iter_mut().zip(rows) {
            *a += r;
        }
        let theta = [r, alpha, a, b];
        for j in 0..4 {
            grad[j] = acc[j + 1] * theta[j];
        }
        acc[0]
    }
}
