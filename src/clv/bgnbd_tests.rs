use super::*;
use crate::clv::optimize::FitProblem;
use crate::clv::special::hyp2f1;

/// lifetimes 0.11.3 fit on CDNOW (tools/lifetimes_reference.json).
fn cdnow() -> BgNbd {
    BgNbd::new(
        0.24259292827982148,
        4.413532265271809,
        0.7928859664406578,
        2.4257523826257374,
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
        RfmRow::new(0.0, 0.0, 38.0, 0.0),
    ]
}

#[test]
fn gradient_matches_finite_differences() {
    let p = BgNbdProblem {
        cols: RfmColumns::build(&small_rows()),
    };
    let lp = [-1.2, -2.0, -0.3, 0.9];
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
fn bracket_agrees_with_direct_hypergeometric_and_is_smooth_at_a_equal_1() {
    for &(rr, bb, a, z) in &[
        (0.24f64, 2.43f64, 0.79f64, 0.57f64),
        (2.24, 4.43, 0.79, 0.4),
        (7.0, 9.0, 2.5, 0.8),
        (0.5, 0.7, 1.3, 0.1),
    ] {
        let direct = (1.0 - (1.0 - z).powf(rr) * hyp2f1(rr, bb, a + bb - 1.0, z)) / (a - 1.0);
        let got = purchases_bracket(rr, bb, a, z);
        assert!(
            (got - direct).abs() < 1e-11 * direct.abs(),
            "{got} vs {direct}"
        );
    }
    let at1 = purchases_bracket(0.5, 2.0, 1.0, 0.6);
    let near = 0.5
        * (purchases_bracket(0.5, 2.0, 1.0 - 1e-6, 0.6)
            + purchases_bracket(0.5, 2.0, 1.0 + 1e-6, 0.6));
    assert!(at1.is_finite() && (at1 - near).abs() < 1e-9);
}

#[test]
fn predictions_match_lifetimes() {
    let m = cdnow();
    // (x, tx, T, p_alive, E[purchases in 52 weeks]) from lifetimes 0.11.3.
    let cases = [
        (2.0, 30.43, 38.86, 0.7266091367990596, 1.5585837617716805),
        (0.0, 0.0, 38.86, 1.0, 0.25166572540726884),
        (7.0, 35.0, 38.86, 0.8437869076230664, 5.520663178099699),
        (1.0, 1.71, 38.86, 0.21222738807220765, 0.25990707940849045),
        (29.0, 38.43, 38.86, 0.9662790837132983, 24.610736566999194),
    ];
    for (x, tx, t, pa, e) in cases {
        assert!((m.p_alive(x, tx, t) - pa).abs() < 1e-12);
        assert!(
            (m.expected_purchases(52.0, x, tx, t) - e).abs() < 1e-10 * e,
            "{} vs {e}",
            m.expected_purchases(52.0, x, tx, t)
        );
    }
    for (t, e) in [
        (1.0, 0.0531847368956294),
        (10.0, 0.43176098952266456),
        (52.0, 1.4440207698690783),
        (100.0, 2.150773418210032),
    ] {
        assert!((m.expected_purchases_unconditional(t) - e).abs() < 1e-11 * e);
    }
    for (n, p) in [
        (0, 0.5389486598767275),
        (1, 0.20440435642282115),
        (2, 0.09047622824442947),
        (5, 0.020576149859387095),
        (10, 0.004641835931584189),
    ] {
        assert!(
            (m.prob_n_purchases(52.0, n) - p).abs() < 1e-12,
            "n={n}: {} vs {p}",
            m.prob_n_purchases(52.0, n)
        );
    }
}

#[test]
fn purchase_distribution_sums_to_one_with_the_right_mean() {
    let m = cdnow();
    for t in [0.5, 52.0, 400.0] {
        let (mut total, mut mean) = (0.0, 0.0);
        for n in 0..3000u32 {
            let p = m.prob_n_purchases(t, n);
            total += p;
            mean += f64::from(n) * p;
        }
        assert!((total - 1.0).abs() < 1e-10, "t={t}: {total}");
        let e = m.expected_purchases_unconditional(t);
        assert!((mean - e).abs() < 1e-8 * e.max(1.0), "t={t}: {mean} vs {e}");
    }
}

#[test]
fn out_of_domain_predictions_are_nan_and_score_validates() {
    let m = cdnow();
    assert!(m.p_alive(2.0, 40.0, 38.0).is_nan());
    assert!(m.expected_purchases(-1.0, 2.0, 3.0, 38.0).is_nan());
    assert!(m.score(&[RfmRow::new(1.0, 0.0, 3.0, 0.0)], 52.0).is_err());
    assert!(m.score(&small_rows(), f64::NAN).is_err());
    assert!(BgNbd::new(0.0, 1.0, 1.0, 1.0).is_err());
}
