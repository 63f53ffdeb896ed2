//! `holdfast import events`: rows of events into the store, in batches.

use std::io::BufRead;
use std::sync::Arc;

use crate::domain::{Currency, SourceEventId, Timestamp};
use crate::pipeline::parse::{self, IngestPolicy, RawEvent, RawIdentity};
use crate::pipeline::ports::Store;
use crate::pipeline::records::{
    FieldError, IngestItem, IngestRequest, IngestResult, ItemOutcome, Record,
};
use crate::pipeline::routing;

use super::table::Table;
use super::{ImportError, ImportOptions, ImportReport, LineError};

const KNOWN: &[&str] = &[
    "event_id",
    "customer_id",
    "external_id",
    "phone",
    "email",
    "telegram_id",
    "telegram_username",
    "occurred_at",
    "kind",
    "amount",
    "amount_rub",
    "currency",
    "channel",
];

fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Imports events from CSV. `progress` is told how many bytes were read.
pub async fn import_events<R: BufRead>(
    store: &Arc<dyn Store>,
    policy: &IngestPolicy,
    max_attempts: u32,
    reader: R,
    opts: &ImportOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ImportReport, ImportError> {
    let (mut table, header_bytes) = Table::open(reader, KNOWN)?;
    progress(header_bytes);
    for required in ["kind", "occurred_at"] {
        if !table.has(required) {
            return Err(ImportError::MissingColumn(required));
        }
    }
    let mut report = ImportReport {
        unknown_columns: std::mem::take(&mut table.unknown),
        dry_run: opts.dry_run,
        ..ImportReport::default()
    };
    let now = Timestamp::now();
    let mut batch: Vec<(u64, IngestItem)> = Vec::new();
    while let Some(mut row) = table.next_row()? {
        progress(row.bytes);
        let fields = match std::mem::replace(&mut row.fields, Ok(Vec::new())) {
            Ok(f) => f,
            Err(e) => {
                reject(&mut report, row.line, e);
                continue;
            }
        };
        let get = |c: &str| table.get(&fields, c).map(str::to_owned);
        let (amount, currency) = match get("amount_rub").filter(|s| !s.trim().is_empty()) {
            Some(rub) => (Some(rub), Some(Currency::RUB.to_string())),
            None => (get("amount"), get("currency")),
        };
        let raw = RawEvent {
            event_id: get("event_id"),
            customer: RawIdentity {
                external_id: get("customer_id").or_else(|| get("external_id")),
                phone: get("phone"),
                email: get("email"),
                telegram_id: get("telegram_id"),
                telegram_username: get("telegram_username"),
            },
            kind: get("kind").unwrap_or_default(),
            occurred_at: get("occurred_at").unwrap_or_default(),
            amount,
            currency,
            channel: get("channel").or_else(|| Some("import".into())),
            properties: Default::default(),
        };
        match parse::event(raw, policy, now) {
            Err(errors) => reject(&mut report, row.line, row.explain(&describe(&errors))),
            Ok(event) => {
                if let Some(o) = &row.overflow {
                    report.warnings.push(LineError {
                        line: row.line,
                        error: o.clone(),
                    });
                }
                let id = uuid::Uuid::now_v7();
                let record = Record::Event(event);
                let jobs = routing::jobs_for(id, &record, max_attempts);
                batch.push((row.line, IngestItem { id, record, jobs }));
            }
        }
        if batch.len() >= opts.batch {
            flush(store, &mut batch, &mut report, opts.dry_run).await?;
        }
    }
    flush(store, &mut batch, &mut report, opts.dry_run).await?;
    report.errors.sort_by_key(|e| e.line);
    Ok(report)
}

fn reject(report: &mut ImportReport, line: u64, error: String) {
    report.rejected += 1;
    report.errors.push(LineError { line, error });
}

async fn flush(
    store: &Arc<dyn Store>,
    batch: &mut Vec<(u64, IngestItem)>,
    report: &mut ImportReport,
    dry_run: bool,
) -> Result<(), ImportError> {
    if batch.is_empty() {
        return Ok(());
    }
    if dry_run {
        return dry_flush(store, batch, report).await;
    }
    let lines: Vec<u64> = batch.iter().map(|(l, _)| *l).collect();
    // One request per row, all in one transaction: a row's outcome is its own.
    let requests = batch
        .drain(..)
        .map(|(_, item)| IngestRequest {
            idempotency: None,
            items: vec![Ok(item)],
        })
        .collect();
    let results = store.ingest(requests).await?;
    for (line, result) in lines.into_iter().zip(results) {
        let IngestResult::Fresh(outcomes) = result else {
            continue;
        };
        for outcome in outcomes {
            match outcome {
                ItemOutcome::Stored { warnings, .. } => {
                    report.imported += 1;
                    for w in warnings {
                        report.warnings.push(LineError { line, error: w });
                    }
                }
                ItemOutcome::Duplicate { .. } => report.skipped += 1,
                ItemOutcome::Rejected { errors } => reject(report, line, describe(&errors)),
            }
        }
    }
    Ok(())
}

/// Without writing: checks event ids against what is stored (and against
/// earlier rows of the same file) to say what a real import would do.
async fn dry_flush(
    store: &Arc<dyn Store>,
    batch: &mut Vec<(u64, IngestItem)>,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let ids: Vec<SourceEventId> = batch
        .iter()
        .filter_map(|(_, i)| match &i.record {
            Record::Event(e) => e.source_id.clone(),
            Record::Message(_) => None,
        })
        .collect();
    let mut known = store.event_digests(ids).await?;
    for (line, item) in batch.drain(..) {
        let Record::Event(e) = &item.record else {
            continue;
        };
        let digest = e.content_digest();
        match e
            .source_id
            .as_ref()
            .and_then(|s| known.get(s.as_str()).map(|d| (s, d)))
        {
            Some((_, d)) if *d == digest => report.skipped += 1,
            Some((s, _)) => reject(
                report,
                line,
                format!(
                    "event_id: {s} already belongs to a different event; a conflicting duplicate is not stored"
                ),
            ),
            None => {
                report.imported += 1;
                if let Some(s) = &e.source_id {
                    known.insert(s.as_str().to_owned(), digest);
                }
            }
        }
    }
    Ok(())
}
