use super::*;
use crate::clv::optimize::FitProblem;

/// lifetimes 0.11.3 fit on the donations data (tools/lifetimes_reference.json).
fn lifetimes_fit() -> BetaGeometricBetaBinomial {
    BetaGeometricBetaBinomial::new(
        1.2035223936080381,
        0.7497163581757634,
        0.6567181695499512,
        2.7834419828876076,
    )
    .expect("valid")
}

#[test]
fn gradient_matches_finite_differences() {
    let rows = [
        BgBbRow {
            frequency: 0,
            recency: 0,
            n_periods: 6,
            weight: 10.0,
        },
        BgBbRow {
            frequency: 2,
            recency: 4,
            n_periods: 6,
            weight: 3.0,
        },
        BgBbRow {
            frequency: 5,
            recency: 6,
            n_periods: 6,
            weight: 1.0,
        },
    ];
    let p = BgBbProblem::build(&rows).expect("valid");
    let lp = [0.2, -0.3, -0.4, 1.0];
    let mut g = [0.0; 4];
    p.log_lik_grad(&lp, &mut g);
    for j in 0..4 {
        let (mut up, mut dn) = (lp, lp);
        up[j] += 1e-6;
        dn[j] -= 1e-6;
        let mut t = [0.0; 4];
        let fd = (p.log_lik_grad(&up, &mut t) - p.log_lik_grad(&dn, &mut t)) / 2e-6;
        assert!(
            (g[j] - fd).abs() < 1e-6 * fd.abs().max(1.0),
            "param {j}: {} vs {fd}",
            g[j]
        );
    }
}

#[test]
fn predictions_match_lifetimes() {
    let m = lifetimes_fit();
    let cases = [
        (0, 0, 6, 0.10813327510958216, 0.07286333894085113),
        (3, 5, 6, 0.7668260001149803, 1.804702963218531),
        (6, 6, 6, 0.930433577508695, 3.7525442466077985),
        (1, 1, 6, 0.06946180501686049, 0.08569570763928568),
    ];
    for (x, tx, n, pa, e) in cases {
        // lifetimes adds 1e-15 inside its log-likelihood; allow for that.
        assert!(
            (m.p_alive(1, x, tx, n) - pa).abs() < 1e-9,
            "{} vs {pa}",
            m.p_alive(1, x, tx, n)
        );
        assert!((m.expected_transactions(5, x, tx, n) - e).abs() < 1e-9 * e.max(1.0));
    }
}

#[test]
fn unconditional_distribution_is_consistent() {
    let m = lifetimes_fit();
    for n in [1u32, 6, 20] {
        let total: f64 = (0..=n).map(|x| m.prob_n_transactions(n, x)).sum();
        let mean: f64 = (0..=n)
            .map(|x| f64::from(x) * m.prob_n_transactions(n, x))
            .sum();
        assert!((total - 1.0).abs() < 1e-12, "n={n}: {total}");
        assert!((mean - m.expected_transactions_unconditional(n)).abs() < 1e-12);
    }
}

#[test]
fn invalid_patterns_are_errors() {
    for (x, tx, n) in [(3, 2, 6), (0, 2, 6), (1, 7, 6), (0, 0, 0)] {
        let rows = [BgBbRow {
            frequency: x,
            recency: tx,
            n_periods: n,
            weight: 1.0,
        }];
        assert!(
            BetaGeometricBetaBinomial::fit(&rows, &FitOptions::default()).is_err(),
            "{x} {tx} {n}"
        );
    }
    let neg = [BgBbRow {
        frequency: 0,
        recency: 0,
        n_periods: 6,
        weight: -1.0,
    }];
    assert!(BetaGeometricBetaBinomial::fit(&neg, &FitOptions::default()).is_err());
    assert!(BetaGeometricBetaBinomial::fit(&[], &FitOptions::default()).is_err());
}
