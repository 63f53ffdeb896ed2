//! PostgreSQL backend (placeholder while it is written; replaced before commit).
#![allow(unused_variables)]

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::{
    ConversationId, CustomerId, DraftId, DraftState, EventId, IdKind, JobId, MessageId, NewProfile,
    OutboxId, SourceEventId, Timestamp,
};
use crate::pipeline::economics::EconomicsData;
use crate::pipeline::ports::{DraftChange, MergeReport, Store, StoreError, StoreResult};
use crate::pipeline::queue::{Job, JobOutcome, JobState, NewJob};
use crate::pipeline::records::{IngestRequest, IngestResult, ProfileOutcome};
use crate::pipeline::value::{ModelParams, Purchase};
use crate::pipeline::views::{
    AuditEntry, ConflictView, ConversationView, CustomerView, DeliveryClaim, DraftView, NewDraft,
    OutboxState, Receipt, StoredEvent, StoredMessage,
};
use crate::pipeline::views::{CustomerValueRecord, NewClvModel, SpendRow};

pub struct PgStore;

impl PgStore {
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<PgStore> {
        anyhow::bail!("PostgreSQL store: work in progress")
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> StoreResult<Vec<String>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn ready(&self) -> StoreResult<()> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn ingest(&self, requests: Vec<IngestRequest>) -> StoreResult<Vec<IngestResult>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn upsert_profiles(
        &self,
        profiles: Vec<(NewProfile, String)>,
    ) -> StoreResult<Vec<ProfileOutcome>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn event_digests(&self, ids: Vec<SourceEventId>) -> StoreResult<HashMap<String, String>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn customer(&self, id: CustomerId) -> StoreResult<Option<CustomerView>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn find_customer(&self, kind: IdKind, value: &str) -> StoreResult<Option<CustomerId>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn merge_customers(
        &self,
        into: CustomerId,
        from: CustomerId,
        actor: &str,
    ) -> StoreResult<MergeReport> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn conflicts(&self, customer: Option<CustomerId>) -> StoreResult<Vec<ConflictView>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn refresh_customer_stats(&self, customer: CustomerId) -> StoreResult<()> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn event(&self, id: EventId) -> StoreResult<Option<StoredEvent>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn message(&self, id: MessageId) -> StoreResult<Option<StoredMessage>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn conversation(&self, id: ConversationId) -> StoreResult<Option<ConversationView>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn conversation_messages(&self, id: ConversationId) -> StoreResult<Vec<StoredMessage>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn set_conversation_status(&self, id: ConversationId, status: &str) -> StoreResult<()> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn count_events(&self) -> StoreResult<u64> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn enqueue(&self, jobs: Vec<NewJob>) -> StoreResult<()> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        limit: usize,
        lease: Duration,
        now: Timestamp,
    ) -> StoreResult<Vec<Job>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn finish_jobs(&self, outcomes: Vec<JobOutcome>) -> StoreResult<()> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn release_jobs(&self, leases: Vec<(JobId, uuid::Uuid)>) -> StoreResult<()> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn list_jobs(&self, state: Option<JobState>, limit: usize) -> StoreResult<Vec<Job>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn job(&self, id: JobId) -> StoreResult<Option<Job>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn retry_job(&self, id: JobId, actor: &str) -> StoreResult<Job> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn job_counts(&self) -> StoreResult<Vec<(JobState, u64)>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn create_draft(&self, draft: NewDraft, actor: &str) -> StoreResult<DraftView> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn draft(&self, id: DraftId) -> StoreResult<Option<DraftView>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn list_drafts(
        &self,
        state: Option<DraftState>,
        limit: usize,
    ) -> StoreResult<Vec<DraftView>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn change_draft(&self, change: DraftChange) -> StoreResult<DraftView> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn audit_log(&self, entity: &str, entity_id: &str) -> StoreResult<Vec<AuditEntry>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn claim_delivery(&self, id: OutboxId) -> StoreResult<Option<DeliveryClaim>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn complete_delivery(&self, id: OutboxId, receipt: Receipt) -> StoreResult<bool> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn fail_delivery(&self, id: OutboxId, error: &str, dead: bool) -> StoreResult<()> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }

    async fn outbox_counts(&self) -> StoreResult<Vec<(OutboxState, u64)>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }
    async fn purchases(
        &self,
        customer: Option<CustomerId>,
        currency: &str,
    ) -> StoreResult<Vec<Purchase>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }
    async fn save_customer_values(&self, values: Vec<CustomerValueRecord>) -> StoreResult<()> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }
    async fn customer_value(&self, id: CustomerId) -> StoreResult<Option<CustomerValueRecord>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }
    async fn save_clv_model(&self, model: NewClvModel) -> StoreResult<i64> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }
    async fn active_clv_model(&self) -> StoreResult<Option<(i64, ModelParams, Timestamp)>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }
    async fn enqueue_unique(&self, job: NewJob, key: &str) -> StoreResult<bool> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }
    async fn economics_data(&self, to: Timestamp, currency: &str) -> StoreResult<EconomicsData> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }
    async fn upsert_marketing_spend(&self, rows: Vec<SpendRow>) -> StoreResult<u64> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }
    async fn customer_events(
        &self,
        customer: CustomerId,
        since: Timestamp,
    ) -> StoreResult<Vec<StoredEvent>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }
    async fn offer_history(
        &self,
        customer: CustomerId,
    ) -> StoreResult<Vec<(String, Timestamp, bool)>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }
    async fn drafts_for_message(&self, message: MessageId) -> StoreResult<Vec<DraftView>> {
        Err(StoreError::Other(anyhow::anyhow!(
            "PostgreSQL store: work in progress"
        )))
    }
}
