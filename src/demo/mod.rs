//! `holdfast demo`: seeds the sample tea shop Pekoe into the data dir (once)
//! and serves it with a generated API token and the dev sink channel.

mod cast;
mod seed;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::app::{self, Application};
use crate::config::{ApiToken, Secret, Settings};

pub use seed::{SeedReport, seed};

const TOKEN_FILE: &str = "demo-token";
const SEEDED_MARK: &str = "demo-seeded";

/// The demo's API token: made once per data dir, kept in `demo-token`.
fn demo_token(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join(TOKEN_FILE);
    if let Ok(t) = std::fs::read_to_string(&path) {
        let t = t.trim().to_owned();
        if t.len() >= 16 {
            return Ok(t);
        }
    }
    let token = format!("demo-{}", uuid::Uuid::new_v4().simple());
    std::fs::write(&path, &token).with_context(|| format!("writing {}", path.display()))?;
    Ok(token)
}

pub async fn run(
    mut settings: Settings,
    data_dir: &Path,
    reset: bool,
    seed_only: bool,
) -> anyhow::Result<ExitCode> {
    if reset && data_dir.exists() {
        for name in [
            &settings.store.sqlite_file,
            TOKEN_FILE,
            SEEDED_MARK,
            "outbox-dev.jsonl",
        ] {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(data_dir.join(format!("{name}{suffix}")));
            }
        }
        // The history of the customers just deleted goes with them.
        let history = &settings.kb.history_collection;
        for dir in [history.clone(), format!("{history}_rebuild")] {
            let _ = std::fs::remove_dir_all(data_dir.join("vector").join(dir));
        }
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let token = demo_token(data_dir)?;
    settings.auth.api_tokens.push(ApiToken {
        name: "demo".into(),
        token: Secret::new(&token),
    });
    settings.channels.dev_sink = true;
    let store = app::open_store(&settings, data_dir).await?;
    store
        .migrate()
        .await
        .context("migrating the demo database")?;
    let mark = data_dir.join(SEEDED_MARK);
    let mut seeded = Vec::new();
    if !mark.exists() {
        let report = seed(
            &store,
            &app::ingest_policy(&settings)?,
            settings.queue.max_attempts,
        )
        .await?;
        std::fs::write(
            &mark,
            format!(
                "customers={} events={} messages={}\n",
                report.customers, report.events, report.messages
            ),
        )?;
        seeded = report.stored.clone();
        println!(
            "seeded the Pekoe tea shop: {} customers, {} events, {} messages",
            report.customers, report.events, report.messages
        );
    } else {
        println!(
            "demo data already seeded in {} (use --reset to start over)",
            data_dir.display()
        );
    }
    // The knowledge base and the seeded history, so `kb search` and the
    // agent answer at once (only changed chunks are embedded on later
    // starts). The history is indexed here in batches; the seeded records'
    // `index_history` jobs then find their points in place and skip the
    // embedding. Without the model those jobs index it (BM25 only).
    match app::load_embedder(&settings).await {
        Ok(embedder) => {
            let index = app::vector_index(&settings, data_dir).await?;
            let kb = app::knowledge_base_with(&settings, index.clone(), embedder.clone());
            let docs = crate::knowledge::load_dir(&settings.kb.dir)?;
            let r = kb.ingest(&docs, &|_, _| {}).await?;
            println!(
                "knowledge base: {} documents, {} chunks ({} embedded now)",
                r.documents, r.chunks, r.added
            );
            let history = app::history(&settings, index, Some(embedder));
            let started = std::time::Instant::now();
            let n = crate::knowledge::history_jobs::backfill(&*store, &history, &seeded).await?;
            println!(
                "customer history: {n} items indexed ({:.1} s)",
                started.elapsed().as_secs_f64()
            );
        }
        Err(e) => println!("knowledge base not indexed: {e:#}"),
    }
    if seed_only {
        return Ok(ExitCode::SUCCESS);
    }
    let llm = if settings.llm.base_url.trim().is_empty() {
        "no LLM configured: the local analyser and template drafts answer".to_owned()
    } else {
        format!(
            "LLM {} at {}",
            settings.llm.model,
            settings.llm.base_url.trim()
        )
    };
    let app = Application::builder(settings, data_dir)
        .store(store)
        .build()
        .await?;
    let base = format!("http://{}", app.addr());
    println!();
    println!(
        "Holdfast demo is running (SQLite in {}; {llm})",
        data_dir.display()
    );
    println!("  health:    {base}/healthz   ready: {base}/readyz   metrics: {base}/metrics");
    println!("  API token: {token}");
    println!(
        "  try:       curl -H 'Authorization: Bearer {token}' '{base}/api/v1/jobs?state=queued'"
    );
    println!(
        "             curl -H 'Authorization: Bearer {token}' '{base}/api/v1/customers/lookup?kind=external_id&value=P001'"
    );
    println!("  drafts:    curl -H 'Authorization: Bearer {token}' '{base}/api/v1/drafts'");
    println!(
        "  outgoing replies are written to {}",
        data_dir.join("outbox-dev.jsonl").display()
    );
    println!("Press Ctrl-C to stop.");
    app.run_until_stopped(app::shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
