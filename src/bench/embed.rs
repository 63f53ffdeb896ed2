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

/// Sentences per second embedding `texts` in chunks of `batch` on `threads`
/// threads that share one model.
fn rate(engine: &E5Engine, texts: &[String], batch: usize, threads: usize) -> anyhow::Result<f64> {
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
    Ok(texts.len() as f64 / start.elapsed().as_secs_f64())
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
        "one_core_one_text_per_call_per_s": single,
        "one_core_batched_per_s": batched,
        "batch": args.batch,
        "all_cores_shared_model_per_s": parallel,
        "threads": cores,
    });
    if args.json {
        println!("{report}");
    } else {
        println!("machine: {}", super::machine());
        println!(
            "model {} loaded (sha256 checked) in {load_ms:.0} ms",
            crate::embed::MODEL_NAME
        );
        println!("{} messages, mean {mean_chars:.0} characters", texts.len());
        println!(
            "one core, one text per call: {single:8.1} sentences/s ({:.1} ms each)",
            1e3 / single
        );
        println!(
            "one core, batches of {:3}:     {batched:8.1} sentences/s",
            args.batch
        );
        println!("{cores} threads, one shared model: {parallel:8.1} sentences/s");
    }
    Ok(())
}
