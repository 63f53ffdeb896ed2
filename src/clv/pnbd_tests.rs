use super::*;

/// lifetimes 0.11.3 fit on CDNOW (tools/lifetimes_reference.json).
fn lifetimes_fit() -> ParetoNbd {
    ParetoNbd::new(
        0.5532801171076146,
        10.577580523995957,
        0.6062499234011411,
        11.669145738619525,
    )
    .expect("valid")
}

fn small_rows() -> Vec<RfmRow> {
    vec![
        RfmRow::new(0.0, 0.0, 30.0, 0.0),
        RfmRow::new(2.0, 12.5, 30.0, 0.0),
        RfmRow::new(5.0, 29.0, 35.0, 0.0),
        RfmRow {
            weight: 3.0,
            ..RfmRow::new(1.0, 3.0, 20.0, 0.0)
        },
        RfmRow::new(3.0, 38.0, 38.0, 0.0),
    ]
}

#[test]
fn gradient_matches_finite_differences_on_both_branches() {
    let p = PnbdProblem {
        cols: RfmColumns::build(&small_rows()),
    };
    // α > β, α < β, and α ≈ β.
    for lp in [
        [-0.6, -1.0, -0.5, -1.8],
        [-0.6, -1.8, -0.5, -0.4],
        [0.2, -1.0, 0.1, -1.0 + 1e-9],
    ] {
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
                "{lp:?} param {j}: {} vs {fd}",
                g[j]
            );
        }
    }
}

#[test]
fn a0_matches_the_integral_definition() {
    // A₀ = (r+s+x) ∫_{tx}^{T} (α+τ)^−(r+x) (β+τ)^−(s+1) dτ.
    let (r, alpha, s, beta) = (0.55, 3.0, 0.6, 40.0);
    for &(x, tx, t) in &[(0.0, 0.0, 38.0), (4.0, 10.0, 38.0), (20.0, 37.0, 38.0)] {
        let c = |v: f64| D4::cst(v);
        let got = ln_a0(c(r), c(alpha), c(s), c(beta), x, tx, t).v;
        let integral = gauss_legendre(tx, t, 64, |tau| {
            (-(r + x) * (alpha + tau).ln() - (s + 1.0) * (beta + tau).ln()).exp()
        });
        let want = ((r + s + x) * integral).ln();
        assert!((got - want).abs() < 1e-10, "x={x}: {got} vs {want}");
    }
}

#[test]
fn predictions_match_lifetimes() {
    let m = lifetimes_fit();
    let cases = [
        (2.0, 30.43, 38.86, 0.8691146644020734, 1.8507625572514628),
        (0.0, 0.0, 38.86, 0.29509579367698907, 0.13617056712923434),
        (7.0, 35.0, 38.86, 0.9360550927266403, 5.896742524117027),
        (1.0, 1.71, 38.86, 0.16787067674284326, 0.21747021704929126),
        (29.0, 38.43, 38.86, 0.9941074209480238, 24.50271280171358),
    ];
    for (x, tx, t, pa, e) in cases {
        assert!(
            (m.p_alive(x, tx, t) - pa).abs() < 1e-10,
            "{} vs {pa}",
            m.p_alive(x, tx, t)
        );
        assert!((m.expected_purchases(52.0, x, tx, t) - e).abs() < 1e-9 * e);
    }
    for (t, e) in [
        (1.0, 0.051007177978354266),
        (10.0, 0.4278011278522222),
        (52.0, 1.4734606392068412),
    ] {
        assert!((m.expected_purchases_unconditional(t) - e).abs() < 1e-12 * e);
    }
}

#[test]
fn purchase_distribution_sums_to_one_with_the_right_mean() {
    for m in [
        lifetimes_fit(),
        ParetoNbd::new(2.0, 5.0, 1.0, 80.0).expect("valid"),
    ] {
        for t in [1.0, 52.0, 300.0] {
            let (mut total, mut mean) = (0.0, 0.0);
            for n in 0..5000u32 {
                let p = m.prob_n_purchases(t, n);
                total += p;
                mean += f64::from(n) * p;
            }
            let e = m.expected_purchases_unconditional(t);
            assert!((total - 1.0).abs() < 1e-9, "{m:?} t={t}: {total}");
            assert!(
                (mean - e).abs() < 1e-7 * e.max(1.0),
                "{m:?} t={t}: {mean} vs {e}"
            );
        }
    }
}

#[test]
fn s_equal_one_is_the_continuous_limit() {
    let a = ParetoNbd::new(0.5, 10.0, 1.0, 12.0).expect("valid");
    let b = ParetoNbd::new(0.5, 10.0, 1.0 + 1e-7, 12.0).expect("valid");
    let (ea, eb) = (
        a.expected_purchases(52.0, 3.0, 20.0, 38.0),
        b.expected_purchases(52.0, 3.0, 20.0, 38.0),
    );
    assert!((ea - eb).abs() < 1e-6 * ea);
}
