//! The storage port: everything the use-cases need from a database. Two
//! implementations live in `crate::store` (SQLite, PostgreSQL); one story
//! test runs against both.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::{
    ConversationId, CustomerId, DraftAction, DraftId, DraftState, EventId, IdKind, JobId,
    MessageId, NewProfile, OutboxId, SourceEventId, Timestamp,
};
use crate::pipeline::economics::EconomicsData;
use crate::pipeline::queue::{Job, JobOutcome, JobState, NewJob};
use crate::pipeline::records::{IngestRequest, IngestResult, ProfileOutcome};
use crate::pipeline::value::{ModelParams, Purchase};
use crate::pipeline::views::{
    AuditEntry, ConflictView, ConversationView, CustomerValueRecord, CustomerView, DeliveryClaim,
    DraftView, NewClvModel, NewDraft, OutboxState, Receipt, SpendRow, StoredEvent, StoredMessage,
};

/// Errors a caller acts on; everything else is `Other` (logged, 500/retry).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error(transparent)]
    InvalidTransition(#[from] crate::domain::InvalidTransition),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A draft transition requested by someone.
#[derive(Debug, Clone)]
pub struct DraftChange {
    pub id: DraftId,
    pub action: DraftAction,
    pub actor: String,
    /// New text, for `Edit`.
    pub body: Option<String>,
    /// A reason or comment, recorded in the audit log.
    pub note: Option<String>,
    /// For Approve/Edit: the outbox row and delivery job created in the
    /// same transaction (the draft moves on to `queued`).
    pub dispatch: Option<Dispatch>,
}

#[derive(Debug, Clone)]
pub struct Dispatch {
    pub outbox_id: OutboxId,
    pub job: NewJob,
}

#[derive(Debug, Clone, Default)]
pub struct MergeReport {
    pub identifiers_moved: u64,
    pub events_moved: u64,
    pub messages_moved: u64,
    pub conversations_moved: u64,
    pub drafts_moved: u64,
    pub conflicts_resolved: u64,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Applies pending migrations; returns the names applied now.
    async fn migrate(&self) -> StoreResult<Vec<String>>;

    /// Database reachable and every migration applied.
    async fn ready(&self) -> StoreResult<()>;

    // ---- ingest -------------------------------------------------------

    /// Stores many requests in one transaction (group commit), each with its
    /// jobs and idempotency record. Results are in request order.
    async fn ingest(&self, requests: Vec<IngestRequest>) -> StoreResult<Vec<IngestResult>>;

    /// Imports customer profiles, one transaction for the batch.
    async fn upsert_profiles(
        &self,
        profiles: Vec<(NewProfile, String)>,
    ) -> StoreResult<Vec<ProfileOutcome>>;

    /// Content digests of already stored events with these source ids.
    async fn event_digests(&self, ids: Vec<SourceEventId>) -> StoreResult<HashMap<String, String>>;

    // ---- customers ----------------------------------------------------

    async fn customer(&self, id: CustomerId) -> StoreResult<Option<CustomerView>>;
    async fn find_customer(&self, kind: IdKind, value: &str) -> StoreResult<Option<CustomerId>>;
    /// Moves everything of `from` to `into`, leaves `from` as a tombstone
    /// pointing at `into`, resolves conflicts between the two, audits it,
    /// and enqueues `jobs` (`routing::jobs_for_merge`) in the same
    /// transaction.
    async fn merge_customers(
        &self,
        into: CustomerId,
        from: CustomerId,
        actor: &str,
        jobs: Vec<NewJob>,
    ) -> StoreResult<MergeReport>;
    async fn conflicts(&self, customer: Option<CustomerId>) -> StoreResult<Vec<ConflictView>>;
    /// Recomputes a customer's value figures from their events (idempotent).
    async fn refresh_customer_stats(&self, customer: CustomerId) -> StoreResult<()>;
    async fn event(&self, id: EventId) -> StoreResult<Option<StoredEvent>>;
    async fn message(&self, id: MessageId) -> StoreResult<Option<StoredMessage>>;
    async fn conversation(&self, id: ConversationId) -> StoreResult<Option<ConversationView>>;
    async fn conversation_messages(&self, id: ConversationId) -> StoreResult<Vec<StoredMessage>>;
    async fn set_conversation_status(&self, id: ConversationId, status: &str) -> StoreResult<()>;
    async fn count_events(&self) -> StoreResult<u64>;

    // ---- queue --------------------------------------------------------

    async fn enqueue(&self, jobs: Vec<NewJob>) -> StoreResult<()>;
    /// Leases up to `limit` runnable jobs (queued and due, or running with
    /// an expired lease) and commits the claim before returning. Jobs whose
    /// expired lease used their last attempt become dead instead.
    async fn claim_jobs(
        &self,
        worker: &str,
        limit: usize,
        lease: Duration,
        now: Timestamp,
    ) -> StoreResult<Vec<Job>>;
    /// Records outcomes; an outcome whose lease token is stale is ignored.
    async fn finish_jobs(&self, outcomes: Vec<JobOutcome>) -> StoreResult<()>;
    /// Gives leased jobs back without counting the attempt (shutdown).
    async fn release_jobs(&self, leases: Vec<(JobId, uuid::Uuid)>) -> StoreResult<()>;
    /// Renews leases still held (same token, still running) to `lease` from
    /// now, for jobs that run longer than one lease; returns how many were
    /// renewed (a lease lost to another worker is not).
    async fn extend_leases(
        &self,
        leases: Vec<(JobId, uuid::Uuid)>,
        lease: Duration,
    ) -> StoreResult<usize>;
    async fn list_jobs(&self, state: Option<JobState>, limit: usize) -> StoreResult<Vec<Job>>;
    async fn job(&self, id: JobId) -> StoreResult<Option<Job>>;
    /// Puts a dead job back in the queue with fresh attempts.
    async fn retry_job(&self, id: JobId, actor: &str) -> StoreResult<Job>;
    async fn job_counts(&self) -> StoreResult<Vec<(JobState, u64)>>;

    // ---- drafts, audit ------------------------------------------------

    async fn create_draft(&self, draft: NewDraft, actor: &str) -> StoreResult<DraftView>;
    async fn draft(&self, id: DraftId) -> StoreResult<Option<DraftView>>;
    async fn list_drafts(
        &self,
        state: Option<DraftState>,
        limit: usize,
    ) -> StoreResult<Vec<DraftView>>;
    /// Drafts replying to one message, oldest first.
    async fn drafts_for_message(&self, message: MessageId) -> StoreResult<Vec<DraftView>>;
    /// Applies a transition and its audit entry atomically; with a dispatch,
    /// also moves on to `queued` and creates the outbox row and job.
    async fn change_draft(&self, change: DraftChange) -> StoreResult<DraftView>;
    async fn audit_log(&self, entity: &str, entity_id: &str) -> StoreResult<Vec<AuditEntry>>;

    // ---- outbox -------------------------------------------------------

    /// Marks the row `sending` (committed before the channel is called).
    /// `None` when the row is already sent or dead.
    async fn claim_delivery(&self, id: OutboxId) -> StoreResult<Option<DeliveryClaim>>;
    /// `sending → sent` exactly once, with the channel's message id; also
    /// moves the draft to `sent` and stores the outbound message. Returns
    /// false when the row was not `sending` (already marked).
    async fn complete_delivery(&self, id: OutboxId, receipt: Receipt) -> StoreResult<bool>;
    /// Records a failed attempt; `dead` also fails the draft.
    async fn fail_delivery(&self, id: OutboxId, error: &str, dead: bool) -> StoreResult<()>;
    async fn outbox_counts(&self) -> StoreResult<Vec<(OutboxState, u64)>>;

    // ---- customer value and economics ---------------------------------

    /// Orders in `currency`, of one customer or of everyone, oldest first.
    async fn purchases(
        &self,
        customer: Option<CustomerId>,
        currency: &str,
    ) -> StoreResult<Vec<Purchase>>;
    async fn save_customer_values(&self, values: Vec<CustomerValueRecord>) -> StoreResult<()>;
    async fn customer_value(&self, id: CustomerId) -> StoreResult<Option<CustomerValueRecord>>;
    /// Stores a fitted model as the new active version; returns its number.
    async fn save_clv_model(&self, model: NewClvModel) -> StoreResult<i64>;
    /// The active model version: (version, parameters, fitted at).
    async fn active_clv_model(&self) -> StoreResult<Option<(i64, ModelParams, Timestamp)>>;
    /// Enqueues unless a job with this key is already queued or running.
    async fn enqueue_unique(&self, job: NewJob, key: &str) -> StoreResult<bool>;
    /// Everything the unit-economics figures need, up to `to`.
    async fn economics_data(&self, to: Timestamp, currency: &str) -> StoreResult<EconomicsData>;
    /// Inserts or replaces spend rows (one per channel and period).
    async fn upsert_marketing_spend(&self, rows: Vec<SpendRow>) -> StoreResult<u64>;

    // ---- the agent ------------------------------------------------------

    /// A customer's events since `since`, oldest first.
    async fn customer_events(
        &self,
        customer: CustomerId,
        since: Timestamp,
    ) -> StoreResult<Vec<StoredEvent>>;
    /// Offers proposed to a customer: (offer id, when, priced). Holdout
    /// assignments are not offers.
    async fn offer_history(
        &self,
        customer: CustomerId,
    ) -> StoreResult<Vec<(String, Timestamp, bool)>>;
}
