//! `holdfast import spend`: marketing spend per channel and period, for CAC.

use std::io::BufRead;
use std::sync::Arc;

use crate::pipeline::parse::{self, IngestPolicy, RawSpend};
use crate::pipeline::ports::Store;

use super::table::Table;
use super::{ImportError, ImportOptions, ImportReport, LineError};

const KNOWN: &[&str] = &[
    "channel",
    "period_start",
    "period_end",
    "amount",
    "currency",
];

pub async fn import_spend<R: BufRead>(
    store: &Arc<dyn Store>,
    policy: &IngestPolicy,
    reader: R,
    label: &str,
    opts: &ImportOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ImportReport, ImportError> {
    let (mut table, header_bytes) = Table::open(reader, KNOWN)?;
    progress(header_bytes);
    for c in ["channel", "period_start", "period_end", "amount"] {
        if !table.has(c) {
            return Err(ImportError::MissingColumn(c));
        }
    }
    let mut report = ImportReport {
        unknown_columns: std::mem::take(&mut table.unknown),
        dry_run: opts.dry_run,
        ..ImportReport::default()
    };
    let mut rows = Vec::new();
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
        let raw = RawSpend {
            channel: get("channel").unwrap_or_default(),
            period_start: get("period_start").unwrap_or_default(),
            period_end: get("period_end").unwrap_or_default(),
            amount: get("amount").unwrap_or_default(),
            currency: get("currency"),
        };
        match parse::spend(raw, policy, &format!("{label}:{}", row.line)) {
            Ok(r) => rows.push(r),
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
        }
    }
    report.imported = rows.len() as u64;
    if !opts.dry_run && !rows.is_empty() {
        store.upsert_marketing_spend(rows).await?;
    }
    Ok(report)
}
