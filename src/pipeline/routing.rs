//! The routing table: which work each stored record starts. One place, so
//! that what happens after ingest is readable at a glance.

use serde_json::json;

use crate::domain::EventKind;

use super::queue::{JobKind, NewJob};
use super::records::Record;

/// Jobs for a record that is about to be stored under `id`.
pub fn jobs_for(id: uuid::Uuid, record: &Record, max_attempts: u32) -> Vec<NewJob> {
    let mut jobs = Vec::new();
    // Every event and message joins its customer's history memory. The job
    // commits with the record, so no record is ever left unindexed for
    // good (no start-up reconcile is needed).
    let field = match record {
        Record::Event(_) => "event",
        Record::Message(_) => "message",
    };
    jobs.push(NewJob::now(
        JobKind::IndexHistory,
        json!({ field: id }),
        max_attempts,
    ));
    match record {
        Record::Event(e) => {
            // Orders, refunds and subscription changes move the customer's
            // value figures.
            if e.kind.affects_value()
                || matches!(e.kind, EventKind::Custom(_)) && e.amount.is_some()
            {
                jobs.push(NewJob::now(
                    JobKind::CustomerValue,
                    json!({ "event": id }),
                    max_attempts,
                ));
            }
        }
        Record::Message(_) => {
            // Every inbound message is triaged: understood, answered or
            // handed to a manager.
            jobs.push(NewJob::now(
                JobKind::TriageMessage,
                json!({ "message": id }),
                max_attempts,
            ));
        }
    }
    jobs
}

/// Jobs for an operator's merge of `from` into `into`, committed with it.
pub fn jobs_for_merge(
    into: crate::domain::CustomerId,
    from: crate::domain::CustomerId,
    max_attempts: u32,
) -> Vec<NewJob> {
    vec![NewJob::now(
        JobKind::HistoryMerge,
        json!({ "into": into.as_uuid(), "from": from.as_uuid() }),
        max_attempts,
    )]
}

/// Attempts of the history job of a reply we sent (the store writes that
/// message while marking a delivery, where no queue settings are at hand).
pub const REPLY_HISTORY_ATTEMPTS: u32 = 10;

/// Jobs for a reply we sent, stored as an outbound message under `id`.
pub fn jobs_for_reply(id: uuid::Uuid) -> Vec<NewJob> {
    vec![NewJob::now(
        JobKind::IndexHistory,
        json!({ "message": id }),
        REPLY_HISTORY_ATTEMPTS,
    )]
}
