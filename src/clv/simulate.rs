//! Synthetic customers drawn from known parameters, for property tests and
//! benchmarks. Deterministic for a given seed: customers are simulated in
//! fixed-size blocks, each with its own generator seeded from (seed, block),
//! so the output does not depend on the number of threads.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Beta, Distribution, Exp, Gamma};
use rayon::prelude::*;

use super::bgbb::{BetaGeometricBetaBinomial, BgBbRow};
use super::bgnbd::BgNbd;
use super::error::ClvError;
use super::gamma_gamma::GammaGamma;
use super::pnbd::ParetoNbd;
use super::rfm::RfmRow;
use super::sbg::{SbgObservation, ShiftedBetaGeometric};

const BLOCK: usize = 4096;

fn block_rng(seed: u64, block: usize) -> StdRng {
    // SplitMix64-style mixing so neighbouring blocks get unrelated streams.
    let mut z = seed ^ (block as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    StdRng::seed_from_u64(z ^ (z >> 31))
}

fn dist_err(e: impl std::fmt::Display) -> ClvError {
    ClvError::InvalidArgument(format!("cannot sample: {e}"))
}

fn check_ages(ages: &[f64]) -> Result<(), ClvError> {
    if ages.is_empty() {
        return Err(ClvError::EmptyData("no customer ages"));
    }
    if let Some((row, &t)) = ages
        .iter()
        .enumerate()
        .find(|(_, t)| !(t.is_finite() && **t > 0.0))
    {
        return Err(ClvError::InvalidRow {
            row,
            message: format!("age T must be finite and > 0, got {t}"),
        });
    }
    Ok(())
}

/// Runs `one(rng, i)` for every index in parallel blocks.
fn per_customer<T: Send>(
    n: usize,
    seed: u64,
    one: impl Fn(&mut StdRng, usize) -> T + Sync,
) -> Vec<T> {
    (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .flat_map_iter(|b| {
            let mut rng = block_rng(seed, b);
            let range = b * BLOCK..((b + 1) * BLOCK).min(n);
            range.map(|i| one(&mut rng, i)).collect::<Vec<_>>()
        })
        .collect()
}

/// BG/NBD customers observed for `ages[i]` time units after their first
/// purchase: λ ~ Gamma(r, α), p ~ Beta(a, b); purchases follow a Poisson
/// process and after each repeat purchase the customer drops out with
/// probability p (FHL 2005 assumptions; no drop-out at time 0).
pub fn simulate_bgnbd(model: &BgNbd, ages: &[f64], seed: u64) -> Result<Vec<RfmRow>, ClvError> {
    check_ages(ages)?;
    let lam = Gamma::new(model.r, 1.0 / model.alpha).map_err(dist_err)?;
    let drop = Beta::new(model.a, model.b).map_err(dist_err)?;
    Ok(per_customer(ages.len(), seed, |rng, i| {
        let big_t = ages[i];
        let l = lam.sample(rng).max(1e-300);
        let p = drop.sample(rng);
        let (mut x, mut tx, mut now) = (0u32, 0.0, 0.0);
        let gap = Exp::new(l).ok();
        while let Some(g) = gap {
            now += g.sample(rng);
            if now > big_t {
                break;
            }
            x += 1;
            tx = now;
            if rng.random::<f64>() < p {
                break;
            }
        }
        RfmRow::new(f64::from(x), tx, big_t, 0.0)
    }))
}

/// Pareto/NBD customers: λ ~ Gamma(r, α), μ ~ Gamma(s, β), lifetime
/// τ ~ Exp(μ); purchases are Poisson(λ) on (0, min(τ, T)].
pub fn simulate_pnbd(model: &ParetoNbd, ages: &[f64], seed: u64) -> Result<Vec<RfmRow>, ClvError> {
    check_ages(ages)?;
    let lam = Gamma::new(model.r, 1.0 / model.alpha).map_err(dist_err)?;
    let mu = Gamma::new(model.s, 1.0 / model.beta).map_err(dist_err)?;
    Ok(per_customer(ages.len(), seed, |rng, i| {
        let big_t = ages[i];
        let l = lam.sample(rng).max(1e-300);
        let m = mu.sample(rng).max(1e-300);
        let death = Exp::new(m).map(|d| d.sample(rng)).unwrap_or(f64::INFINITY);
        let end = death.min(big_t);
        let (mut x, mut tx, mut now) = (0u32, 0.0, 0.0);
        if let Ok(g) = Exp::new(l) {
            loop {
                now += g.sample(rng);
                if now > end {
                    break;
                }
                x += 1;
                tx = now;
            }
        }
        RfmRow::new(f64::from(x), tx, big_t, 0.0)
    }))
}

/// Fills `monetary_value` of rows with frequency > 0 with the mean of x
/// Gamma-Gamma transaction values: ν ~ Gamma(q, rate γ), zⱼ ~ Gamma(p, rate ν).
pub fn simulate_spend(model: &GammaGamma, rows: &mut [RfmRow], seed: u64) -> Result<(), ClvError> {
    let nu = Gamma::new(model.q, 1.0 / model.v).map_err(dist_err)?;
    let freqs: Vec<f64> = rows.iter().map(|r| r.frequency).collect();
    let spends = per_customer(rows.len(), seed, |rng, i| {
        let x = freqs[i];
        if x < 1.0 {
            return 0.0;
        }
        let v = nu.sample(rng).max(1e-300);
        // The mean of x Gamma(p, rate ν) draws is Gamma(p x, rate x ν).
        Gamma::new(model.p * x, 1.0 / (x * v))
            .map(|g| g.sample(rng))
            .unwrap_or(f64::NAN)
    });
    for (r, m) in rows.iter_mut().zip(spends) {
        r.monetary_value = m;
    }
    Ok(())
}

/// A cohort of `n` sBG customers observed for `periods` periods.
pub fn simulate_sbg(
    model: &ShiftedBetaGeometric,
    n: usize,
    periods: u32,
    seed: u64,
) -> Result<Vec<SbgObservation>, ClvError> {
    let theta = Beta::new(model.alpha, model.beta).map_err(dist_err)?;
    Ok(per_customer(n, seed, |rng, _| {
        let th = theta.sample(rng);
        for t in 1..=periods {
            if rng.random::<f64>() < th {
                return SbgObservation {
                    period: t,
                    churned: true,
                    weight: 1.0,
                };
            }
        }
        SbgObservation {
            period: periods,
            churned: false,
            weight: 1.0,
        }
    }))
}

/// `n` BG/BB customers with `n_periods` opportunities each, aggregated into
/// (x, tₓ, n) patterns with counts. A customer alive at the start of a
/// period transacts with probability p, then survives to the next period
/// with probability 1 − θ (FHS 2010).
pub fn simulate_bgbb(
    model: &BetaGeometricBetaBinomial,
    n: usize,
    n_periods: u32,
    seed: u64,
) -> Result<Vec<BgBbRow>, ClvError> {
    let pd = Beta::new(model.alpha, model.beta).map_err(dist_err)?;
    let td = Beta::new(model.gamma, model.delta).map_err(dist_err)?;
    let patterns = per_customer(n, seed, |rng, _| {
        let (p, th) = (pd.sample(rng), td.sample(rng));
        let (mut x, mut tx) = (0u32, 0u32);
        for t in 1..=n_periods {
            if rng.random::<f64>() < th {
                break;
            }
            if rng.random::<f64>() < p {
                x += 1;
                tx = t;
            }
        }
        (x, tx)
    });
    let mut counts = std::collections::BTreeMap::new();
    for key in patterns {
        *counts.entry(key).or_insert(0.0) += 1.0;
    }
    Ok(counts
        .into_iter()
        .map(|((frequency, recency), weight)| BgBbRow {
            frequency,
            recency,
            n_periods,
            weight,
        })
        .collect())
}
