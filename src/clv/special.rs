//! Special functions the BTYD models need: log-gamma, digamma, log-beta,
//! stable log-sum-exp helpers and the Gauss hypergeometric function.
//!
//! Written here rather than pulled from a crate so the numeric core has no
//! dependencies beyond the ones the project allows, and so the accuracy is
//! known: every function is checked against SciPy 1.17 values in the tests.

use std::f64::consts::PI;

/// 0.5 * ln(2π), the constant of Stirling's series.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_7;

/// Below this argument log-gamma is shifted up by the recurrence so that the
/// Stirling series (truncated after the x^-13 term) is accurate to ~1e-16.
const STIRLING_MIN: f64 = 10.0;

/// ln |Γ(x)|.
///
/// Stirling's series for x ≥ 10; below that the recurrence
/// Γ(x) = Γ(x + n) / (x (x+1) … (x+n-1)); reflection for x ≤ 0.
/// Absolute error ≲ 3e-15 for 0 < x < 1e300. Poles give +∞.
pub fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        if x == x.floor() {
            return f64::INFINITY;
        }
        // Reflection: Γ(x) Γ(1-x) = π / sin(πx).
        return (PI / (PI * x).sin().abs()).ln() - ln_gamma(1.0 - x);
    }
    if x < STIRLING_MIN {
        let mut prod = 1.0;
        let mut y = x;
        while y < STIRLING_MIN {
            prod *= y;
            y += 1.0;
        }
        return stirling_ln_gamma(y) - prod.ln();
    }
    stirling_ln_gamma(x)
}

fn stirling_ln_gamma(x: f64) -> f64 {
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    // Bernoulli terms B_{2k} / (2k (2k-1) x^{2k-1}).
    let series = inv
        * (1.0 / 12.0
            + inv2
                * (-1.0 / 360.0
                    + inv2
                        * (1.0 / 1260.0
                            + inv2
                                * (-1.0 / 1680.0
                                    + inv2
                                        * (1.0 / 1188.0
                                            + inv2 * (-691.0 / 360_360.0 + inv2 / 156.0))))));
    (x - 0.5) * x.ln() - x + HALF_LN_2PI + series
}

/// Digamma ψ(x) = d/dx ln Γ(x).
///
/// Recurrence up to x ≥ 10 then the asymptotic series; reflection for x ≤ 0.
pub fn digamma(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        if x == x.floor() {
            return f64::NAN;
        }
        // ψ(1-x) - ψ(x) = π cot(πx).
        return digamma(1.0 - x) - PI / (PI * x).tan();
    }
    let mut acc = 0.0;
    let mut y = x;
    while y < STIRLING_MIN {
        acc -= 1.0 / y;
        y += 1.0;
    }
    let inv = 1.0 / y;
    let inv2 = inv * inv;
    let series = inv2
        * (1.0 / 12.0
            - inv2
                * (1.0 / 120.0
                    - inv2
                        * (1.0 / 252.0
                            - inv2
                                * (1.0 / 240.0 - inv2 * (1.0 / 132.0 - inv2 * 691.0 / 32_760.0)))));
    acc + y.ln() - 0.5 * inv - series
}

/// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b).
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// ln(e^a + e^b) without overflow; −∞ operands are allowed.
pub fn log_add_exp(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// ln(1 − e^x) for x ≤ 0, accurate near both ends (Mächler 2012).
pub fn log1m_exp(x: f64) -> f64 {
    if x > -std::f64::consts::LN_2 {
        (-x.exp_m1()).ln()
    } else {
        (-x.exp()).ln_1p()
    }
}

/// Relative size of the last term at which a positive series is cut.
const SERIES_EPS: f64 = 1e-17;
/// Hard cap on series terms; reached only for |z| within ~1e-5 of 1.
const SERIES_MAX_TERMS: usize = 2_000_000;

/// Gauss hypergeometric function ₂F₁(a, b; c; z) for real arguments, z < 1.
///
/// * a or b a non-positive integer: the terminating polynomial, any z.
/// * z < 0: Pfaff's transformation (1−z)^(−a) ₂F₁(a, c−b; c; z/(z−1)) maps
///   the argument into (0, 1), where the series has positive-ish terms.
/// * 0 ≤ z < 1: the power series, or Euler's transformation
///   (1−z)^(c−a−b) ₂F₁(c−a, c−b; c; z) when c−a−b < 0, which turns a series
///   whose terms grow like n^(a+b−c−1) zⁿ into one whose terms shrink like
///   n^(c−a−b−1) zⁿ.
///
/// Returns NaN when c is a non-positive integer, z ≥ 1, or the series did not
/// converge within the term cap (z within ~1e-5 of 1).
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if !(a.is_finite() && b.is_finite() && c.is_finite() && z.is_finite()) {
        return f64::NAN;
    }
    if is_non_positive_integer(a) || is_non_positive_integer(b) {
        return hyp2f1_series(a, b, c, z);
    }
    if is_non_positive_integer(c) || z >= 1.0 {
        return f64::NAN;
    }
    if z == 0.0 {
        return 1.0;
    }
    if z < 0.0 {
        let w = z / (z - 1.0);
        // Prefer the Pfaff variant whose new parameters give the faster
        // series: the one keeping the smaller of a, b as the prefactor power.
        let (p, q) = if a.abs() <= b.abs() { (a, b) } else { (b, a) };
        return (1.0 - z).powf(-p) * hyp2f1_nonneg(p, c - q, c, w);
    }
    hyp2f1_nonneg(a, b, c, z)
}

fn hyp2f1_nonneg(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let excess = c - a - b;
    if excess < 0.0 {
        return (1.0 - z).powf(excess) * hyp2f1_series(c - a, c - b, c, z);
    }
    hyp2f1_series(a, b, c, z)
}

fn is_non_positive_integer(v: f64) -> bool {
    v <= 0.0 && v == v.floor()
}

/// Plain power series Σ (a)ₙ (b)ₙ / ((c)ₙ n!) zⁿ for |z| < 1.
///
/// Stops once the terms are past their peak and the geometric tail bound
/// |tₙ| R / (1 − R), with R = max(|ratio|, |z|), is below 1e-17 of the sum.
fn hyp2f1_series(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    for n in 0..SERIES_MAX_TERMS {
        let nf = n as f64;
        let num = (a + nf) * (b + nf);
        if num == 0.0 {
            // Terminating polynomial.
            return sum;
        }
        let ratio = num / ((c + nf) * (nf + 1.0)) * z;
        term *= ratio;
        sum += term;
        let r = ratio.abs().max(z.abs());
        if r < 1.0 && term.abs() * r / (1.0 - r) <= SERIES_EPS * sum.abs() {
            return sum;
        }
        if !sum.is_finite() {
            return f64::NAN;
        }
    }
    f64::NAN
}

/// ₂F₁(1, p; q; z) = Σ (p)ₙ / (q)ₙ zⁿ for 0 < p < q, 0 ≤ z < 1, with its
/// partial derivatives (value, ∂/∂p, ∂/∂q, ∂/∂z).
///
/// Every term is positive and the term ratio (p+n)/(q+n)·z is below z, so the
/// remainder after a term t is at most t·z/(1−z): a rigorous stopping rule.
/// The Pareto/NBD likelihood and the sBG DERL are both of this form.
/// Returns NaN values if the series does not converge within the term cap.
pub fn hyp2f1_unit_a_with_grad(p: f64, q: f64, z: f64) -> [f64; 4] {
    if !(p > 0.0 && q > 0.0 && (0.0..1.0).contains(&z)) {
        return [f64::NAN; 4];
    }
    let mut sum = 1.0;
    let (mut s_p, mut s_q, mut s_z) = (0.0, 0.0, 0.0);
    let mut term = 1.0;
    // Running ∂ ln tₙ / ∂p and ∂ ln tₙ / ∂q.
    let (mut lp, mut lq) = (0.0, 0.0);
    let tail = z / (1.0 - z);
    for n in 0..SERIES_MAX_TERMS {
        let nf = n as f64;
        lp += 1.0 / (p + nf);
        lq -= 1.0 / (q + nf);
        term *= (p + nf) / (q + nf) * z;
        sum += term;
        s_p += term * lp;
        s_q += term * lq;
        s_z += term * (nf + 1.0);
        // The derivative series converge a factor ~n more slowly; requiring
        // their tail bound too keeps gradients as exact as the value.
        if term * tail * (nf + 2.0) * (1.0 + lp.abs() + lq.abs()) <= SERIES_EPS * sum {
            let s_z = if z > 0.0 { s_z / z } else { p / q };
            return [sum, s_p, s_q, s_z];
        }
    }
    [f64::NAN; 4]
}

/// Nodes and weights of 20-point Gauss–Legendre quadrature on [−1, 1]
/// (symmetric half: positive nodes only).
const GL20_X: [f64; 10] = [
    0.076_526_521_133_497_34,
    0.227_785_851_141_645_07,
    0.373_706_088_715_419_55,
    0.510_867_001_950_827_1,
    0.636_053_680_726_515,
    0.746_331_906_460_150_8,
    0.839_116_971_822_218_8,
    0.912_234_428_251_326,
    0.963_971_927_277_913_8,
    0.993_128_599_185_095,
];
const GL20_W: [f64; 10] = [
    0.152_753_387_130_726_28,
    0.149_172_986_472_604_24,
    0.142_096_109_318_382_4,
    0.131_688_638_449_176_9,
    0.118_194_531_961_518_6,
    0.101_930_119_817_240_7,
    0.083_276_741_576_704_71,
    0.062_672_048_334_108_79,
    0.040_601_429_800_386_446,
    0.017_614_007_139_150_893,
];

/// ∫ f over [lo, hi] by composite 20-point Gauss–Legendre on `panels` equal
/// panels. Used only for smooth, bounded prediction integrands.
pub fn gauss_legendre(lo: f64, hi: f64, panels: usize, f: impl Fn(f64) -> f64) -> f64 {
    let panels = panels.max(1);
    let h = (hi - lo) / panels as f64;
    let mut total = 0.0;
    for k in 0..panels {
        let mid = lo + (k as f64 + 0.5) * h;
        let half = 0.5 * h;
        let mut s = 0.0;
        for (x, w) in GL20_X.iter().zip(GL20_W.iter()) {
            s += w * (f(mid - half * x) + f(mid + half * x));
        }
        total += s * half;
    }
    total
}

#[cfg(test)]
#[path = "special_tests.rs"]
mod tests;
