//! What the ingest use-case hands to storage, and what storage says back.

use serde::{Deserialize, Serialize};

use crate::domain::{CustomerId, DomainError, IdentityConflict, NewEvent, NewMessage, NewProfile};

use super::queue::NewJob;

/// A stored input: an event or an inbound message.
#[derive(Debug, Clone)]
pub enum Record {
    Event(NewEvent),
    Message(NewMessage),
}

/// A record plus the work its storage must enqueue in the same transaction
/// (decided by the routing table before the record reaches storage).
#[derive(Debug, Clone)]
pub struct IngestItem {
    /// Holdfast's id for the record if it is stored now (UUID v7, made before
    /// storage so that jobs can name it).
    pub id: uuid::Uuid,
    pub record: Record,
    pub jobs: Vec<NewJob>,
}

/// An item the pipeline rejected before storage, kept so that a replayed
/// request reproduces the whole response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl From<DomainError> for FieldError {
    fn from(e: DomainError) -> Self {
        FieldError {
            field: e.field.to_owned(),
            reason: e.reason,
        }
    }
}

/// The caller's `Idempotency-Key`, scoped to an endpoint, with a digest of
/// the request body so that a reused key with another body is caught.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub scope: &'static str,
    pub key: String,
    pub request_digest: String,
}

/// One HTTP request's worth of records, committed atomically with its
/// idempotency record.
#[derive(Debug, Clone)]
pub struct IngestRequest {
    pub idempotency: Option<IdempotencyKey>,
    pub items: Vec<Result<IngestItem, Vec<FieldError>>>,
}

/// What happened to one item. Serialised into the idempotency record, so
/// field names are a storage format: add fields, never rename.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ItemOutcome {
    /// Stored now.
    Stored {
        id: uuid::Uuid,
        customer_id: uuid::Uuid,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        warnings: Vec<String>,
    },
    /// The same record (same source id and content) was stored before.
    Duplicate {
        id: uuid::Uuid,
        customer_id: uuid::Uuid,
    },
    /// Not stored.
    Rejected { errors: Vec<FieldError> },
}

impl ItemOutcome {
    /// A record whose source id was stored before: the same content is a
    /// harmless duplicate, other content a conflicting duplicate (rejected
    /// on `field` with `conflict`'s reason).
    pub fn repeat(
        old_id: uuid::Uuid,
        customer_id: uuid::Uuid,
        same_content: bool,
        field: &str,
        conflict: impl FnOnce() -> String,
    ) -> Self {
        if same_content {
            ItemOutcome::Duplicate {
                id: old_id,
                customer_id,
            }
        } else {
            ItemOutcome::rejected(field, conflict())
        }
    }

    pub fn rejected(field: &str, reason: impl Into<String>) -> Self {
        ItemOutcome::Rejected {
            errors: vec![FieldError {
                field: field.to_owned(),
                reason: reason.into(),
            }],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestResult {
    /// Processed now.
    Fresh(Vec<ItemOutcome>),
    /// The idempotency key was seen with the same body: the stored outcomes.
    Replayed(Vec<ItemOutcome>),
    /// The idempotency key was seen with a different body.
    KeyReused,
}

/// What importing one customer profile did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileOutcome {
    /// A new customer; `warnings` name identifiers left off because they
    /// belong to someone else (recorded as conflicts).
    Created {
        customer: CustomerId,
        warnings: Vec<String>,
    },
    /// Known customer; new identifiers or a name were added.
    Updated {
        customer: CustomerId,
        warnings: Vec<String>,
    },
    /// Known customer, nothing new.
    Unchanged(CustomerId),
    /// Not imported: the profile contradicts what is known about its own
    /// customer (another email for the same customer id, ...). The
    /// conflicts were recorded for an operator.
    Conflict(Vec<IdentityConflict>),
}

/// A profile to import.
pub type ProfileItem = NewProfile;
