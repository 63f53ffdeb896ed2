//! Fits on the shared data sets against the published maximum-likelihood
//! values (../shared/README.md) and the papers' estimates.

use holdfast::clv::{
    BetaGeometricBetaBinomial, BgNbd, ClvOptions, FitOptions, GammaGamma, ParetoNbd, Period,
    ShiftedBetaGeometric, customer_lifetime_values,
};

use super::data::{cdnow_rfm, donations, sbg_cohort};

fn within(got: f64, want: f64, rel: f64) -> bool {
    ((got - want) / want).abs() <= rel
}

/// The README lists LLs to 3 decimals; "at least as high" allows for that
/// rounding (half a unit in the last place).
const LL_ROUNDING: f64 = 5e-4;

#[test]
fn bgnbd_matches_published_mle_on_cdnow() {
    let (m, d) = BgNbd::fit(&cdnow_rfm(), &FitOptions::default()).expect("fit");
    assert!(d.converged, "{d:?}");
    for (name, got, want) in [
        ("r", m.r, 0.242593),
        ("alpha", m.alpha, 4.413532),
        ("a", m.a, 0.792886),
        ("b", m.b, 2.425752),
    ] {
        assert!(within(got, want, 1e-3), "{name}: {got} vs {want}");
    }
    assert!(
        d.log_likelihood >= -9582.426 - LL_ROUNDING,
        "LL {}",
        d.log_likelihood
    );
    // lifetimes' standard errors (tools/lifetimes_reference.json).
    for (got, want) in d.std_errors.iter().zip([
        0.012557320698193175,
        0.3782214570439264,
        0.18571907191208892,
        0.7053453435331155,
    ]) {
        assert!(within(*got, want, 1e-3), "SE {got} vs {want}");
    }
}

#[test]
fn bgnbd_penalizer_matches_lifetimes() {
    let opts = FitOptions {
        penalizer: 0.1,
        ..FitOptions::default()
    };
    let (m, d) = BgNbd::fit(&cdnow_rfm(), &opts).expect("fit");
    assert!(d.converged);
    // lifetimes 0.11.3 BetaGeoFitter(penalizer_coef=0.1) on the same data.
    for (got, want) in [
        (m.r, 0.23094701386573424),
        (m.alpha, 4.2192875236191),
        (m.a, 0.12865474020745932),
        (m.b, 0.26712679605042017),
    ] {
        assert!(within(got, want, 1e-3), "{got} vs {want}");
    }
}

#[test]
fn pareto_nbd_matches_published_mle_on_cdnow() {
    let (m, d) = ParetoNbd::fit(&cdnow_rfm(), &FitOptions::default()).expect("fit");
    assert!(d.converged, "{d:?}");
    for (name, got, want) in [
        ("r", m.r, 0.553262),
        ("alpha", m.alpha, 10.577396),
        ("s", m.s, 0.606237),
        ("beta", m.beta, 11.669257),
    ] {
        assert!(within(got, want, 1e-3), "{name}: {got} vs {want}");
    }
    assert!(
        d.log_likelihood >= -9594.974 - LL_ROUNDING,
        "LL {}",
        d.log_likelihood
    );
    assert!(d.std_errors.iter().all(|s| s.is_finite() && *s > 0.0));
}

#[test]
fn gamma_gamma_matches_published_mle_on_cdnow() {
    let (m, d) = GammaGamma::fit(&cdnow_rfm(), &FitOptions::default()).expect("fit");
    assert!(d.converged, "{d:?}");
    for (name, got, want) in [
        ("p", m.p, 6.248802),
        ("q", m.q, 3.744588),
        ("v", m.v, 15.447748),
    ] {
        assert!(within(got, want, 1e-3), "{name}: {got} vs {want}");
    }
    // lifetimes: LL −4055.9232435, SEs 1.18969, 0.29017, 4.15999.
    assert!(d.log_likelihood >= -4055.9232435 - 1e-6);
    for (got, want) in
        d.std_errors
            .iter()
            .zip([1.1896870480823893, 0.2901656174496003, 4.159993928428283])
    {
        assert!(within(*got, want, 2e-3), "SE {got} vs {want}");
    }
}

#[test]
fn clv_matches_lifetimes_on_cdnow() {
    let rows = cdnow_rfm();
    let bg = BgNbd::new(
        0.24259292827982148,
        4.413532265271809,
        0.7928859664406578,
        2.4257523826257374,
    )
    .expect("valid");
    let gg =
        GammaGamma::new(6.24880249607099, 3.7445884609237634, 15.447748064943575).expect("valid");
    let clv = customer_lifetime_values(&bg, &gg, &rows[..5], &ClvOptions::for_period(Period::Week))
        .expect("clv");
    // lifetimes GammaGammaFitter.customer_lifetime_value(time=12, discount_rate=0.01, freq="W").
    let want = [
        36.278495763627944,
        4.637466328570688,
        8.34409312180974,
        8.34409312180974,
        8.34409312180974,
    ];
    for (g, w) in clv.iter().zip(want) {
        assert!(within(*g, w, 1e-9), "{g} vs {w}");
    }
}

#[test]
fn sbg_reproduces_fader_hardie_2007_cohorts() {
    for (cohort, alpha, beta) in [("regular", 0.704, 1.182), ("highend", 0.668, 3.806)] {
        let (m, d) =
            ShiftedBetaGeometric::fit(&sbg_cohort(cohort), &FitOptions::default()).expect("fit");
        assert!(d.converged);
        assert!(
            (m.alpha - alpha).abs() < 5e-4 && (m.beta - beta).abs() < 5e-4,
            "{cohort}: {m:?}"
        );
    }
    // Independent scipy fit of the same likelihood (tools/lifetimes_reference.json).
    let (m, d) =
        ShiftedBetaGeometric::fit(&sbg_cohort("regular"), &FitOptions::default()).expect("fit");
    assert!(within(m.alpha, 0.7040773343749871, 1e-5) && within(m.beta, 1.1820431117498196, 1e-5));
    assert!(d.log_likelihood >= -1680.2651884632864 - 1e-9);
}

#[test]
fn bgbb_reproduces_donations_estimates() {
    let (m, d) = BetaGeometricBetaBinomial::fit(&donations(), &FitOptions::default()).expect("fit");
    assert!(d.converged, "{d:?}");
    for (got, want) in [
        (m.alpha, 1.204),
        (m.beta, 0.750),
        (m.gamma, 0.657),
        (m.delta, 2.783),
    ] {
        assert!((got - want).abs() < 1e-3, "{m:?}");
    }
    // lifetimes 0.11.3: LL −33225.5813 (its 1e-15 guard term is negligible here).
    assert!(
        d.log_likelihood >= -33225.58127434613 - 1e-6,
        "LL {}",
        d.log_likelihood
    );
}

/// No customer ever repeats: the likelihood rises towards r → 0 (a
/// boundary), so there is no interior maximum. The fit must say so rather
/// than return an ordinary-looking result.
#[test]
fn degenerate_data_comes_with_advice() {
    let rows: Vec<holdfast::clv::RfmRow> = (0..500)
        .map(|i| holdfast::clv::RfmRow::new(0.0, 0.0, 10.0 + (i % 30) as f64, 0.0))
        .collect();
    match BgNbd::fit(&rows, &FitOptions::default()) {
        Ok((m, d)) => {
            assert!(d.advice.is_some(), "{m:?} {d:?}");
            assert!(
                !d.converged || d.std_errors.iter().any(|s| !s.is_finite()),
                "{d:?}"
            );
        }
        Err(e) => assert!(e.to_string().contains("fit failed"), "{e}"),
    }
}

#[test]
fn fit_options_are_validated() {
    let rows = cdnow_rfm();
    for bad in [
        FitOptions {
            penalizer: -1.0,
            ..FitOptions::default()
        },
        FitOptions {
            tol: 0.0,
            ..FitOptions::default()
        },
        FitOptions {
            max_iter: 0,
            ..FitOptions::default()
        },
    ] {
        assert!(BgNbd::fit(&rows, &bad).is_err());
    }
}
