//! `Store` for `PgStore`: each method is one read on a pooled connection
//! or one write transaction, retried when it loses a race.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgConnection;

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
    AuditEntry, ConflictView, ConversationView, CustomerValueRecord, CustomerView, DeliveryClaim,
    DraftView, NewClvModel, NewDraft, OutboxState, Receipt, SpendRow, StoredEvent, StoredMessage,
};

use super::rows::{is_retryable, store_error_retryable};
use super::{
    PgStore, audit, customers, drafts, ingest, merge, outbox, queue, records, schema, value,
};

/// Runs of a write transaction before a lost race is reported.
const ATTEMPTS: u32 = 5;

/// `tx!(self, |c, now| expr)`: evaluates `expr` (which may `.await` and
/// must yield a `StoreResult`) in a transaction on `c: &mut PgConnection`
/// and commits it; reruns the whole transaction on a serialization
/// failure, deadlock or unique-key race.
macro_rules! tx {
    ($self:ident, |$c:ident, $now:ident| $body:expr) => {
        tx!($self, durable, |$c, $now| $body)
    };
    ($self:ident, $mode:ident, |$c:ident, $now:ident| $body:expr) => {{
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let $now = Timestamp::now().unix_micros();
            let mut tx = $self
                .pool
                .begin()
                .await
                .map_err(|e| StoreError::Other(anyhow::Error::from(e).context("beginning a transaction")))?;
            let result: StoreResult<_> = async {
                let $c: &mut PgConnection = &mut tx;
                relax($c, Durability::$mode).await?;
                $body
            }
            .await;
            match result {
                Ok(v) => match tx.commit().await {
                    Ok(()) => break Ok(v),
                    Err(e) => {
                        let e = anyhow::Error::from(e);
                        if attempt < ATTEMPTS && is_retryable(&e) {
                            continue;
                        }
                        break Err(StoreError::Other(e.context("committing a transaction")));
                    }
                },
                Err(e) => {
                    drop(tx);
                    if attempt < ATTEMPTS && store_error_retryable(&e) {
                        tracing::debug!(error = %e, attempt, "transaction lost a race; retrying");
                        continue;
                    }
                    break Err(e);
                }
            }
        }
    }};
}

/// How a write transaction commits.
#[derive(Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
enum Durability {
    /// Flushed to disk before the commit returns.
    durable,
    /// Derived data that the job writing it recomputes if lost: the commit
    /// returns before its WAL flush. The WAL is sequential, so the durable
    /// commit that then marks the job done also makes this one durable;
    /// only a database crash in between loses it, and the job reruns.
    recomputable,
}

async fn relax(c: &mut PgConnection, mode: Durability) -> StoreResult<()> {
    if mode == Durability::recomputable {
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *c)
            .await
            .map_err(anyhow::Error::from)?;
    }
    Ok(())
}

/// `read!(self, |c| expr)`: evaluates `expr` (an `anyhow::Result`) on a
/// pooled connection.
macro_rules! read {
    ($self:ident, |$c:ident| $body:expr) => {{
        let mut conn = $self.pool.acquire().await.map_err(|e| {
            StoreError::Other(anyhow::Error::from(e).context("connecting to PostgreSQL"))
        })?;
        let $c: &mut PgConnection = &mut conn;
        let out: anyhow::Result<_> = $body;
        out.map_err(StoreError::Other)
    }};
}

/// The first failed request fails the call, as on SQLite.
fn first_error<T>(results: Vec<anyhow::Result<T>>) -> StoreResult<Vec<T>> {
    results
        .into_iter()
        .map(|r| r.map_err(StoreError::Other))
        .collect()
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> StoreResult<Vec<String>> {
        Ok(schema::migrate(&self.pool).await?)
    }

    async fn ready(&self) -> StoreResult<()> {
        Ok(schema::ready(&self.pool).await?)
    }

    async fn ingest(&self, requests: Vec<IngestRequest>) -> StoreResult<Vec<IngestResult>> {
        first_error(ingest::batch(&self.pool, &self.ingest, requests).await?)
    }

    async fn upsert_profiles(
        &self,
        profiles: Vec<(NewProfile, String)>,
    ) -> StoreResult<Vec<ProfileOutcome>> {
        first_error(ingest::profiles(&self.pool, profiles).await?)
    }

    async fn event_digests(&self, ids: Vec<SourceEventId>) -> StoreResult<HashMap<String, String>> {
        read!(self, |c| customers::event_digests(c, &ids).await)
    }

    async fn customer(&self, id: CustomerId) -> StoreResult<Option<CustomerView>> {
        read!(self, |c| customers::get(c, id).await)
    }

    async fn find_customer(&self, kind: IdKind, value: &str) -> StoreResult<Option<CustomerId>> {
        read!(self, |c| customers::find(c, kind, value).await)
    }

    async fn merge_customers(
        &self,
        into: CustomerId,
        from: CustomerId,
        actor: &str,
        jobs: Vec<NewJob>,
    ) -> StoreResult<MergeReport> {
        tx!(self, |c, now| {
            let r = merge::merge(c, into, from, actor, now).await?;
            super::records::insert_jobs(c, &jobs, now).await?;
            Ok(r)
        })
    }

    async fn conflicts(&self, customer: Option<CustomerId>) -> StoreResult<Vec<ConflictView>> {
        read!(self, |c| customers::conflicts(c, customer).await)
    }

    async fn refresh_customer_stats(&self, customer: CustomerId) -> StoreResult<()> {
        tx!(self, recomputable, |c, now| Ok(customers::refresh_stats(
            c, customer, now
        )
        .await?))
    }

    async fn event(&self, id: EventId) -> StoreResult<Option<StoredEvent>> {
        read!(self, |c| customers::event(c, id).await)
    }

    async fn message(&self, id: MessageId) -> StoreResult<Option<StoredMessage>> {
        read!(self, |c| customers::message(c, id).await)
    }

    async fn conversation(&self, id: ConversationId) -> StoreResult<Option<ConversationView>> {
        read!(self, |c| customers::conversation(c, id).await)
    }

    async fn conversation_messages(&self, id: ConversationId) -> StoreResult<Vec<StoredMessage>> {
        read!(self, |c| customers::conversation_messages(c, id).await)
    }

    async fn set_conversation_status(&self, id: ConversationId, status: &str) -> StoreResult<()> {
        sqlx::query("UPDATE conversations SET status = $2 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(status)
            .execute(&self.pool)
            .await
            .map_err(anyhow::Error::from)?;
        Ok(())
    }

    async fn count_events(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&self.pool)
            .await
            .map_err(anyhow::Error::from)?;
        Ok(n as u64)
    }

    async fn enqueue(&self, jobs: Vec<NewJob>) -> StoreResult<()> {
        tx!(
            self,
            |c, now| Ok(records::insert_jobs(c, &jobs, now).await?)
        )
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        limit: usize,
        lease: Duration,
        now: Timestamp,
    ) -> StoreResult<Vec<Job>> {
        let lease_us = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX / 2);
        let at = now.unix_micros();
        tx!(self, |c, _now| Ok(queue::claim(
            c, worker, limit, lease_us, at
        )
        .await?))
    }

    async fn finish_jobs(&self, outcomes: Vec<JobOutcome>) -> StoreResult<()> {
        tx!(self, |c, now| Ok(queue::finish(c, &outcomes, now).await?))
    }

    async fn release_jobs(&self, leases: Vec<(JobId, uuid::Uuid)>) -> StoreResult<()> {
        tx!(self, |c, now| Ok(queue::release(c, &leases, now).await?))
    }

    async fn extend_leases(
        &self,
        leases: Vec<(JobId, uuid::Uuid)>,
        lease: Duration,
    ) -> StoreResult<usize> {
        let lease_us = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX / 2);
        tx!(self, |c, now| Ok(queue::extend(
            c,
            &leases,
            now + lease_us,
            now
        )
        .await?))
    }

    async fn list_jobs(&self, state: Option<JobState>, limit: usize) -> StoreResult<Vec<Job>> {
        read!(self, |c| queue::list(c, state, limit).await)
    }

    async fn job(&self, id: JobId) -> StoreResult<Option<Job>> {
        read!(self, |c| queue::get(c, id).await)
    }

    async fn retry_job(&self, id: JobId, actor: &str) -> StoreResult<Job> {
        tx!(self, |c, now| queue::retry(c, id, actor, now).await)
    }

    async fn job_counts(&self) -> StoreResult<Vec<(JobState, u64)>> {
        read!(self, |c| queue::counts(c).await)
    }

    async fn create_draft(&self, draft: NewDraft, actor: &str) -> StoreResult<DraftView> {
        tx!(self, |c, now| drafts::create(c, draft.clone(), actor, now)
            .await)
    }

    async fn draft(&self, id: DraftId) -> StoreResult<Option<DraftView>> {
        read!(self, |c| drafts::get(c, id).await)
    }

    async fn list_drafts(
        &self,
        state: Option<DraftState>,
        limit: usize,
    ) -> StoreResult<Vec<DraftView>> {
        read!(self, |c| drafts::list(c, state, limit).await)
    }

    async fn drafts_for_message(&self, message: MessageId) -> StoreResult<Vec<DraftView>> {
        read!(self, |c| drafts::for_message(c, message).await)
    }

    async fn change_draft(&self, change: DraftChange) -> StoreResult<DraftView> {
        tx!(self, |c, now| drafts::change(c, change.clone(), now).await)
    }

    async fn audit_log(&self, entity: &str, entity_id: &str) -> StoreResult<Vec<AuditEntry>> {
        read!(self, |c| audit::list(c, entity, entity_id).await)
    }

    async fn claim_delivery(&self, id: OutboxId) -> StoreResult<Option<DeliveryClaim>> {
        tx!(self, |c, now| Ok(outbox::claim(c, id, now).await?))
    }

    async fn complete_delivery(&self, id: OutboxId, receipt: Receipt) -> StoreResult<bool> {
        tx!(self, |c, now| Ok(
            outbox::complete(c, id, &receipt, now).await?
        ))
    }

    async fn fail_delivery(&self, id: OutboxId, error: &str, dead: bool) -> StoreResult<()> {
        tx!(self, |c, now| Ok(
            outbox::fail(c, id, error, dead, now).await?
        ))
    }

    async fn outbox_counts(&self) -> StoreResult<Vec<(OutboxState, u64)>> {
        read!(self, |c| outbox::counts(c).await)
    }

    async fn purchases(
        &self,
        customer: Option<CustomerId>,
        currency: &str,
    ) -> StoreResult<Vec<Purchase>> {
        read!(self, |c| value::purchases(c, customer, currency).await)
    }

    async fn save_customer_values(&self, values: Vec<CustomerValueRecord>) -> StoreResult<()> {
        tx!(self, recomputable, |c, _now| Ok(value::save_values(
            c, &values
        )
        .await?))
    }

    async fn customer_value(&self, id: CustomerId) -> StoreResult<Option<CustomerValueRecord>> {
        read!(self, |c| value::value(c, id).await)
    }

    async fn save_clv_model(&self, model: NewClvModel) -> StoreResult<i64> {
        tx!(self, |c, now| Ok(value::save_model(c, &model, now).await?))
    }

    async fn active_clv_model(&self) -> StoreResult<Option<(i64, ModelParams, Timestamp)>> {
        read!(self, |c| value::active_model(c).await)
    }

    async fn enqueue_unique(&self, job: NewJob, key: &str) -> StoreResult<bool> {
        tx!(self, |c, now| Ok(
            value::enqueue_unique(c, &job, key, now).await?
        ))
    }

    async fn economics_data(&self, to: Timestamp, currency: &str) -> StoreResult<EconomicsData> {
        read!(self, |c| value::economics(c, to, currency).await)
    }

    async fn upsert_marketing_spend(&self, rows: Vec<SpendRow>) -> StoreResult<u64> {
        tx!(self, |c, now| Ok(value::upsert_spend(c, &rows, now).await?))
    }

    async fn customer_events(
        &self,
        customer: CustomerId,
        since: Timestamp,
    ) -> StoreResult<Vec<StoredEvent>> {
        read!(self, |c| customers::customer_events(
            c,
            customer,
            since.unix_micros()
        )
        .await)
    }

    async fn offer_history(
        &self,
        customer: CustomerId,
    ) -> StoreResult<Vec<(String, Timestamp, bool)>> {
        read!(self, |c| customers::offer_history(c, customer).await)
    }
}
