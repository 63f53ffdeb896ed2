//! `holdfast import events|customers`: progress on stderr, a summary (or
//! JSON) on stdout, and `file:line: reason` for every rejected row.

use std::io::BufReader;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::app;
use crate::config::Settings;
use crate::pipeline::import::{self, ImportError, ImportOptions, ImportReport};

use super::{ImportArgs, ImportCommand};

/// Exit code when the import finished but rejected some rows.
pub const EXIT_ROWS_REJECTED: u8 = 3;

pub async fn run(
    cmd: ImportCommand,
    settings: &Settings,
    data_dir: &Path,
) -> anyhow::Result<ExitCode> {
    #[derive(PartialEq)]
    enum What {
        Events,
        Customers,
        Spend,
    }
    let (args, what) = match cmd {
        ImportCommand::Events(a) => (a, What::Events),
        ImportCommand::Customers(a) => (a, What::Customers),
        ImportCommand::Spend(a) => (a, What::Spend),
    };
    let ImportArgs {
        file,
        dry_run,
        json,
    } = args;
    let label = file.display().to_string();
    let handle = std::fs::File::open(&file).with_context(|| format!("{label}: cannot open"))?;
    let size = handle.metadata().map(|m| m.len()).unwrap_or(0);
    let store = app::open_store(settings, data_dir).await?;
    store.migrate().await.context("migrating the database")?;
    let policy = app::ingest_policy(settings)?;
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {bar:40} {bytes}/{total_bytes} {per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = |n: u64| bar.inc(n);
    let opts = ImportOptions {
        dry_run,
        ..ImportOptions::default()
    };
    let reader = BufReader::new(handle);
    let result = match what {
        What::Events => {
            import::import_events(
                &store,
                &policy,
                settings.queue.max_attempts,
                reader,
                &opts,
                &progress,
            )
            .await
        }
        What::Customers => {
            import::import_customers(&store, &policy, reader, &label, &opts, &progress).await
        }
        What::Spend => {
            import::import_spend(&store, &policy, reader, &label, &opts, &progress).await
        }
    };
    bar.finish_and_clear();
    let report = result.map_err(|e| fatal(&label, e))?;
    print_report(&label, &report, json)?;
    Ok(if report.rejected > 0 {
        ExitCode::from(EXIT_ROWS_REJECTED)
    } else {
        ExitCode::SUCCESS
    })
}

fn fatal(label: &str, e: ImportError) -> anyhow::Error {
    match e {
        ImportError::Read { line, source } => {
            anyhow::anyhow!("{label}:{line}: cannot read: {source}")
        }
        ImportError::Empty => {
            anyhow::anyhow!("{label}:1: the file is empty; the first line must name the columns")
        }
        ImportError::BadHeader(m) => anyhow::anyhow!("{label}:1: the header cannot be read: {m}"),
        ImportError::MissingColumn(c) => {
            anyhow::anyhow!(
                "{label}:1: required column {c:?} is missing; name it in the first line"
            )
        }
        ImportError::Store(e) => anyhow::anyhow!("{label}: storage failed: {e}"),
    }
}

fn print_report(label: &str, r: &ImportReport, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(r)?);
        return Ok(());
    }
    if !r.unknown_columns.is_empty() {
        eprintln!(
            "{label}:1: unknown column(s) ignored: {}",
            r.unknown_columns.join(", ")
        );
    }
    for e in &r.errors {
        eprintln!("{label}:{}: {}", e.line, e.error);
    }
    for w in &r.warnings {
        eprintln!("{label}:{}: warning: {}", w.line, w.error);
    }
    let verb = if r.dry_run {
        "would import"
    } else {
        "imported"
    };
    println!(
        "{label}: {verb} {}, skipped {} already imported, rejected {}",
        r.imported, r.skipped, r.rejected
    );
    Ok(())
}
