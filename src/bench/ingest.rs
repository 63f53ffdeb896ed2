//! `holdfast bench ingest`: starts a server on loopback with a fresh store,
//! drives it with concurrent HTTP clients, and prints durable events/s and
//! acknowledgement latency. Every acknowledged event is counted back from
//! the store at the end.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use crate::app::Application;
use crate::cli::{BenchIngestArgs, BenchStore};
use crate::config::{ApiToken, Backend, Secret, Settings};
use crate::store::pg_admin::ScratchDatabase;

const TOKEN: &str = "bench-token-0123456789abcdef";

fn event(i: usize) -> serde_json::Value {
    let customer = format!("B{:05}", i % 5_000);
    let kinds = ["order", "page_view", "email_open", "login", "delivery"];
    let kind = kinds[i % kinds.len()];
    let mut e = json!({
        "event_id": format!("bench-{i}"),
        "kind": kind,
        "occurred_at": "2026-10-01T10:00:00+03:00",
        "customer": { "id": customer },
        "channel": "web",
    });
    if kind == "order" {
        e["amount"] = json!("1790.00");
    }
    e
}

pub async fn run(mut settings: Settings, a: BenchIngestArgs) -> anyhow::Result<()> {
    let dir =
        std::env::temp_dir().join(format!("holdfast-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    settings.server.listen = "127.0.0.1:0".into();
    settings.queue.workers = 0;
    settings.auth.api_tokens = vec![ApiToken {
        name: "bench".into(),
        token: Secret::new(TOKEN),
    }];
    let scratch = match a.store {
        BenchStore::Sqlite => {
            settings.store.backend = Backend::Sqlite;
            None
        }
        BenchStore::Postgres => {
            let db = ScratchDatabase::create(&a.postgres_url, "holdfast_bench").await?;
            settings.store.backend = Backend::Postgres;
            settings.store.postgres_url = Secret::new(&db.url);
            Some(db)
        }
    };
    let app = Application::builder(settings, &dir).build().await?;
    let store = app.store();
    let base = format!("http://{}/api/v1/events", app.addr());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stop_rx.await;
    }));

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency)
        .timeout(Duration::from_secs(30))
        .build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let batch = a.batch.max(1);
    let total = a.events;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..a.concurrency.max(1) {
        let (client, next, base) = (client.clone(), next.clone(), base.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            loop {
                let start = next.fetch_add(batch, Ordering::Relaxed);
                if start >= total {
                    break;
                }
                let end = (start + batch).min(total);
                let body = if batch == 1 {
                    event(start)
                } else {
                    json!({ "events": (start..end).map(event).collect::<Vec<_>>() })
                };
                let t = Instant::now();
                let resp = client
                    .post(&base)
                    .bearer_auth(TOKEN)
                    .json(&body)
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status().is_success() => latencies.push(t.elapsed().as_secs_f64()),
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        });
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    while let Some(r) = tasks.join_next().await {
        let (l, e) = r.context("a client task failed")?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let stored = store.count_events().await?;
    let _ = stop_tx.send(());
    server.await.context("server task")??;
    latencies.sort_by(f64::total_cmp);
    let ms = |q: f64| super::quantile(&latencies, q) * 1e3;
    let figures = json!({
        "bench": "ingest",
        "store": match a.store { BenchStore::Sqlite => "sqlite", BenchStore::Postgres => "postgres" },
        "events": total,
        "stored": stored,
        "concurrency": a.concurrency,
        "batch": batch,
        "errors": errors,
        "seconds": elapsed,
        "events_per_sec": stored as f64 / elapsed,
        "requests_per_sec": latencies.len() as f64 / elapsed,
        "ack_ms": { "p50": ms(0.5), "p90": ms(0.9), "p99": ms(0.99), "max": ms(1.0) },
        "machine": super::machine(),
    });
    if a.json {
        println!("{figures}");
    } else {
        println!(
            "ingest bench on {} ({})",
            figures["store"].as_str().unwrap_or(""),
            super::machine()
        );
        println!(
            "  {total} events, {} per request, {} concurrent clients: {:.1} s",
            batch, a.concurrency, elapsed
        );
        println!(
            "  durable events/s: {:.0}   (stored {stored}, errors {errors})",
            stored as f64 / elapsed
        );
        println!(
            "  ack latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
            ms(0.5),
            ms(0.9),
            ms(0.99),
            ms(1.0)
        );
    }
    if let Some(db) = scratch {
        db.drop_now().await.ok();
    }
    std::fs::remove_dir_all(&dir).ok();
    anyhow::ensure!(
        stored as usize == total && errors == 0,
        "not every event was stored: {stored} of {total}, {errors} errors"
    );
    Ok(())
}
