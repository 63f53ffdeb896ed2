//! Property tests: parameter recovery on simulated data, prediction
//! invariants, and summary invariants. Case counts are small so the suite
//! stays fast in debug builds.

use holdfast::clv::simulate::{
    simulate_bgbb, simulate_bgnbd, simulate_pnbd, simulate_sbg, simulate_spend,
};
use holdfast::clv::{
    BetaGeometricBetaBinomial, BgNbd, FitDiagnostics, FitOptions, GammaGamma, ParetoNbd, Period,
    RfmRow, ShiftedBetaGeometric, Transaction, summary_from_transactions,
};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

fn ages(n: usize, lo: f64, hi: f64) -> Vec<f64> {
    // Deterministic spread of ages, like cohorts acquired over a quarter.
    (0..n)
        .map(|i| lo + (hi - lo) * ((i * 7919) % n) as f64 / n as f64)
        .collect()
}

/// Fixed so CI is reproducible; set CLV_PROPTEST_SEED to explore others.
fn seed() -> RngSeed {
    std::env::var("CLV_PROPTEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(RngSeed::Fixed(20_240_601), RngSeed::Fixed)
}

fn fast() -> FitOptions {
    FitOptions {
        restarts: 0,
        ..FitOptions::default()
    }
}

/// Recovery in two ways that scale with the information in the sample:
/// the truth lies inside the 99.99% likelihood-ratio confidence region
/// (2·(ℓ̂ − ℓ(truth)) ≤ χ²₀.₉₉₉₉ with k degrees of freedom) and within 5
/// standard errors in log scale (where the likelihood is closer to
/// quadratic than on the natural scale, which matters on the Pareto/NBD
/// ridge). ℓ̂ ≥ ℓ(truth) also checks the optimiser found the maximum.
fn recovered(
    names: &[&str],
    est: &[f64],
    truth: &[f64],
    d: &FitDiagnostics,
    ll_truth: f64,
) -> Result<(), TestCaseError> {
    const CHI2_9999: [f64; 5] = [0.0, 15.14, 18.42, 21.11, 23.51];
    prop_assert!(d.converged, "not converged: {d:?}");
    prop_assert!(
        d.log_likelihood >= ll_truth - 1e-6,
        "LL {} below truth's {ll_truth}",
        d.log_likelihood
    );
    let lr = 2.0 * (d.log_likelihood - ll_truth);
    prop_assert!(
        lr <= CHI2_9999[est.len()],
        "LR {lr} for {est:?} vs truth {truth:?}"
    );
    for i in 0..est.len() {
        let se_log = d.std_errors[i] / est[i];
        prop_assert!(
            se_log.is_finite() && se_log > 0.0,
            "{}: SE {}",
            names[i],
            d.std_errors[i]
        );
        let z = (est[i] / truth[i]).ln() / se_log;
        prop_assert!(
            z.abs() <= 5.0,
            "{}: est {} truth {} log-SE {se_log}",
            names[i],
            est[i],
            truth[i]
        );
    }
    Ok(())
}

/// A case proptest once found where BFGS stalled on rounding at |g| ≈ 1e-7
/// and the old Nelder–Mead fallback then ran for 100k evaluations.
#[test]
fn gamma_gamma_flat_optimum_regression() {
    let (p, q, v) = (6.599413283508912, 2.026974771426058, 20.964522984592016);
    let truth = GammaGamma::new(p, q, v).expect("valid");
    let mut rows: Vec<RfmRow> = (0..3000)
        .map(|i| RfmRow::new((1 + i % 6) as f64, 1.0, 2.0, 0.0))
        .collect();
    simulate_spend(&truth, &mut rows, 5158276758525969857).expect("sim");
    let (m, d) = GammaGamma::fit(&rows, &fast()).expect("fit");
    assert!(d.converged && d.evaluations < 2000, "{d:?}");
    let ll_truth = truth.log_likelihood(&rows).expect("ll");
    recovered(
        &GammaGamma::PARAM_NAMES,
        &[m.p, m.q, m.v],
        &[p, q, v],
        &d,
        ll_truth,
    )
    .expect("recovered");
}

/// Large data takes the subsample-then-polish path of the optimiser; it
/// must land on the full-data optimum (converged, at least the truth's LL).
#[test]
fn large_fit_uses_subsample_warm_start_and_converges() {
    let truth = BgNbd::new(0.5, 6.0, 0.9, 3.0).expect("valid");
    let rows = simulate_bgnbd(&truth, &ages(80_000, 20.0, 40.0), 11).expect("sim");
    let (m, d) = BgNbd::fit(&rows, &FitOptions::default()).expect("fit");
    let ll_truth = truth.log_likelihood(&rows).expect("ll");
    recovered(
        &BgNbd::PARAM_NAMES,
        &[m.r, m.alpha, m.a, m.b],
        &[0.5, 6.0, 0.9, 3.0],
        &d,
        ll_truth,
    )
    .expect("recovered");
    assert!(d.grad_norm <= 1e-9, "{d:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, failure_persistence: None, rng_seed: seed(), ..ProptestConfig::default() })]

    #[test]
    fn bgnbd_recovers_parameters(r in 0.3f64..1.5, alpha in 2.0f64..10.0, a in 0.5f64..2.0, b in 1.5f64..5.0, seed in any::<u64>()) {
        let truth = BgNbd::new(r, alpha, a, b).expect("valid");
        let rows = simulate_bgnbd(&truth, &ages(4000, 20.0, 40.0), seed).expect("sim");
        let (m, d) = BgNbd::fit(&rows, &fast()).expect("fit");
        let ll_truth = truth.log_likelihood(&rows).expect("ll");
        recovered(&BgNbd::PARAM_NAMES, &[m.r, m.alpha, m.a, m.b], &[r, alpha, a, b], &d, ll_truth)?;
    }

    #[test]
    fn pareto_nbd_recovers_parameters(r in 0.4f64..1.5, alpha in 3.0f64..12.0, s in 0.4f64..1.5, beta in 5.0f64..20.0, seed in any::<u64>()) {
        let truth = ParetoNbd::new(r, alpha, s, beta).expect("valid");
        let rows = simulate_pnbd(&truth, &ages(3000, 20.0, 40.0), seed).expect("sim");
        let (m, d) = ParetoNbd::fit(&rows, &fast()).expect("fit");
        let ll_truth = truth.log_likelihood(&rows).expect("ll");
        recovered(&ParetoNbd::PARAM_NAMES, &[m.r, m.alpha, m.s, m.beta], &[r, alpha, s, beta], &d, ll_truth)?;
    }

    #[test]
    fn gamma_gamma_recovers_parameters(p in 2.0f64..8.0, q in 2.0f64..6.0, v in 5.0f64..30.0, seed in any::<u64>()) {
        let truth = GammaGamma::new(p, q, v).expect("valid");
        let mut rows: Vec<RfmRow> = (0..3000).map(|i| RfmRow::new((1 + i % 6) as f64, 1.0, 2.0, 0.0)).collect();
        simulate_spend(&truth, &mut rows, seed).expect("sim");
        let (m, d) = GammaGamma::fit(&rows, &fast()).expect("fit");
        let ll_truth = truth.log_likelihood(&rows).expect("ll");
        recovered(&GammaGamma::PARAM_NAMES, &[m.p, m.q, m.v], &[p, q, v], &d, ll_truth)?;
    }

    #[test]
    fn sbg_and_bgbb_recover_parameters(alpha in 0.5f64..2.0, beta in 1.0f64..4.0, g in 0.5f64..2.0, dl in 1.0f64..4.0, seed in any::<u64>()) {
        let truth = ShiftedBetaGeometric::new(alpha, beta).expect("valid");
        let obs = simulate_sbg(&truth, 5000, 10, seed).expect("sim");
        let (m, d) = ShiftedBetaGeometric::fit(&obs, &fast()).expect("fit");
        let ll_truth = truth.log_likelihood(&obs).expect("ll");
        recovered(&ShiftedBetaGeometric::PARAM_NAMES, &[m.alpha, m.beta], &[alpha, beta], &d, ll_truth)?;

        let truth = BetaGeometricBetaBinomial::new(alpha, beta, g, dl).expect("valid");
        let rows = simulate_bgbb(&truth, 20_000, 8, seed).expect("sim");
        let (m, d) = BetaGeometricBetaBinomial::fit(&rows, &fast()).expect("fit");
        let ll_truth = truth.log_likelihood(&rows).expect("ll");
        recovered(&BetaGeometricBetaBinomial::PARAM_NAMES, &[m.alpha, m.beta, m.gamma, m.delta], &[alpha, beta, g, dl], &d, ll_truth)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, rng_seed: seed(), ..ProptestConfig::default() })]

    #[test]
    fn transaction_predictions_are_finite_bounded_and_monotone(
        r in 0.05f64..5.0, alpha in 0.1f64..50.0, a in 0.05f64..5.0, b in 0.05f64..10.0, s in 0.05f64..5.0,
        x in 0u32..60, frac in 0.0f64..=1.0, big_t in 0.5f64..100.0,
    ) {
        let t_x = if x == 0 { 0.0 } else { (frac * big_t).max(1e-3) };
        let bg = BgNbd::new(r, alpha, a, b).expect("valid");
        let pn = ParetoNbd::new(r, alpha, s, b * 5.0).expect("valid");
        for (pa, e) in [
            (bg.p_alive(x.into(), t_x, big_t), [1.0, 10.0, 52.0, 300.0].map(|t| bg.expected_purchases(t, x.into(), t_x, big_t))),
            (pn.p_alive(x.into(), t_x, big_t), [1.0, 10.0, 52.0, 300.0].map(|t| pn.expected_purchases(t, x.into(), t_x, big_t))),
        ] {
            prop_assert!(pa.is_finite() && (0.0..=1.0).contains(&pa), "p_alive {pa}");
            prop_assert!(e.iter().all(|v| v.is_finite() && *v >= 0.0), "{e:?}");
            prop_assert!(e.windows(2).all(|w| w[1] >= w[0]), "not monotone: {e:?}");
        }
        let u = [1.0, 10.0, 100.0].map(|t| bg.expected_purchases_unconditional(t));
        prop_assert!(u.iter().all(|v| v.is_finite()) && u.windows(2).all(|w| w[1] >= w[0]), "{u:?}");
    }

    #[test]
    fn bgbb_predictions_are_bounded_and_monotone(
        al in 0.1f64..5.0, be in 0.1f64..5.0, g in 0.1f64..5.0, dl in 0.1f64..5.0, n in 1u32..30, xs in 0.0f64..=1.0, ts in 0.0f64..=1.0,
    ) {
        let m = BetaGeometricBetaBinomial::new(al, be, g, dl).expect("valid");
        let t_x = (ts * f64::from(n)).round() as u32;
        let x = if t_x == 0 { 0 } else { ((xs * f64::from(t_x)).round() as u32).max(1) };
        let pa = m.p_alive(1, x, t_x, n);
        prop_assert!(pa.is_finite() && (0.0..=1.0 + 1e-12).contains(&pa), "{pa}");
        let e = [1u32, 5, 20].map(|k| m.expected_transactions(k, x, t_x, n));
        prop_assert!(e.iter().all(|v| v.is_finite() && *v >= 0.0) && e.windows(2).all(|w| w[1] >= w[0]), "{e:?}");
    }

    #[test]
    fn summary_invariants_hold(
        tx in prop::collection::vec((0u8..20, 0i32..400, 0.0f64..500.0), 1..200),
        end in 0i32..450,
        period in prop_oneof![Just(Period::Day), Just(Period::Week), Just(Period::Month)],
    ) {
        let tx: Vec<Transaction<u8>> = tx.into_iter().map(|(c, d, a)| Transaction { customer: c, day: 9000 + d, amount: a }).collect();
        match summary_from_transactions(&tx, 9000 + end, period) {
            Ok(rows) => {
                for s in rows {
                    prop_assert!(s.frequency >= 0.0 && s.frequency.fract() == 0.0);
                    prop_assert!(s.recency >= 0.0 && s.recency <= s.t && s.t >= 0.0);
                    prop_assert!((s.frequency == 0.0) == (s.recency == 0.0));
                    prop_assert!(s.monetary_value >= 0.0 && (s.frequency > 0.0 || s.monetary_value == 0.0));
                }
            }
            Err(e) => prop_assert!(tx.iter().all(|t| period.start(t.day) > period.start(9000 + end)), "{e}"),
        }
    }
}
