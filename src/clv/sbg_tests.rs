use super::*;

/// FH 2007 Table 1, "regular" cohort survivors.
const REGULAR: [f64; 8] = [1000.0, 631.0, 468.0, 382.0, 326.0, 290.0, 262.0, 241.0];

#[test]
fn fits_the_paper_regular_cohort() {
    let obs = SbgObservation::from_survivors(&REGULAR).expect("valid");
    let (m, d) = ShiftedBetaGeometric::fit(&obs, &FitOptions::default()).expect("fit");
    assert!(d.converged);
    assert!(
        (m.alpha - 0.704).abs() < 0.001 && (m.beta - 1.182).abs() < 0.001,
        "{m:?}"
    );
}

#[test]
fn gradient_matches_finite_differences() {
    let p = SbgProblem::build(&SbgObservation::from_survivors(&REGULAR).expect("valid"))
        .expect("valid");
    let lp = [-0.2, 0.3];
    let mut g = [0.0; 2];
    p.log_lik_grad(&lp, &mut g);
    for j in 0..2 {
        let (mut up, mut dn) = (lp, lp);
        up[j] += 1e-6;
        dn[j] -= 1e-6;
        let mut t = [0.0; 2];
        let fd = (p.log_lik_grad(&up, &mut t) - p.log_lik_grad(&dn, &mut t)) / 2e-6;
        assert!((g[j] - fd).abs() < 1e-6 * fd.abs().max(1.0));
    }
}

#[test]
fn curves_and_derl_are_consistent() {
    let m = ShiftedBetaGeometric::new(0.704, 1.182).expect("valid");
    let s = m.survival_curve(10);
    for t in 1..=10u32 {
        assert!((s[t as usize] - m.survival(t)).abs() < 1e-12);
        let churn = m.survival(t - 1) - m.survival(t);
        assert!((churn - m.churn_probability(t)).abs() < 1e-12);
    }
    let r = m.retention_curve(10);
    assert!(r.windows(2).all(|w| w[1] > w[0]));
    // DERL by brute-force summation of the definition.
    for renewals in [0u32, 4] {
        let n = renewals + 1;
        let d = 0.1;
        let direct: f64 = (0..5000u32)
            .map(|k| m.survival(n + k) / m.survival(n - 1) / (1.0f64 + d).powi(k as i32))
            .sum();
        assert!(
            (m.derl(d, renewals) - direct).abs() < 1e-9 * direct,
            "{} vs {direct}",
            m.derl(d, renewals)
        );
    }
    let a2 = ShiftedBetaGeometric::new(2.0, 3.0).expect("valid");
    assert!((a2.derl(0.0, 0) - 3.0).abs() < 1e-12);
    assert!((a2.derl(1e-4, 0) - 3.0).abs() < 1e-2);
    assert!(m.derl(-0.1, 0).is_nan());
}

#[test]
fn bad_observations_are_errors() {
    assert!(SbgObservation::from_recency(0, 8).is_err());
    assert!(SbgObservation::from_recency(9, 8).is_err());
    assert!(SbgObservation::from_survivors(&[10.0, 12.0]).is_err());
    let bad = [SbgObservation {
        period: 0,
        churned: true,
        weight: 1.0,
    }];
    assert!(ShiftedBetaGeometric::fit(&bad, &FitOptions::default()).is_err());
}
