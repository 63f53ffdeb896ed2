//! `holdfast import customers`: customer profiles (id, name, phone, email,
//! Telegram username), normalised and matched; conflicts rejected and
//! recorded, never merged.

use std::io::BufRead;
use std::sync::Arc;

use crate::domain::NewProfile;
use crate::pipeline::parse::{self, IngestPolicy, RawIdentity, RawProfile};
use crate::pipeline::ports::Store;
use crate::pipeline::records::ProfileOutcome;

use super::table::Table;
use super::{ImportError, ImportOptions, ImportReport, LineError};

const KNOWN: &[&str] = &[
    "customer_id",
    "external_id",
    "name",
    "phone",
    "email",
    "telegram_id",
    "telegram_username",
];

pub async fn import_customers<R: BufRead>(
    store: &Arc<dyn Store>,
    policy: &IngestPolicy,
    reader: R,
    label: &str,
    opts: &ImportOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ImportReport, ImportError> {
    let (mut table, header_bytes) = Table::open(reader, KNOWN)?;
    progress(header_bytes);
    if !table.has("customer_id") && !table.has("external_id") {
        return Err(ImportError::MissingColumn("customer_id"));
    }
    let mut report = ImportReport {
        unknown_columns: std::mem::take(&mut table.unknown),
        dry_run: opts.dry_run,
        ..ImportReport::default()
    };
    let mut batch: Vec<(u64, NewProfile)> = Vec::new();
    while let Some(mut row) = table.next_row()? {
        progress(row.bytes);
        let fields = match std::mem::replace(&mut row.fields, Ok(Vec::new())) {
            Ok(f) => f,
            Err(e) => {
                report.rejected += 1;
                report.errors.push(LineError {
                    line: row.line,
                    error: e,
                });
                continue;
            }
        };
        let get = |c: &str| table.get(&fields, c).map(str::to_owned);
        let raw = RawProfile {
            customer: RawIdentity {
                external_id: get("customer_id").or_else(|| get("external_id")),
                phone: get("phone"),
                email: get("email"),
                telegram_id: get("telegram_id"),
                telegram_username: get("telegram_username"),
            },
            name: get("name"),
        };
        match parse::profile(raw, policy) {
            Err(errors) => {
                report.rejected += 1;
                let error = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.reason))
                    .collect::<Vec<_>>()
                    .join("; ");
                report.errors.push(LineError {
                    line: row.line,
                    error: row.explain(&error),
                });
            }
            Ok(p) => {
                if let Some(o) = &row.overflow {
                    report.warnings.push(LineError {
                        line: row.line,
                        error: o.clone(),
                    });
                }
                batch.push((row.line, p));
            }
        }
        if batch.len() >= opts.batch {
            flush(store, &mut batch, &mut report, label, opts.dry_run).await?;
        }
    }
    flush(store, &mut batch, &mut report, label, opts.dry_run).await?;
    report.errors.sort_by_key(|e| e.line);
    Ok(report)
}

async fn flush(
    store: &Arc<dyn Store>,
    batch: &mut Vec<(u64, NewProfile)>,
    report: &mut ImportReport,
    label: &str,
    dry_run: bool,
) -> Result<(), ImportError> {
    if batch.is_empty() {
        return Ok(());
    }
    if dry_run {
        // Validation passed; matching needs the write transaction, so a dry
        // run counts these as importable.
        report.imported += batch.len() as u64;
        batch.clear();
        return Ok(());
    }
    let lines: Vec<u64> = batch.iter().map(|(l, _)| *l).collect();
    let profiles = batch
        .drain(..)
        .map(|(line, p)| (p, format!("{label}:{line}")))
        .collect();
    let outcomes = store.upsert_profiles(profiles).await?;
    for (line, outcome) in lines.into_iter().zip(outcomes) {
        match outcome {
            ProfileOutcome::Created { warnings, .. } | ProfileOutcome::Updated { warnings, .. } => {
                report.imported += 1;
                for w in warnings {
                    report.warnings.push(LineError { line, error: w });
                }
            }
            ProfileOutcome::Unchanged(_) => report.skipped += 1,
            ProfileOutcome::Conflict(conflicts) => {
                report.rejected += 1;
                let error = conflicts
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join("; ");
                report.errors.push(LineError {
                    line,
                    error: format!("conflicting identifiers, recorded and not merged: {error}"),
                });
            }
        }
    }
    Ok(())
}
