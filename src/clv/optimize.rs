//! Maximum-likelihood fitting shared by every model: the objective in
//! log-parameter space, multi-start BFGS with a Nelder–Mead fallback, the
//! numerical Hessian and standard errors, and convergence diagnostics.
//!
//! The objective follows lifetimes 0.11.3: the *mean* negative
//! log-likelihood per unit weight plus `penalizer · Σ θᵢ²` on the natural
//! parameters θ = exp(x). Using the mean keeps gradient tolerances and the
//! inverse-Hessian warm start independent of the sample size.

use super::error::ClvError;
use super::minimize::{Objective, bfgs, inf_norm};
use super::multistart::multi_start;
pub(crate) use super::stderr::{CHEAP_CHUNK, COSTLY_CHUNK, chunked_sum};
use super::stderr::{invert_spd, numerical_hessian, standard_errors};

/// Options for every `fit`.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    /// L2 penalty `penalizer · Σ θᵢ²` added to the mean negative
    /// log-likelihood (lifetimes' `penalizer_coef`; for BG/NBD and
    /// Pareto/NBD θ is in lifetimes' rescaled time units, see the models).
    pub penalizer: f64,
    /// Iteration cap for each BFGS run.
    pub max_iter: usize,
    /// Convergence: ‖∇‖∞ of the mean objective in log-parameter space.
    pub tol: f64,
    /// Extra starting points tried besides the model's default start; the
    /// best converged run wins.
    pub restarts: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            penalizer: 0.0,
            max_iter: 1000,
            tol: 1e-9,
            restarts: 2,
        }
    }
}

/// How a fit went. `converged == false` always comes with `advice`.
#[derive(Debug, Clone, PartialEq)]
pub struct FitDiagnostics {
    /// Unpenalised weighted log-likelihood Σ wᵢ ln Lᵢ in the data's units.
    pub log_likelihood: f64,
    /// BFGS iterations summed over every run.
    pub iterations: usize,
    /// Objective evaluations summed over every run (and the Hessian).
    pub evaluations: usize,
    /// ‖∇‖∞ ≤ `tol`, or (when rounding stops progress first) the remaining
    /// Newton step is below 0.1% of every standard error.
    pub converged: bool,
    /// ‖∇‖∞ of the mean objective in log-parameter space at the optimum.
    pub grad_norm: f64,
    /// Standard errors of the natural parameters (delta method from the
    /// Hessian of the total negative log-likelihood in log space), in the
    /// order of `params()`. NaN where the Hessian is not positive definite.
    pub std_errors: Vec<f64>,
    pub advice: Option<String>,
}

/// A prepared data set plus likelihood that the shared driver can fit.
pub(crate) trait FitProblem: Sync + Sized {
    const PARAM_NAMES: &'static [&'static str];

    /// Σ wᵢ (the normaliser of the mean objective).
    fn total_weight(&self) -> f64;

    /// Number of stored rows (after any deduplication).
    fn rows(&self) -> usize;

    /// Σ wᵢ ln Lᵢ at θ = exp(`log_params`), writing ∂/∂ log θ into `grad`.
    /// Returns NaN when θ is outside the model's domain.
    fn log_lik_grad(&self, log_params: &[f64], grad: &mut [f64]) -> f64;

    /// Starting points in log space; the first is the default start.
    fn starting_points(&self) -> Vec<Vec<f64>>;

    /// Every `stride`-th row, for a cheap warm start on very large data.
    fn subsample(&self, _stride: usize) -> Option<Self> {
        None
    }
}

/// Above this many rows the multi-start search runs on every k-th row
/// (about `SUBSAMPLE_ROWS` of them) and BFGS then polishes on the full data
/// from that optimum and its inverse Hessian. The mean objective makes the
/// subsample's curvature a good warm start, so the full data costs a few
/// iterations instead of three complete runs.
const SUBSAMPLE_ABOVE: usize = 60_000;
const SUBSAMPLE_ROWS: usize = 25_000;

/// The minimised objective: mean negative log-likelihood plus the L2 penalty,
/// in log-parameter space.
pub(crate) struct Penalised<'a, P: FitProblem> {
    pub problem: &'a P,
    pub penalizer: f64,
    pub inv_w: f64,
}

impl<P: FitProblem> Objective for Penalised<'_, P> {
    fn dim(&self) -> usize {
        P::PARAM_NAMES.len()
    }

    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        if x.iter().any(|v| !v.is_finite() || v.abs() > 700.0) {
            return f64::NAN;
        }
        let ll = self.problem.log_lik_grad(x, g);
        let mut f = -ll * self.inv_w;
        for (gi, xi) in g.iter_mut().zip(x) {
            let theta2 = (2.0 * xi).exp();
            *gi = -*gi * self.inv_w + 2.0 * self.penalizer * theta2;
            f += self.penalizer * theta2;
        }
        f
    }
}

/// Fits `problem`, returning log-parameters and diagnostics (with
/// `log_likelihood` left for the model to fill in its own units).
pub(crate) fn fit_problem<P: FitProblem>(
    problem: &P,
    opts: &FitOptions,
) -> Result<(Vec<f64>, FitDiagnostics), ClvError> {
    validate_options(opts)?;
    let w = problem.total_weight();
    if !(w > 0.0 && w.is_finite()) {
        return Err(ClvError::EmptyData("total weight must be positive"));
    }
    let mut starts = problem.starting_points();
    let wanted = 1 + opts.restarts;
    let mut k = 0;
    while starts.len() < wanted {
        // Deterministic perturbations of the default start (no RNG in the
        // fit path, so fits are reproducible bit for bit).
        let base = starts[0].clone();
        k += 1;
        starts.push(
            base.iter()
                .enumerate()
                .map(|(i, v)| {
                    v + if (i + k) % 2 == 0 { 0.7 } else { -0.7 } * (1.0 + 0.3 * k as f64)
                })
                .collect(),
        );
    }
    starts.truncate(wanted);

    let stride = problem.rows() / SUBSAMPLE_ROWS;
    let sub = if problem.rows() > SUBSAMPLE_ABOVE {
        problem.subsample(stride)
    } else {
        None
    };
    let (mut best, mut iterations, mut evaluations) = match &sub {
        Some(small) => multi_start(small, &starts, opts),
        None => multi_start(problem, &starts, opts),
    };
    let objective = Penalised {
        problem,
        penalizer: opts.penalizer,
        inv_w: 1.0 / w,
    };
    if sub.is_some() {
        let polished = bfgs(
            &objective,
            &best.x,
            best.inv_hessian.clone(),
            opts.max_iter,
            opts.tol,
        );
        iterations += polished.iterations;
        evaluations += polished.evaluations;
        best = polished;
        if !best.converged {
            let again = bfgs(&objective, &best.x, None, opts.max_iter, opts.tol);
            iterations += again.iterations;
            evaluations += again.evaluations;
            if again.f <= best.f {
                best = again;
            }
        }
    }
    if !best.f.is_finite() {
        return Err(ClvError::FitFailed {
            advice: format!(
                "no starting point gave a finite likelihood for parameters {:?}; check the data \
                 for extreme values or add a penalizer (e.g. 0.01)",
                P::PARAM_NAMES
            ),
        });
    }
    let (hessian, hess_evals) = numerical_hessian(&objective, &best.x);
    evaluations += hess_evals;
    let std_errors = standard_errors(&hessian, &best.x, w);
    let grad_norm = inf_norm(&best.g);
    let converged = best.converged || optimisation_error_negligible(&hessian, &best.g, w);
    let mut advice = None;
    if !converged {
        advice = Some(format!(
            "not converged: gradient norm {grad_norm:.2e} > tol {:.1e} after {iterations} iterations; \
             try a small penalizer (e.g. 0.001-0.1), a larger max_iter, or more restarts, and check \
             for customers with extreme frequency",
            opts.tol
        ));
    } else if std_errors.iter().any(|s| !s.is_finite()) {
        advice = Some(
            "converged, but the Hessian is not positive definite: the likelihood is flat in some \
             direction (a ridge or a boundary), so standard errors are undefined; a small \
             penalizer makes the estimate unique"
                .to_string(),
        );
    }
    let diagnostics = FitDiagnostics {
        log_likelihood: f64::NAN,
        iterations,
        evaluations,
        converged,
        grad_norm,
        std_errors,
        advice,
    };
    Ok((best.x, diagnostics))
}

/// The second convergence test, for a run that stopped above `tol` only
/// because f no longer changes in its last digits: the remaining Newton
/// step H⁻¹g is below 0.1% of every parameter's standard error (both in
/// log space), so further iterations could not move the estimate by an
/// amount that matters statistically.
fn optimisation_error_negligible(hess_mean: &[f64], g: &[f64], total_weight: f64) -> bool {
    let n = g.len();
    let Some(inv) = invert_spd(hess_mean, n) else {
        return false;
    };
    (0..n).all(|i| {
        let step: f64 = (0..n).map(|j| inv[i * n + j] * g[j]).sum();
        let se = (inv[i * n + i] / total_weight).sqrt();
        step.abs() <= 1e-3 * se
    })
}

fn validate_options(opts: &FitOptions) -> Result<(), ClvError> {
    if !(opts.penalizer >= 0.0 && opts.penalizer.is_finite()) {
        return Err(ClvError::InvalidArgument(format!(
            "penalizer must be ≥ 0, got {}",
            opts.penalizer
        )));
    }
    if !(opts.tol > 0.0 && opts.tol.is_finite()) {
        return Err(ClvError::InvalidArgument(format!(
            "tol must be > 0, got {}",
            opts.tol
        )));
    }
    if opts.max_iter == 0 {
        return Err(ClvError::InvalidArgument("max_iter must be ≥ 1".into()));
    }
    Ok(())
}
