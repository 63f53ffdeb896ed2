//! `holdfast kb ingest DIR` and `holdfast kb search "…"`.

use std::path::Path;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::args::{KbCommand, KbSearchArgs, RetrievalMode};
use crate::app;
use crate::config::Settings;
use crate::domain::Lang;
use crate::knowledge::load_dir;
use crate::knowledge::retrieve::Mode;

pub fn mode(m: RetrievalMode) -> Mode {
    match m {
        RetrievalMode::Bm25 => Mode::Bm25,
        RetrievalMode::Dense => Mode::Dense,
        RetrievalMode::Hybrid => Mode::Hybrid,
    }
}

pub async fn run(cmd: KbCommand, settings: &Settings, data_dir: &Path) -> anyhow::Result<ExitCode> {
    let kb = app::knowledge_base(settings, data_dir).await?;
    match cmd {
        KbCommand::Ingest { dir } => {
            let docs = load_dir(&dir)?;
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} chunks ({eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_message("embedding");
            let b = bar.clone();
            let r = kb
                .ingest(&docs, &move |done, total| {
                    b.set_length(total as u64);
                    b.set_position(done as u64);
                })
                .await?;
            bar.finish_and_clear();
            println!(
                "{} documents, {} chunks: {} embedded, {} unchanged, {} removed",
                r.documents, r.chunks, r.added, r.kept, r.removed
            );
            Ok(ExitCode::SUCCESS)
        }
        KbCommand::Search(a) => search(&kb, settings, a).await,
    }
}

async fn search(
    kb: &crate::knowledge::KnowledgeBase,
    settings: &Settings,
    a: KbSearchArgs,
) -> anyhow::Result<ExitCode> {
    let mut o = app::search_options(settings);
    o.mode = mode(a.mode);
    o.k = a.k;
    o.lang = a.lang.as_deref().map(Lang::parse).transpose()?;
    let r = kb.search(&a.query, &o).await?;
    if a.json {
        let hits: Vec<_> = r
            .hits
            .iter()
            .map(|h| {
                json!({"doc_id": h.doc_id, "title": h.title, "heading": h.heading,
                       "lang": h.lang, "score": h.score, "text": h.text})
            })
            .collect();
        println!(
            "{}",
            json!({"answerable": r.answerable, "confidence": r.confidence,
                   "top_dense": r.top_dense, "hits": hits})
        );
    } else {
        if !r.answerable {
            println!("no grounded answer (confidence {:.2})", r.confidence);
        }
        for (i, h) in r.hits.iter().enumerate() {
            let snippet: String = h.text.chars().take(160).collect();
            println!(
                "{:>2}. {:.4}  {} › {}\n    {}",
                i + 1,
                h.score,
                h.doc_id,
                h.heading,
                snippet.replace('\n', " ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
