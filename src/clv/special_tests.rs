//! Reference values computed once with SciPy 1.17.1 (`scipy.special.gammaln`,
//! `digamma`, `hyp2f1`) in the throwaway venv described in NOTES.md.

use super::*;

fn close(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs().max(1.0)
}

#[test]
fn ln_gamma_and_digamma_match_scipy() {
    let cases: [(f64, f64, f64); 15] = [
        (1e-08, 18.42068073818021, -100000000.57721564),
        (0.1, 2.252712651734206, -10.423754940411076),
        (0.5, 0.5723649429247, -1.9635100260214235),
        (1.0, 0.0, -0.5772156649015329),
        (1.5, -0.12078223763524526, 0.03648997397857652),
        (2.0, 0.0, 0.42278433509846713),
        (2.5, 0.2846828704729192, 0.7031566406452432),
        (3.7, 1.428072326665388, 1.1671535393615113),
        (9.99, 12.779315214350195, 2.250700372831201),
        (10.0, 12.801827480081469, 2.251752589066721),
        (25.3, 55.746181183584596, 3.210911380182536),
        (1000.0, 5905.220423209181, 6.907255195648812),
        (1000000.0, 12815504.569147611, 13.81551005796419),
        (-0.5, 1.2655121234846454, 0.03648997397857651),
        (-2.3, 0.36956666345500805, 3.3173231575618236),
    ];
    for (x, lg, dg) in cases {
        assert!(
            close(ln_gamma(x), lg, 4e-15),
            "ln_gamma({x}) = {} want {lg}",
            ln_gamma(x)
        );
        assert!(
            close(digamma(x), dg, 4e-15),
            "digamma({x}) = {} want {dg}",
            digamma(x)
        );
    }
    assert_eq!(ln_gamma(0.0), f64::INFINITY);
    assert!(digamma(-3.0).is_nan());
}

#[test]
fn hyp2f1_matches_scipy() {
    let cases: [(f64, f64, f64, f64, f64); 14] = [
        (0.5, 1.5, 2.5, 0.3, 1.1080625510569324),
        (1.0, 1.0, 2.0, 0.5, 1.3862943611198901),
        (2.5, 3.5, 1.5, 0.9, 69570.10852370442),
        (0.243, 2.426, 2.219, 0.6, 1.2850244482139312),
        (30.24, 32.43, 32.22, 0.7, 8272055096289040.0),
        (1.2, 0.8, 3.0, -0.5, 0.8706822700957422),
        (1.2, 0.8, 3.0, -5.0, 0.4760254609954222),
        (3.0, 2.0, 4.5, 0.99, 74.61083692457464),
        (-3.0, 2.0, 4.5, 2.5, -0.11888111888111919),
        (1.16, 1.61, 2.16, 0.09, 1.0846248605908528),
        (5.0, 0.3, 6.0, 0.999, 2.101529035448682),
        (0.5, 0.5, 0.3, 0.4, 1.5155031022026866),
        (2.0, 3.0, -1.5, 0.2, 19.014273525786304),
        (10.5, 11.6, 12.1, 0.95, 10999313092629.64),
    ];
    for (a, b, c, z, want) in cases {
        let got = hyp2f1(a, b, c, z);
        assert!(
            close(got, want, 1e-12),
            "hyp2f1({a},{b},{c},{z}) = {got} want {want}"
        );
    }
    assert!(hyp2f1(1.0, 1.0, -2.0, 0.5).is_nan());
    assert!(hyp2f1(1.0, 1.0, 2.0, 1.0).is_nan());
}

#[test]
fn unit_a_series_matches_general_hyp2f1_and_finite_differences() {
    for &(p, q, z) in &[
        (1.3, 2.9, 0.4),
        (0.2, 5.0, 0.95),
        (30.0, 31.6, 0.09),
        (2.0, 2.5, 0.0),
    ] {
        let [v, dp, dq, dz] = hyp2f1_unit_a_with_grad(p, q, z);
        assert!(close(v, hyp2f1(1.0, p, q, z), 1e-13));
        let h = 1e-6;
        let f = |p: f64, q: f64, z: f64| hyp2f1_unit_a_with_grad(p, q, z)[0];
        let fd_p = (f(p + h, q, z) - f(p - h, q, z)) / (2.0 * h);
        let fd_q = (f(p, q + h, z) - f(p, q - h, z)) / (2.0 * h);
        let fd_z = (f(p, q, z + h) - f(p, q, (z - h).max(0.0))) / (z + h - (z - h).max(0.0));
        assert!(close(dp, fd_p, 1e-7), "dp {dp} vs {fd_p}");
        assert!(close(dq, fd_q, 1e-7), "dq {dq} vs {fd_q}");
        assert!(close(dz, fd_z, 1e-6), "dz {dz} vs {fd_z}");
    }
}

#[test]
fn log_helpers_are_stable() {
    assert_eq!(log_add_exp(f64::NEG_INFINITY, 2.0), 2.0);
    assert!(close(
        log_add_exp(1000.0, 1000.0),
        1000.0 + std::f64::consts::LN_2,
        1e-15
    ));
    assert!(close(log1m_exp(-1e-20), (1e-20f64).ln(), 1e-12));
    assert!(close(log1m_exp(-50.0), -(-50.0f64).exp(), 1e-12));
    assert!(close(ln_beta(2.0, 3.0), (1.0f64 / 12.0).ln(), 1e-14));
}

#[test]
fn gauss_legendre_integrates_smooth_functions() {
    let v = gauss_legendre(0.0, 3.0, 4, |x| (-x).exp() * x.powi(5));
    let exact =
        120.0 * (1.0 - (-3.0f64).exp() * (1.0 + 3.0 + 4.5 + 4.5 + 27.0 / 8.0 + 81.0 / 40.0));
    assert!(close(v, exact, 1e-13), "{v} vs {exact}");
}
