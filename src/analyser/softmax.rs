//! Multinomial logistic regression (softmax, L2, class-balanced) trained by
//! full-batch Nesterov accelerated gradient with adaptive restart: no
//! randomness, so the same data gives the same model bit for bit.

use super::features::Row;

#[derive(Debug, Clone, PartialEq)]
pub struct Softmax {
    pub classes: usize,
    pub dim: usize,
    /// `dim × classes`, feature-major: one feature's class weights are adjacent.
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    /// Logits are divided by this before the softmax (calibration).
    pub temperature: f32,
}

#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    /// L2 penalty on the weights (not the bias).
    pub l2: f32,
    pub max_iter: usize,
    /// Stop when the largest gradient component falls below this.
    pub tol: f32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            l2: 1e-3,
            max_iter: 300,
            tol: 1e-4,
        }
    }
}

impl Softmax {
    pub fn logits(&self, x: &Row) -> Vec<f32> {
        logits(&self.weights, &self.bias, self.classes, x)
    }

    /// Calibrated class probabilities.
    pub fn predict(&self, x: &Row) -> Vec<f32> {
        let mut z = self.logits(x);
        z.iter_mut().for_each(|v| *v /= self.temperature);
        softmax_in_place(&mut z);
        z
    }
}

// The hot loops index slices in `while` loops: tests run unoptimised, where
// iterator adapters cost a function call per element and this is ~10x faster.
fn logits(w: &[f32], b: &[f32], c: usize, x: &Row) -> Vec<f32> {
    let mut z = b.to_vec();
    for &(j, v) in x {
        let wj = &w[j as usize * c..(j as usize + 1) * c];
        let mut k = 0;
        while k < c {
            z[k] += v * wj[k];
            k += 1;
        }
    }
    z
}

/// `y = w + mom·(w − prev)`.
fn extrapolate(y: &mut [f32], w: &[f32], prev: &[f32], mom: f32) {
    let n = y.len();
    let (w, prev) = (&w[..n], &prev[..n]);
    let mut i = 0;
    while i < n {
        y[i] = w[i] + mom * (w[i] - prev[i]);
        i += 1;
    }
}

/// `a[i] = b[i] + s * c[i]` over whole slices of equal length.
fn axpy_into(a: &mut [f32], b: &[f32], s: f32, c: &[f32]) {
    let n = a.len();
    let (b, c) = (&b[..n], &c[..n]);
    let mut i = 0;
    while i < n {
        a[i] = b[i] + s * c[i];
        i += 1;
    }
}

pub fn softmax_in_place(z: &mut [f32]) {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut s = 0.0;
    for v in z.iter_mut() {
        *v = (*v - m).exp();
        s += *v;
    }
    z.iter_mut().for_each(|v| *v /= s);
}

/// The data and penalty of one fit.
struct Problem<'a> {
    rows: &'a [Row],
    y: &'a [usize],
    /// Per-sample weights (class balancing).
    sw: Vec<f32>,
    classes: usize,
    l2: f32,
}

/// Weighted mean cross-entropy + L2, and its gradient (into `gw`, `gb`).
fn loss_grad(pr: &Problem<'_>, w: &[f32], b: &[f32], gw: &mut [f32], gb: &mut [f32]) -> f64 {
    let (rows, y, sw, c, l2) = (pr.rows, pr.y, &pr.sw, pr.classes, pr.l2);
    let mut sq = 0f64;
    let mut i = 0;
    while i < w.len() {
        gw[i] = l2 * w[i];
        sq += f64::from(w[i] * w[i]);
        i += 1;
    }
    gb.iter_mut().for_each(|g| *g = 0.0);
    let mut loss = 0.5 * f64::from(l2) * sq;
    let total: f32 = sw.iter().sum();
    for ((x, &yi), &s) in rows.iter().zip(y).zip(sw) {
        let mut p = logits(w, b, c, x);
        softmax_in_place(&mut p);
        loss -= f64::from(s / total) * f64::from(p[yi].max(1e-12)).ln();
        p[yi] -= 1.0;
        p.iter_mut().for_each(|v| *v *= s / total);
        for (gk, pk) in gb.iter_mut().zip(&p) {
            *gk += pk;
        }
        for &(j, v) in x {
            let g = &mut gw[j as usize * c..(j as usize + 1) * c];
            let mut k = 0;
            while k < c {
                g[k] += v * p[k];
                k += 1;
            }
        }
    }
    loss
}

/// Fits a model on `rows` (all of dimension `dim`) with labels in
/// `0..classes`, weighting classes inversely to their frequency.
pub fn train(rows: &[Row], y: &[usize], classes: usize, dim: usize, o: TrainOptions) -> Softmax {
    let mut counts = vec![0usize; classes];
    y.iter().for_each(|&k| counts[k] += 1);
    let sw: Vec<f32> = y
        .iter()
        .map(|&k| rows.len() as f32 / (classes as f32 * counts[k].max(1) as f32))
        .collect();
    // Lipschitz bound of the gradient: ½·max‖x‖² (+1 for the bias) + λ.
    let max_sq = rows
        .iter()
        .map(|r| r.iter().map(|(_, v)| v * v).sum::<f32>())
        .fold(0.0, f32::max);
    let step = 1.0 / (0.5 * (max_sq + 1.0) + o.l2);

    let pr = Problem {
        rows,
        y,
        sw,
        classes,
        l2: o.l2,
    };
    let n = dim * classes;
    let (mut w, mut b) = (vec![0f32; n], vec![0f32; classes]);
    let (mut w_prev, mut b_prev) = (w.clone(), b.clone());
    let (mut yw, mut yb) = (w.clone(), b.clone());
    let (mut gw, mut gb) = (vec![0f32; n], vec![0f32; classes]);
    let mut t = 1.0f32;
    let mut last = f64::INFINITY;
    for _ in 0..o.max_iter {
        let loss = loss_grad(&pr, &yw, &yb, &mut gw, &mut gb);
        let mut gmax = gb.iter().fold(0f32, |m, g| m.max(g.abs()));
        let mut i = 0;
        while i < gw.len() {
            gmax = gmax.max(gw[i].abs());
            i += 1;
        }
        if gmax < o.tol {
            w.copy_from_slice(&yw);
            b.copy_from_slice(&yb);
            break;
        }
        w_prev.copy_from_slice(&w);
        b_prev.copy_from_slice(&b);
        axpy_into(&mut w, &yw, -step, &gw);
        axpy_into(&mut b, &yb, -step, &gb);
        // Adaptive restart: momentum is dropped when the loss went up.
        if loss > last {
            t = 1.0;
        }
        last = loss;
        let t_next = (1.0 + (1.0 + 4.0 * t * t).sqrt()) / 2.0;
        let mom = (t - 1.0) / t_next;
        extrapolate(&mut yw, &w, &w_prev, mom);
        extrapolate(&mut yb, &b, &b_prev, mom);
        t = t_next;
    }
    Softmax {
        classes,
        dim,
        weights: w,
        bias: b,
        temperature: 1.0,
    }
}

/// The temperature that minimises the log-loss of `logits` against `y`
/// (a golden-section search over log T in [1/8, 8]).
pub fn fit_temperature(logits: &[Vec<f32>], y: &[usize]) -> f32 {
    let nll = |lt: f32| {
        let t = lt.exp();
        logits
            .iter()
            .zip(y)
            .map(|(z, &k)| {
                let mut p: Vec<f32> = z.iter().map(|v| v / t).collect();
                softmax_in_place(&mut p);
                -f64::from(p[k].max(1e-12)).ln()
            })
            .sum::<f64>()
    };
    let (mut lo, mut hi) = ((0.125f32).ln(), 8f32.ln());
    let g = (5f32.sqrt() - 1.0) / 2.0;
    for _ in 0..40 {
        let a = hi - g * (hi - lo);
        let b = lo + g * (hi - lo);
        if nll(a) < nll(b) {
            hi = b;
        } else {
            lo = a;
        }
    }
    ((lo + hi) / 2.0).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> (Vec<Row>, Vec<usize>) {
        // Three separable classes on features 0, 1, 2 plus a shared one.
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for i in 0..30 {
            let k = i % 3;
            rows.push(vec![(k as u32, 1.0), (3, 0.5 + (i as f32) / 100.0)]);
            y.push(k);
        }
        (rows, y)
    }

    #[test]
    fn learns_separable_classes_deterministically() {
        let (rows, y) = toy();
        let o = TrainOptions::default();
        let m = train(&rows, &y, 3, 4, o);
        for (x, &k) in rows.iter().zip(&y) {
            let p = m.predict(x);
            let best = (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
            assert_eq!(best, k);
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
        assert_eq!(train(&rows, &y, 3, 4, o), m);
    }

    #[test]
    fn stronger_penalty_gives_smaller_weights() {
        let (rows, y) = toy();
        let norm = |m: &Softmax| m.weights.iter().map(|w| w * w).sum::<f32>();
        let weak = train(
            &rows,
            &y,
            3,
            4,
            TrainOptions {
                l2: 1e-4,
                ..Default::default()
            },
        );
        let strong = train(
            &rows,
            &y,
            3,
            4,
            TrainOptions {
                l2: 1e-1,
                ..Default::default()
            },
        );
        assert!(norm(&strong) < norm(&weak));
    }

    #[test]
    fn temperature_softens_overconfident_logits() {
        // Confident logits that are wrong a third of the time want T > 1.
        let logits: Vec<Vec<f32>> = (0..30).map(|_| vec![6.0, 0.0]).collect();
        let y: Vec<usize> = (0..30).map(|i| usize::from(i % 3 == 0)).collect();
        assert!(fit_temperature(&logits, &y) > 2.0);
    }
}
