//! Nelder–Mead with the adaptive coefficients of Gao & Han (2012), the
//! derivative-free fallback for runs where BFGS cannot make progress.

use super::minimize::{MinResult, Objective};

/// Derivative-free Nelder–Mead on f alone, used when BFGS cannot make
/// progress (e.g. it started where the gradient is unreliable). Stops when
/// the simplex's spread in f and x is below `tol` or after `max_iter` steps.
pub(crate) fn nelder_mead<O: Objective>(
    obj: &O,
    x0: &[f64],
    max_iter: usize,
    tol: f64,
) -> MinResult {
    let n = obj.dim();
    let nf = n as f64;
    let (alpha, gamma, rho, sigma) = (1.0, 1.0 + 2.0 / nf, 0.75 - 0.5 / nf, 1.0 - 1.0 / nf);
    let mut scratch = vec![0.0; n];
    let mut evals = 0;
    let mut eval = |x: &[f64], evals: &mut usize| {
        *evals += 1;
        let f = obj.value_grad(x, &mut scratch);
        if f.is_finite() { f } else { f64::INFINITY }
    };
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(n + 1);
    let f0 = eval(x0, &mut evals);
    simplex.push((x0.to_vec(), f0));
    for i in 0..n {
        let mut v = x0.to_vec();
        v[i] += 0.5;
        let fv = eval(&v, &mut evals);
        simplex.push((v, fv));
    }
    let mut iter = 0;
    while iter < max_iter {
        iter += 1;
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let spread_f = simplex[n].1 - simplex[0].1;
        let spread_x = simplex[1..]
            .iter()
            .map(|(v, _)| {
                v.iter()
                    .zip(&simplex[0].0)
                    .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
            })
            .fold(0.0f64, f64::max);
        if spread_f.abs() <= tol && spread_x <= tol.sqrt() {
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| simplex[..n].iter().map(|(v, _)| v[j]).sum::<f64>() / nf)
            .collect();
        let along = |t: f64| -> Vec<f64> {
            centroid
                .iter()
                .zip(&simplex[n].0)
                .map(|(c, w)| c + t * (c - w))
                .collect()
        };
        let xr = along(alpha);
        let fr = eval(&xr, &mut evals);
        if fr < simplex[0].1 {
            let xe = along(gamma);
            let fe = eval(&xe, &mut evals);
            simplex[n] = if fe < fr { (xe, fe) } else { (xr, fr) };
        } else if fr < simplex[n - 1].1 {
            simplex[n] = (xr, fr);
        } else {
            let (xc, fc) = if fr < simplex[n].1 {
                let xc = along(rho);
                let fc = eval(&xc, &mut evals);
                (xc, fc)
            } else {
                let xc = along(-rho);
                let fc = eval(&xc, &mut evals);
                (xc, fc)
            };
            if fc < simplex[n].1.min(fr) {
                simplex[n] = (xc, fc);
            } else {
                let best = simplex[0].0.clone();
                for (v, fv) in simplex.iter_mut().skip(1) {
                    for (vi, bi) in v.iter_mut().zip(&best) {
                        *vi = bi + sigma * (*vi - bi);
                    }
                    *fv = eval(v, &mut evals);
                }
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (x, f) = simplex.swap_remove(0);
    let mut g = vec![0.0; n];
    obj.value_grad(&x, &mut g);
    MinResult {
        converged: false,
        x,
        f,
        g,
        iterations: iter,
        evaluations: evals + 1,
        inv_hessian: None,
    }
}
