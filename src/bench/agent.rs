//! `holdfast bench agent`: the whole non-LLM path for one inbound message
//! (embed, retrieve, classify, choose an offer, template draft, policy
//! check) as the queue's agent handler runs it, on the demo knowledge base
//! with the local analyser and no LLM. Prints latency per message (every
//! text seen once, so the query-embedding cache never helps), the part of
//! it that is embedding, and the rest.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use crate::app;
use crate::cli::BenchAgentArgs;
use crate::config::Settings;
use crate::domain::{Lang, Timestamp};
use crate::knowledge::{KbGrounder, load_dir};
use crate::pipeline::agent::{Agent, Situation};
use crate::pipeline::analysis::Behaviour;
use crate::pipeline::ports::EmbedRole;

/// Texts of a JSON-lines file (`text` field), at most `limit`.
fn texts(path: &Path, limit: usize) -> anyhow::Result<Vec<String>> {
    let body =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in body.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not JSON", path.display(), n + 1))?;
        if let Some(t) = v["text"].as_str()
            && !out.iter().any(|x| x == t)
        {
            out.push(t.to_owned());
        }
        if out.len() == limit {
            break;
        }
    }
    anyhow::ensure!(!out.is_empty(), "{}: no texts", path.display());
    Ok(out)
}

/// Customers in different lifecycle situations, so offers and every route
/// are exercised, not only the stranger's FAQ answer.
fn situation(i: usize, text: &str) -> Situation {
    let mut s = Situation::stranger(text);
    s.lang = Lang::detect(text);
    s.now = Timestamp::now();
    match i % 3 {
        0 => {}
        1 => {
            s.behaviour = Behaviour {
                orders: 9,
                customer_age_days: 400.0,
                p_alive: Some(0.35),
                recency_ratio: Some(2.4),
                spend_trend: Some(-0.3),
                clv_minor: Some(2_500_000.0),
                subscription: "active".into(),
                ..Behaviour::default()
            };
            s.active_subscription = true;
            s.orders_12m = 9;
            s.paid_deliveries = 4;
            s.residual_clv_minor = Some(2_500_000.0);
        }
        _ => {
            s.behaviour = Behaviour {
                orders: 3,
                customer_age_days: 90.0,
                p_alive: Some(0.9),
                recency_ratio: Some(0.8),
                clv_minor: Some(800_000.0),
                subscription: "paused".into(),
                pauses_60d: 1,
                ..Behaviour::default()
            };
            s.orders_12m = 3;
            s.residual_clv_minor = Some(800_000.0);
        }
    }
    s
}

struct Figures {
    p50: f64,
    p99: f64,
    mean: f64,
}

fn figures(mut ms: Vec<f64>) -> Figures {
    ms.sort_by(f64::total_cmp);
    Figures {
        p50: super::quantile(&ms, 0.5),
        p99: super::quantile(&ms, 0.99),
        mean: ms.iter().sum::<f64>() / ms.len().max(1) as f64,
    }
}

async fn respond_all(agent: &Agent, texts: &[String]) -> anyhow::Result<(Vec<f64>, usize)> {
    let mut ms = Vec::with_capacity(texts.len());
    let mut templated = 0;
    for (i, t) in texts.iter().enumerate() {
        let s = situation(i, t);
        let start = Instant::now();
        let reply = agent.respond(&s).await?;
        ms.push(start.elapsed().as_secs_f64() * 1e3);
        if reply.producer == "template" {
            templated += 1;
        }
    }
    Ok((ms, templated))
}

pub async fn run(settings: &Settings, a: &BenchAgentArgs) -> anyhow::Result<()> {
    println!("machine: {}", super::machine());
    let tmp = tempdir()?;
    let result = run_in(settings, a, &tmp).await;
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn tempdir() -> anyhow::Result<std::path::PathBuf> {
    let p = std::env::temp_dir().join(format!("holdfast-bench-agent-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
    Ok(p)
}

async fn run_in(settings: &Settings, a: &BenchAgentArgs, tmp: &Path) -> anyhow::Result<()> {
    let mut settings = settings.clone();
    // The non-LLM path, whatever the environment configures.
    settings.llm.base_url = String::new();
    let knowledge = app::knowledge_base(&settings, tmp).await?;
    let docs = load_dir(&a.kb).with_context(|| format!("loading {}", a.kb.display()))?;
    let t = Instant::now();
    knowledge.ingest(&docs, &|_, _| {}).await?;
    println!(
        "knowledge base: {} documents from {} indexed in {:.1} s",
        docs.len(),
        a.kb.display(),
        t.elapsed().as_secs_f64()
    );
    let mut agent = app::agent(&settings)?;
    agent.grounder = Some(Arc::new(KbGrounder {
        kb: knowledge,
        options: app::search_options(&settings),
        passages: 3,
        // A stranger's message: no history to recall.
        history: None,
        history_k: settings.kb.history_k,
        history_recent: settings.kb.history_recent,
    }));
    anyhow::ensure!(
        agent.classifier.is_some(),
        "the local analyser is disabled ([analyser] enabled = false); nothing to measure"
    );
    let all = texts(&a.messages, a.n + 5)?;
    let (warm, timed) = all.split_at(all.len().min(5));
    // Warm-up: the analyser loads (or trains) its model on first use.
    let t = Instant::now();
    respond_all(&agent, warm).await?;
    println!(
        "warm-up ({} messages, analyser load): {:.1} s",
        warm.len(),
        t.elapsed().as_secs_f64()
    );
    anyhow::ensure!(!timed.is_empty(), "need more than 5 messages");

    // 1. Every text for the first time: the full path.
    let (full, templated) = respond_all(&agent, timed).await?;
    // 2. The same texts again: the query embedding is cached, so this is
    //    everything but the embedding.
    let (rest, _) = respond_all(&agent, timed).await?;
    // 3. Embedding alone, on an embedder of its own (an empty cache: a
    //    different cache size keeps it from being the shared one).
    let embedder = {
        let mut s = settings.clone();
        s.embed.query_cache += 1;
        tokio::task::spawn_blocking(move || app::embedder(&s))
            .await
            .context("loading the embedder")??
    };
    let mut embed = Vec::with_capacity(timed.len());
    for t in timed {
        let start = Instant::now();
        embedder.embed(EmbedRole::Query, vec![t.clone()]).await?;
        embed.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let (full, rest, embed) = (figures(full), figures(rest), figures(embed));
    println!(
        "{} messages from {} ({} template drafts), one at a time:",
        timed.len(),
        a.messages.display(),
        templated
    );
    println!("  stage                              p50 ms   p99 ms   mean ms");
    for (name, f) in [
        ("full path (embed … policy check)", &full),
        ("  query embedding alone", &embed),
        ("  all but the embedding", &rest),
    ] {
        println!(
            "  {name:<34} {:>6.2}   {:>6.2}   {:>7.2}",
            f.p50, f.p99, f.mean
        );
    }
    println!("  targets: full path p50 < 50 ms, p99 < 150 ms");
    Ok(())
}
