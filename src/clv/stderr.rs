//! The numerical Hessian and standard errors of a fit, and the chunked
//! (parallel, order-fixed) sums the likelihoods are built from.

use std::ops::Range;

use rayon::prelude::*;

use super::minimize::Objective;

/// Central differences of the analytic gradient (step 1e-5 in log space,
/// about ε^(1/3)), symmetrised. Returns the Hessian of the mean objective.
pub(crate) fn numerical_hessian<O: Objective>(obj: &O, x: &[f64]) -> (Vec<f64>, usize) {
    let n = x.len();
    let h = 1e-5;
    let mut hess = vec![0.0; n * n];
    let (mut gp, mut gm) = (vec![0.0; n], vec![0.0; n]);
    let mut xp = x.to_vec();
    for j in 0..n {
        xp[j] = x[j] + h;
        obj.value_grad(&xp, &mut gp);
        xp[j] = x[j] - h;
        obj.value_grad(&xp, &mut gm);
        xp[j] = x[j];
        for i in 0..n {
            hess[i * n + j] = (gp[i] - gm[i]) / (2.0 * h);
        }
    }
    for i in 0..n {
        for j in 0..i {
            let m = 0.5 * (hess[i * n + j] + hess[j * n + i]);
            hess[i * n + j] = m;
            hess[j * n + i] = m;
        }
    }
    (hess, 2 * n)
}

/// SE(θᵢ) = θᵢ · sqrt([H_total⁻¹]ᵢᵢ) with H_total = W · H_mean in log space:
/// the delta method, as lifetimes' `_compute_variance_matrix`.
pub(crate) fn standard_errors(
    hess_mean: &[f64],
    log_params: &[f64],
    total_weight: f64,
) -> Vec<f64> {
    let n = log_params.len();
    let total: Vec<f64> = hess_mean.iter().map(|v| v * total_weight).collect();
    match invert_spd(&total, n) {
        Some(inv) => (0..n)
            .map(|i| log_params[i].exp() * inv[i * n + i].sqrt())
            .collect(),
        None => vec![f64::NAN; n],
    }
}

/// Inverse of a symmetric positive-definite matrix by Cholesky; None if the
/// matrix is not (numerically) positive definite.
pub(crate) fn invert_spd(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            if i == j {
                let d = a[i * n + i] - s;
                if d.is_nan() || d <= 0.0 || d.is_infinite() {
                    return None;
                }
                l[i * n + i] = d.sqrt();
            } else {
                l[i * n + j] = (a[i * n + j] - s) / l[j * n + j];
            }
        }
    }
    // Solve L Lᵀ X = I column by column.
    let mut inv = vec![0.0; n * n];
    for c in 0..n {
        let mut y = vec![0.0; n];
        for i in 0..n {
            let s: f64 = (0..i).map(|k| l[i * n + k] * y[k]).sum();
            y[i] = ((if i == c { 1.0 } else { 0.0 }) - s) / l[i * n + i];
        }
        for i in (0..n).rev() {
            let s: f64 = (i + 1..n).map(|k| l[k * n + i] * inv[k * n + c]).sum();
            inv[i * n + c] = (y[i] - s) / l[i * n + i];
        }
    }
    Some(inv)
}

/// Rows per parallel chunk for cheap likelihoods (a few logs per row).
/// Fixed, not derived from the thread count, so sums are bit-identical
/// however many threads rayon has.
pub(crate) const CHEAP_CHUNK: usize = 8192;
/// Rows per chunk for likelihoods costing ~0.5 µs a row (Pareto/NBD), where
/// even a thousand rows are worth splitting across cores.
pub(crate) const COSTLY_CHUNK: usize = 256;

/// Σ over row ranges of `f` (value and up to four partial derivatives):
/// one call on the calling thread when `n` fits in two chunks, otherwise
/// chunks of `chunk` rows in parallel, summed in a fixed order.
pub(crate) fn chunked_sum(
    n: usize,
    chunk: usize,
    f: impl Fn(Range<usize>) -> [f64; 5] + Sync,
) -> [f64; 5] {
    if n <= 2 * chunk {
        return f(0..n);
    }
    let parts: Vec<[f64; 5]> = (0..n.div_ceil(chunk))
        .into_par_iter()
        .map(|c| f(c * chunk..((c + 1) * chunk).min(n)))
        .collect();
    let mut total = [0.0; 5];
    for p in parts {
        for (t, v) in total.iter_mut().zip(p) {
            *t += v;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spd_inverse_roundtrips() {
        let a = [4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 2.0];
        let inv = invert_spd(&a, 3).expect("spd");
        for i in 0..3 {
            for j in 0..3 {
                let v: f64 = (0..3).map(|k| a[i * 3 + k] * inv[k * 3 + j]).sum();
                assert!((v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-14);
            }
        }
        assert!(invert_spd(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
    }
}
