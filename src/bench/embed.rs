//! `holdfast bench embed`: sentences per second of the local e5 engine on
//! one core (one text per call and batched) and on every core with one
//! shared model, on the project's own training messages.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use serde_json::json;

use crate::cli::BenchEmbedArgs;
use crate::embed::E5Engine;

fn texts(path: &Path, limit: usize) -> anyhow::Result<Vec<String>> {
    let body =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in body
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not JSON", path.display(), n + 1))?;
        if let Some(t) = v["text"].as_str() {
            out.push(t.to_owned());
        }
        if out.len() == limit {
            break;
        }
    }
    anyhow::ensure!(!out.is_empty(), "{}: no texts", path.display());
    Ok(out)
}

/// CPU seconds this process has used (user + system), from /proc; None
/// where /proc is missing. Reported beside wall time because on a shared
/// machine wall time mostly measures the neighbours.
pub(super) fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start at 3.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Throughput of one measurement.
struct Rate {
    /// Sentences per wall-clock second.
    wall: f64,
    /// Sentences per CPU second (per core actually used).
    per_cpu: Option<f64>,
}

/// Embeds `texts` in chunks of `batch` on `threads` threads that share one
/// model.
fn rate(engine: &E5Engine, texts: &[String], batch: usize, threads: usize) -> anyhow::Result<Rate> {
    let cpu0 = cpu_secs();
    let start = Instant::now();
    let per = texts.len().div_ceil(threads);
    std::thread::scope(|s| -> anyhow::Result<()> {
        let handles: Vec<_> = texts
            .chunks(per)
            .map(|part| {
                s.spawn(move || -> anyhow::Result<()> {
                    for chunk in part.chunks(batch) {
                        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
                        engine.embed(&refs, true)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a bench thread panicked"))??;
        }
        Ok(())
    })?;
    let wall = texts.len() as f64 / start.elapsed().as_secs_f64();
    let per_cpu = cpu0
        .zip(cpu_secs())
        .map(|(a, b)| b - a)
        .filter(|d| *d > 0.0)
        .map(|d| texts.len() as f64 / d);
    Ok(Rate { wall, per_cpu })
}

pub fn run(args: &BenchEmbedArgs) -> anyhow::Result<()> {
    let t = Instant::now();
    let engine = E5Engine::load(&args.model_dir)?;
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let texts = texts(&args.messages, args.n)?;
    let mean_chars =
        texts.iter().map(|t| t.chars().count()).sum::<usize>() as f64 / texts.len() as f64;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    rate(&engine, &texts[..texts.len().min(16)], 16, 1)?; // warm the page cache
    let single = rate(&engine, &texts, 1, 1)?;
    let batched = rate(&engine, &texts, args.batch, 1)?;
    let parallel = rate(&engine, &texts, args.batch, cores)?;
    let report = json!({
        "machine": super::machine(),
        "model": crate::embed::MODEL_NAME,
        "load_ms_with_sha256": load_ms,
        "texts": texts.len(),
        "mean_chars": mean_chars,
        "batch": args.batch,
        "threads": cores,
        "one_text_per_call": {"wall_per_s": single.wall, "per_cpu_s": single.per_cpu},
        "batched_one_thread": {"wall_per_s": batched.wall, "per_cpu_s": batched.per_cpu},
        "batched_all_threads": {"wall_per_s": parallel.wall, "per_cpu_s": parallel.per_cpu},
    });
    if args.json {
        println!("{report}");
    } else {
        let show = |r: &Rate| match r.per_cpu {
            Some(c) => format!("{:7.1} sentences/s wall, {c:6.1} per CPU-second", r.wall),
            None => format!("{:7.1} sentences/s wall", r.wall),
        };
        println!("machine: {}", super::machine());
        println!(
            "model {} loaded (sha256 checked) in {load_ms:.0} ms",
            crate::embed::MODEL_NAME
        );
        println!("{} messages, mean {mean_chars:.0} characters", texts.len());
        println!("one thread, one text per call: {}", show(&single));
        println!(
            "one thread, batches of {:3}:    {}",
            args.batch,
            show(&batched)
        );
        println!("{cores} threads, one shared model:  {}", show(&parallel));
        println!(
            "(wall figures depend on what else the machine runs; per CPU-second is the per-core rate)"
        );
    }
    Ok(())
}
