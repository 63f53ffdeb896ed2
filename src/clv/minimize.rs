//! BFGS with a strong-Wolfe line search (Nocedal & Wright 2006,
//! Algorithms 3.5/3.6 and 6.1). Like Nelder–Mead (`nelder_mead.rs`) it treats a non-finite objective as +∞, so a model can signal
//! "outside the domain" simply by returning NaN.

/// An objective with its gradient. Returns f(x) and writes ∇f(x) into `g`.
pub(crate) trait Objective: Sync {
    fn dim(&self) -> usize;
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64;
}

/// Outcome of one minimisation run.
#[derive(Debug, Clone)]
pub(crate) struct MinResult {
    pub x: Vec<f64>,
    pub f: f64,
    pub g: Vec<f64>,
    pub iterations: usize,
    pub evaluations: usize,
    pub converged: bool,
    /// Final BFGS inverse-Hessian approximation (row-major), if any.
    pub inv_hessian: Option<Vec<f64>>,
}

pub(crate) fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Largest move of any log-parameter in one line-search trial; larger steps
/// in log space overflow the likelihoods (e^10 ≈ 2e4) for no benefit.
const MAX_STEP: f64 = 5.0;
const C1: f64 = 1e-4;
const C2: f64 = 0.9;

struct Probe {
    f: f64,
    g: Vec<f64>,
    dphi: f64,
}

struct LineSearch<'a, O: Objective> {
    obj: &'a O,
    x: &'a [f64],
    p: &'a [f64],
    f0: f64,
    dphi0: f64,
    evals: usize,
    trial: Vec<f64>,
}

impl<O: Objective> LineSearch<'_, O> {
    fn probe(&mut self, a: f64) -> Probe {
        for ((t, x), p) in self.trial.iter_mut().zip(self.x).zip(self.p) {
            *t = x + a * p;
        }
        let mut g = vec![0.0; self.x.len()];
        let mut f = self.obj.value_grad(&self.trial, &mut g);
        self.evals += 1;
        if !f.is_finite() || g.iter().any(|v| !v.is_finite()) {
            f = f64::INFINITY;
        }
        let dphi = if f.is_finite() {
            dot(&g, self.p)
        } else {
            f64::NAN
        };
        Probe { f, g, dphi }
    }

    /// Sufficient decrease, with the approximate-Wolfe escape of Hager &
    /// Zhang (2005) for the last digits, where f differences are roundoff.
    fn decrease_ok(&self, a: f64, pr: &Probe) -> bool {
        pr.f <= self.f0 + C1 * a * self.dphi0
            || (pr.f <= self.f0 + self.noise() && pr.dphi <= (2.0 * C1 - 1.0) * self.dphi0)
    }

    /// Differences in f below this are rounding, not information.
    fn noise(&self) -> f64 {
        1e-13 * self.f0.abs().max(1.0)
    }

    /// Is the probe no better than a point with value `f_ref`? Within the
    /// rounding level of f the slope decides: rising means the minimum lies
    /// before the probe. Without this, BFGS stalls near optima of flat
    /// likelihoods (f changes of 1e-16 relative) although the gradient is
    /// still accurate and informative.
    fn worse(&self, pr: &Probe, f_ref: f64) -> bool {
        if pr.f > f_ref + self.noise() {
            true
        } else if pr.f < f_ref - self.noise() {
            false
        } else {
            pr.dphi > 0.0
        }
    }

    fn curvature_ok(&self, pr: &Probe) -> bool {
        pr.dphi.abs() <= -C2 * self.dphi0
    }

    fn search(&mut self, a_init: f64) -> Option<(f64, Probe)> {
        let (mut a_prev, mut f_prev, mut d_prev) = (0.0, self.f0, self.dphi0);
        let mut a = a_init;
        for i in 0..40 {
            let pr = self.probe(a);
            if !self.decrease_ok(a, &pr) || (i > 0 && self.worse(&pr, f_prev)) {
                return self.zoom((a_prev, f_prev, d_prev), (a, pr.f, pr.dphi));
            }
            if self.curvature_ok(&pr) {
                return Some((a, pr));
            }
            if pr.dphi >= 0.0 {
                return self.zoom((a, pr.f, pr.dphi), (a_prev, f_prev, d_prev));
            }
            a_prev = a;
            f_prev = pr.f;
            d_prev = pr.dphi;
            a *= 2.0;
        }
        None
    }

    fn zoom(&mut self, mut lo: (f64, f64, f64), mut hi: (f64, f64, f64)) -> Option<(f64, Probe)> {
        let mut best: Option<(f64, Probe)> = None;
        for _ in 0..60 {
            let a = interpolate(lo, hi, self.noise());
            let pr = self.probe(a);
            if !self.decrease_ok(a, &pr) || self.worse(&pr, lo.1) {
                hi = (a, pr.f, pr.dphi);
            } else {
                if self.curvature_ok(&pr) {
                    return Some((a, pr));
                }
                if pr.dphi * (hi.0 - lo.0) >= 0.0 {
                    hi = lo;
                }
                lo = (a, pr.f, pr.dphi);
                best = Some((a, pr));
            }
            if (hi.0 - lo.0).abs() <= 1e-16 * lo.0.abs().max(1e-300) {
                break;
            }
        }
        // The interval collapsed: take the best point with sufficient
        // decrease even though the curvature condition never held.
        best
    }
}

/// Minimiser of the cubic through (a, f, f') at both ends, safeguarded to
/// the middle 80% of the bracket; bisection when the cubic is unusable.
/// When the two values differ only by rounding the cubic is meaningless,
/// so the secant root of the slopes is used instead.
fn interpolate(lo: (f64, f64, f64), hi: (f64, f64, f64), noise: f64) -> f64 {
    let (a0, f0, d0) = lo;
    let (a1, f1, d1) = hi;
    let (left, right) = (a0.min(a1), a0.max(a1));
    let width = right - left;
    let mid = 0.5 * (a0 + a1);
    if !(f0.is_finite() && f1.is_finite() && d0.is_finite() && d1.is_finite()) {
        return mid;
    }
    if (f0 - f1).abs() <= noise {
        let a = a0 - d0 * (a1 - a0) / (d1 - d0);
        let ok =
            d0 * d1 < 0.0 && a.is_finite() && a > left + 0.1 * width && a < right - 0.1 * width;
        return if ok { a } else { mid };
    }
    let d1c = d0 + d1 - 3.0 * (f0 - f1) / (a0 - a1);
    let disc = d1c * d1c - d0 * d1;
    if disc < 0.0 {
        return mid;
    }
    let d2 = (a1 - a0).signum() * disc.sqrt();
    let a = a1 - (a1 - a0) * (d1 + d2 - d1c) / (d1 - d0 + 2.0 * d2);
    if !a.is_finite() || a < left + 0.1 * width || a > right - 0.1 * width {
        return mid;
    }
    a
}

/// BFGS from `x0`, optionally warm-started with an inverse Hessian `h0`.
///
/// Converged means ‖∇f‖∞ ≤ `tol`. A failed line search resets the inverse
/// Hessian to a scaled identity once before giving up, which rescues most
/// runs that stalled on a bad curvature estimate.
pub(crate) fn bfgs<O: Objective>(
    obj: &O,
    x0: &[f64],
    h0: Option<Vec<f64>>,
    max_iter: usize,
    tol: f64,
) -> MinResult {
    let n = obj.dim();
    let mut x = x0.to_vec();
    let mut g = vec![0.0; n];
    let mut f = obj.value_grad(&x, &mut g);
    let mut evals = 1;
    let identity = |scale: f64| {
        let mut h = vec![0.0; n * n];
        for i in 0..n {
            h[i * n + i] = scale;
        }
        h
    };
    let finite_start = f.is_finite() && g.iter().all(|v| v.is_finite());
    let mut result = MinResult {
        x: x.clone(),
        f: if finite_start { f } else { f64::INFINITY },
        g: g.clone(),
        iterations: 0,
        evaluations: evals,
        converged: false,
        inv_hessian: None,
    };
    if !finite_start {
        return result;
    }
    let warm = h0.is_some();
    let mut h = h0.unwrap_or_else(|| identity(1.0));
    let mut fresh = !warm;
    let mut resets = 0;
    let mut iter = 0;
    while iter < max_iter {
        if inf_norm(&g) <= tol {
            result.converged = true;
            break;
        }
        iter += 1;
        let mut p: Vec<f64> = (0..n).map(|i| -dot(&h[i * n..(i + 1) * n], &g)).collect();
        let mut dphi0 = dot(&p, &g);
        if dphi0 >= 0.0 || !dphi0.is_finite() {
            // Not a descent direction: fall back to steepest descent.
            h = identity(1.0);
            fresh = true;
            p = g.iter().map(|v| -v).collect();
            dphi0 = dot(&p, &g);
        }
        let step_norm = inf_norm(&p);
        let a_init = if step_norm > MAX_STEP {
            MAX_STEP / step_norm
        } else {
            1.0
        };
        let mut ls = LineSearch {
            obj,
            x: &x,
            p: &p,
            f0: f,
            dphi0,
            evals: 0,
            trial: vec![0.0; n],
        };
        let found = ls.search(a_init);
        evals += ls.evals;
        let Some((a, pr)) = found else {
            if resets < 2 && !fresh {
                resets += 1;
                h = identity(1.0);
                fresh = true;
                continue;
            }
            break;
        };
        let s: Vec<f64> = p.iter().map(|v| a * v).collect();
        let y: Vec<f64> = pr.g.iter().zip(&g).map(|(a, b)| a - b).collect();
        x.iter_mut().zip(&s).for_each(|(xi, si)| *xi += si);
        f = pr.f;
        g = pr.g;
        let sy = dot(&s, &y);
        let yy = dot(&y, &y);
        if sy > 1e-12 * (dot(&s, &s) * yy).sqrt() && sy > 0.0 {
            if fresh {
                // Shanno–Phua scaling of the first inverse Hessian.
                h = identity(sy / yy);
                fresh = false;
            }
            bfgs_update(&mut h, &s, &y, sy);
        }
    }
    if inf_norm(&g) <= tol {
        result.converged = true;
    }
    result.x = x;
    result.f = f;
    result.g = g;
    result.iterations = iter;
    result.evaluations = evals;
    result.inv_hessian = Some(h);
    result
}

/// H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ with ρ = 1 / (yᵀ s).
fn bfgs_update(h: &mut [f64], s: &[f64], y: &[f64], sy: f64) {
    let n = s.len();
    let rho = 1.0 / sy;
    let hy: Vec<f64> = (0..n).map(|i| dot(&h[i * n..(i + 1) * n], y)).collect();
    let yhy = dot(y, &hy);
    for i in 0..n {
        for j in 0..n {
            h[i * n + j] +=
                -rho * (hy[i] * s[j] + s[i] * hy[j]) + (rho * rho * yhy + rho) * s[i] * s[j];
        }
    }
}

#[cfg(test)]
#[path = "minimize_tests.rs"]
mod tests;
