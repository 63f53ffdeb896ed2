//! `holdfast bench clv`: wall time of the customer-value fits on the shared
//! data sets and on simulated customers, with peak memory, and optionally
//! the same fits in lifetimes 0.11.3 for the ratio.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, anyhow};
use serde_json::{Value, json};

use crate::cli::BenchClvArgs;
use crate::cli::clv::data::Table;
use crate::clv::simulate::simulate_bgnbd;
use crate::clv::{
    BetaGeometricBetaBinomial, BgNbd, FitOptions, GammaGamma, ParetoNbd, RfmRow,
    ShiftedBetaGeometric,
};

/// Median milliseconds over `runs` runs.
fn median_ms<T>(runs: usize, mut job: impl FnMut() -> anyhow::Result<T>) -> anyhow::Result<f64> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        job()?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[runs / 2])
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

fn simulated(n: usize, seed: u64) -> anyhow::Result<Vec<RfmRow>> {
    let truth = BgNbd::new(0.243, 4.414, 0.793, 2.426)?;
    // Ages spread over 27..39 weeks, like CDNOW's cohorts.
    let ages: Vec<f64> = (0..n)
        .map(|i| 27.0 + 12.0 * ((i * 7919) % n) as f64 / n as f64)
        .collect();
    Ok(simulate_bgnbd(&truth, &ages, seed)?)
}

fn lifetimes(python: &Path, data: &Path) -> anyhow::Result<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/lifetimes_bench.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(data)
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    if !out.status.success() {
        return Err(anyhow!(
            "lifetimes run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

pub fn run(a: &BenchClvArgs) -> anyhow::Result<()> {
    let opts = FitOptions::default();
    let file = |name: &str| a.data.join(name);
    let cdnow_t = Table::read(&file("cdnow_summary_rfm.csv"))?;
    let cdnow = cdnow_t.rfm(&(0..cdnow_t.rows.len()).collect::<Vec<_>>())?;
    let repeat: Vec<RfmRow> = cdnow
        .iter()
        .filter(|r| r.frequency > 0.0)
        .cloned()
        .collect();
    let don_t = Table::read(&file("donations_bgbb_aggregated.csv"))?;
    let donations = don_t.bgbb(&(0..don_t.rows.len()).collect::<Vec<_>>())?;
    let sbg_t = Table::read(&file("sbg_cohorts_individual.csv"))?;
    let cohorts = sbg_t.groups(Some("cohort"))?;

    let mut figures = serde_json::Map::new();
    figures.insert(
        "bgnbd_cdnow_ms".into(),
        json!(median_ms(50, || Ok(BgNbd::fit(&cdnow, &opts)?))?),
    );
    figures.insert(
        "pnbd_cdnow_ms".into(),
        json!(median_ms(10, || Ok(ParetoNbd::fit(&cdnow, &opts)?))?),
    );
    figures.insert(
        "gamma_gamma_cdnow_ms".into(),
        json!(median_ms(50, || Ok(GammaGamma::fit(&repeat, &opts)?))?),
    );
    figures.insert(
        "bgbb_donations_ms".into(),
        json!(median_ms(50, || Ok(BetaGeometricBetaBinomial::fit(
            &donations, &opts
        )?))?),
    );
    for (cohort, rows) in &cohorts {
        let obs = sbg_t.sbg(rows)?;
        figures.insert(
            format!("sbg_{cohort}_ms"),
            json!(median_ms(50, || Ok(ShiftedBetaGeometric::fit(
                &obs, &opts
            )?))?),
        );
    }
    let sim = simulated(100_000, 7)?;
    figures.insert(
        "bgnbd_fit_100k_ms".into(),
        json!(median_ms(3, || Ok(BgNbd::fit(&sim, &opts)?))?),
    );
    drop(sim);

    let big = simulated(a.big, 42)?;
    let t = Instant::now();
    let (model, diag) = BgNbd::fit(&big, &opts)?;
    let fit_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let scores = model.score(&big, 52.0)?;
    let score_ms = t.elapsed().as_secs_f64() * 1e3;
    figures.insert("big_customers".into(), json!(a.big));
    figures.insert("big_fit_ms".into(), json!(fit_ms));
    figures.insert("big_score_ms".into(), json!(score_ms));
    figures.insert("big_fit_and_score_ms".into(), json!(fit_ms + score_ms));
    figures.insert("big_converged".into(), json!(diag.converged));
    figures.insert("big_scored".into(), json!(scores.len()));
    figures.insert("peak_rss_mb".into(), json!(peak_rss_mb()));
    figures.insert("threads".into(), json!(rayon::current_num_threads()));
    figures.insert("machine".into(), json!(super::machine()));
    if let Some(py) = &a.lifetimes_python {
        let l = lifetimes(py, &a.data)?;
        for (ours, theirs) in [
            ("bgnbd_cdnow_ms", "bgnbd_ms"),
            ("pnbd_cdnow_ms", "pnbd_ms"),
            ("gamma_gamma_cdnow_ms", "gamma_gamma_ms"),
            ("bgbb_donations_ms", "bgbb_ms"),
        ] {
            if let (Some(o), Some(t)) = (
                figures.get(ours).and_then(Value::as_f64),
                l.get(theirs).and_then(Value::as_f64),
            ) {
                figures.insert(format!("lifetimes_{theirs}"), json!(t));
                figures.insert(
                    format!("speedup_{}", theirs.trim_end_matches("_ms")),
                    json!(t / o),
                );
            }
        }
    }
    if a.json {
        println!("{}", Value::Object(figures));
        return Ok(());
    }
    println!(
        "clv bench on {} ({} rayon threads)",
        super::machine(),
        rayon::current_num_threads()
    );
    for (k, v) in &figures {
        if k.ends_with("_ms") || k.starts_with("speedup") || k == "peak_rss_mb" {
            println!(
                "  {k:<28} {}",
                v.as_f64()
                    .map(|x| format!("{x:.3}"))
                    .unwrap_or_else(|| v.to_string())
            );
        }
    }
    Ok(())
}
