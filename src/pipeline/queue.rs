//! The durable work queue's vocabulary and retry policy. Storage implements
//! claiming; this module decides what a job is and when it runs again.

use std::fmt;
use std::time::Duration;

use rand::RngExt;

use crate::domain::{DomainError, JobId, Timestamp};

/// Every kind of queued work. Handlers register per kind in `app::handlers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Recompute a customer's value figures after an order, refund or
    /// subscription change.
    CustomerValue,
    /// Decide what an inbound message needs.
    TriageMessage,
    /// Deliver one outbox row through its channel.
    DeliverOutbox,
    /// Re-estimate the customer-value model and rescore everyone.
    ClvRefit,
    /// Index one stored event or message in its customer's history.
    IndexHistory,
    /// After a merge: re-index the merged customer's history under the
    /// survivor.
    HistoryMerge,
}

impl JobKind {
    pub const ALL: [JobKind; 6] = [
        JobKind::CustomerValue,
        JobKind::TriageMessage,
        JobKind::DeliverOutbox,
        JobKind::ClvRefit,
        JobKind::IndexHistory,
        JobKind::HistoryMerge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::CustomerValue => "customer_value",
            JobKind::TriageMessage => "triage_message",
            JobKind::DeliverOutbox => "deliver_outbox",
            JobKind::ClvRefit => "clv_refit",
            JobKind::IndexHistory => "index_history",
            JobKind::HistoryMerge => "history_merge",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| DomainError::new("kind", format!("unknown job kind {s:?}")))
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    Queued,
    Running,
    Done,
    Dead,
}

impl JobState {
    pub const ALL: [JobState; 4] = [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                DomainError::new(
                    "state",
                    format!("unknown job state {s:?}; known: queued, running, done, dead"),
                )
            })
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub id: JobId,
    pub kind: JobKind,
    pub payload: serde_json::Value,
    pub run_after: Timestamp,
    pub max_attempts: u32,
}

impl NewJob {
    pub fn now(kind: JobKind, payload: serde_json::Value, max_attempts: u32) -> Self {
        NewJob {
            id: JobId::new(),
            kind,
            payload,
            run_after: Timestamp::now(),
            max_attempts,
        }
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub kind: JobKind,
    pub payload: serde_json::Value,
    pub state: JobState,
    /// Claims so far, including the current one.
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_after: Timestamp,
    pub lease_until: Option<Timestamp>,
    /// Changes on every claim; finishing a job requires the current token,
    /// so a worker whose lease expired cannot overwrite its successor.
    pub lease_token: Option<uuid::Uuid>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub enum JobResult {
    Done,
    Retry { error: String, run_after: Timestamp },
    Dead { error: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobOutcome {
    pub id: JobId,
    pub lease_token: uuid::Uuid,
    pub result: JobResult,
}

/// Retry timing: exponential with "equal jitter" (half fixed, half random),
/// so retries spread out instead of arriving in waves, and never exceed
/// `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// Delay before the attempt after `attempts` failed ones (1-based).
    pub fn delay(&self, attempts: u32, rng: &mut impl rand::Rng) -> Duration {
        let exp = attempts.saturating_sub(1).min(30);
        let full = self.base.saturating_mul(1u32 << exp.min(20)).min(self.max);
        let half = full / 2;
        let jitter_ms = if half.as_millis() == 0 {
            0
        } else {
            rng.random_range(0..=half.as_millis() as u64)
        };
        half + Duration::from_millis(jitter_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn backoff_grows_and_stays_bounded(attempts in 1u32..50, seed in any::<u64>()) {
            let b = Backoff { base: Duration::from_millis(500), max: Duration::from_secs(600) };
            let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
            let d = b.delay(attempts, &mut rng);
            let full = (Duration::from_millis(500) * 2u32.pow(attempts.saturating_sub(1).min(20))).min(b.max);
            prop_assert!(d >= full / 2, "{d:?} < half of {full:?}");
            prop_assert!(d <= full, "{d:?} > {full:?}");
        }
    }

    #[test]
    fn kinds_round_trip() {
        for k in JobKind::ALL {
            assert_eq!(JobKind::parse(k.as_str()).unwrap(), k);
        }
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.as_str()).unwrap(), s);
        }
    }
}
