//! Criterion benches of the CLV fits: `cargo bench --bench clv`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use holdfast::clv::simulate::simulate_bgnbd;
use holdfast::clv::{BgNbd, FitOptions, GammaGamma, ParetoNbd, RfmRow};

fn cdnow() -> Vec<RfmRow> {
    let mut r = csv::Reader::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/clv/cdnow_summary_rfm.csv"
    ))
    .expect("data file");
    r.records()
        .map(|rec| {
            let rec = rec.expect("record");
            let f = |i: usize| rec[i].parse::<f64>().expect("number");
            RfmRow::new(f(1), f(2), f(3), f(4))
        })
        .collect()
}

fn fits(c: &mut Criterion) {
    let rows = cdnow();
    let opts = FitOptions::default();
    c.bench_function("bgnbd_fit_cdnow", |b| {
        b.iter(|| BgNbd::fit(black_box(&rows), &opts))
    });
    c.bench_function("pnbd_fit_cdnow", |b| {
        b.iter(|| ParetoNbd::fit(black_box(&rows), &opts))
    });
    c.bench_function("gamma_gamma_fit_cdnow", |b| {
        b.iter(|| GammaGamma::fit(black_box(&rows), &opts))
    });
}

fn large(c: &mut Criterion) {
    let truth = BgNbd::new(0.243, 4.414, 0.793, 2.426).expect("valid");
    let n: u64 = 1_000_000;
    let ages: Vec<f64> = (0..n)
        .map(|i| 27.0 + 12.0 * ((i * 7919) % n) as f64 / n as f64)
        .collect();
    let rows = simulate_bgnbd(&truth, &ages, 42).expect("simulate");
    let opts = FitOptions::default();
    let mut g = c.benchmark_group("large");
    g.sample_size(10);
    g.bench_function("bgnbd_fit_and_score_1m", |b| {
        b.iter(|| {
            let (m, _) = BgNbd::fit(black_box(&rows), &opts).expect("fit");
            m.score(&rows, 52.0).expect("score")
        })
    });
    g.finish();
}

criterion_group!(benches, fits, large);
criterion_main!(benches);
