//! The routing table: which work each stored record starts. One place, so
//! that what happens after ingest is readable at a glance.

use serde_json::json;

use crate::domain::EventKind;

use super::queue::{JobKind, NewJob};
use super::records::Record;

/// Jobs for a record that is about to be stored under `id`.
pub fn jobs_for(id: uuid::Uuid, record: &Record, max_attempts: u32) -> Vec<NewJob> {
    let mut jobs = Vec::new();
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
