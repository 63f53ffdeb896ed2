//! Several starting points without paying for several full fits.

use super::minimize::{MinResult, Objective, bfgs};
use super::nelder_mead::nelder_mead;
use super::optimize::{FitOptions, FitProblem, Penalised};

/// Runs BFGS from the default start to `tol`, then scouts every other start
/// to a loose tolerance: a scout only has to show which basin it falls
/// into. One that beats the best so far is polished to `tol` from its own
/// inverse Hessian. Converged runs beat unconverged ones.
pub(crate) fn multi_start<P: FitProblem>(
    problem: &P,
    starts: &[Vec<f64>],
    opts: &FitOptions,
) -> (MinResult, usize, usize) {
    let objective = Penalised {
        problem,
        penalizer: opts.penalizer,
        inv_w: 1.0 / problem.total_weight(),
    };
    let mut counts = (0, 0);
    let mut best = robust_run(&objective, &starts[0], opts.tol, opts.max_iter, &mut counts);
    let loose = opts.tol.max(1e-5);
    for x0 in &starts[1..] {
        let scout = robust_run(&objective, x0, loose, opts.max_iter, &mut counts);
        let margin = 1e-10 * best.f.abs().max(1.0);
        if !(scout.f.is_finite() && (!best.f.is_finite() || scout.f < best.f - margin)) {
            continue;
        }
        let polished = bfgs(
            &objective,
            &scout.x,
            scout.inv_hessian.clone(),
            opts.max_iter,
            opts.tol,
        );
        counts.0 += polished.iterations;
        counts.1 += polished.evaluations;
        let candidate = if polished.f <= scout.f {
            polished
        } else {
            scout
        };
        let better = (candidate.converged && !best.converged)
            || (candidate.converged == best.converged && candidate.f < best.f);
        if better {
            best = candidate;
        }
    }
    (best, counts.0, counts.1)
}

/// BFGS; if it stalls, Nelder–Mead from where it stopped and BFGS again.
fn robust_run<O: Objective>(
    objective: &O,
    x0: &[f64],
    tol: f64,
    max_iter: usize,
    counts: &mut (usize, usize),
) -> MinResult {
    let mut run = bfgs(objective, x0, None, max_iter, tol);
    counts.0 += run.iterations;
    counts.1 += run.evaluations;
    if run.converged {
        return run;
    }
    let from = if run.f.is_finite() {
        run.x.clone()
    } else {
        x0.to_vec()
    };
    // Nelder–Mead only has to carry the search out of a region where BFGS
    // got stuck; BFGS then polishes, so a modest budget suffices.
    let nm = nelder_mead(objective, &from, 200 * from.len(), 1e-12);
    counts.1 += nm.evaluations;
    if nm.f.is_finite() && nm.f < run.f {
        let polish = bfgs(objective, &nm.x, None, max_iter, tol);
        counts.0 += polish.iterations;
        counts.1 += polish.evaluations;
        run = if polish.f <= nm.f { polish } else { nm };
    }
    run
}
