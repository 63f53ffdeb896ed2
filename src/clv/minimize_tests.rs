use super::*;

pub(crate) struct Rosenbrock;
impl Objective for Rosenbrock {
    fn dim(&self) -> usize {
        2
    }
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let (a, b) = (x[0], x[1]);
        g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
        g[1] = 200.0 * (b - a * a);
        (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
    }
}

#[test]
fn bfgs_solves_rosenbrock_tightly() {
    let r = bfgs(&Rosenbrock, &[-1.2, 1.0], None, 500, 1e-10);
    assert!(r.converged, "{r:?}");
    assert!((r.x[0] - 1.0).abs() < 1e-8 && (r.x[1] - 1.0).abs() < 1e-8);
}

#[test]
fn nelder_mead_gets_close_on_rosenbrock() {
    let r = super::super::nelder_mead::nelder_mead(&Rosenbrock, &[-1.2, 1.0], 5000, 1e-14);
    assert!(
        (r.x[0] - 1.0).abs() < 1e-4 && (r.x[1] - 1.0).abs() < 1e-4,
        "{r:?}"
    );
}
