//! SQLite: the embedded default. WAL mode with `synchronous=FULL`, so a
//! commit is on disk before it returns; one writer thread group-commits
//! every write, a pool of readers serves queries concurrently.

mod audit;
mod customers;
mod drafts;
mod identity;
mod ingest;
mod outbox;
mod queue;
mod readers;
mod records;
mod rows;
mod schema;
mod value;
mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use rusqlite::Connection;

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

use readers::Readers;
use writer::Writer;

pub struct SqliteStore {
    path: PathBuf,
    writer: Writer,
    readers: Readers,
}

fn now_us() -> i64 {
    Timestamp::now().unix_micros()
}

impl SqliteStore {
    /// Opens (creating if needed) the database file. Does not migrate.
    pub fn open(path: &Path, max_batch: usize) -> anyhow::Result<SqliteStore> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the data directory {}", dir.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("opening the SQLite database {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // WAL + FULL: every commit fsyncs the log before returning, which is
        // what "durable before the 2xx" needs; WAL keeps readers unblocked.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        anyhow::ensure!(
            mode.eq_ignore_ascii_case("wal"),
            "SQLite refused WAL mode (got {mode})"
        );
        conn.execute_batch(
            "PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -32000;",
        )?;
        conn.set_prepared_statement_cache_capacity(128);
        Ok(SqliteStore {
            path: path.to_owned(),
            writer: Writer::spawn(conn, max_batch)?,
            readers: Readers::new(path.to_owned(), 8),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, i64) -> StoreResult<T> + Send + 'static,
    {
        // The closure's StoreError is carried through the writer's anyhow
        // channel and recovered, so NotFound/Conflict reach the caller intact.
        self.writer
            .run(move |c| f(c, now_us()).map_err(anyhow::Error::new))
            .await
            .map_err(|e| match e.downcast::<StoreError>() {
                Ok(se) => se,
                Err(other) => StoreError::Other(other),
            })
    }

    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> anyhow::Result<T> + Send + 'static,
    {
        Ok(self.readers.run(f).await?)
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> StoreResult<Vec<String>> {
        self.write(|c, now| Ok(schema::migrate(c, now)?)).await
    }

    async fn ready(&self) -> StoreResult<()> {
        self.read(schema::check_ready).await
    }

    async fn ingest(&self, requests: Vec<IngestRequest>) -> StoreResult<Vec<IngestResult>> {
        // One writer op per request: each commits or fails on its own, and
        // the writer folds all of them into one transaction.
        let futures = requests
            .into_iter()
            .map(|req| self.write(move |c, now| Ok(ingest::request(c, req, now)?)));
        futures::future::join_all(futures)
            .await
            .into_iter()
            .collect()
    }

    async fn upsert_profiles(
        &self,
        profiles: Vec<(NewProfile, String)>,
    ) -> StoreResult<Vec<ProfileOutcome>> {
        let futures = profiles
            .into_iter()
            .map(|(p, source)| self.write(move |c, now| Ok(ingest::profile(c, p, &source, now)?)));
        futures::future::join_all(futures)
            .await
            .into_iter()
            .collect()
    }

    async fn event_digests(&self, ids: Vec<SourceEventId>) -> StoreResult<HashMap<String, String>> {
        self.read(move |c| records::event_digests(c, &ids)).await
    }

    async fn customer(&self, id: CustomerId) -> StoreResult<Option<CustomerView>> {
        self.read(move |c| customers::get(c, id)).await
    }

    async fn find_customer(&self, kind: IdKind, value: &str) -> StoreResult<Option<CustomerId>> {
        let value = value.to_owned();
        self.read(move |c| customers::find(c, kind, &value)).await
    }

    async fn merge_customers(
        &self,
        into: CustomerId,
        from: CustomerId,
        actor: &str,
        jobs: Vec<NewJob>,
    ) -> StoreResult<MergeReport> {
        let actor = actor.to_owned();
        self.write(move |c, now| {
            let r = customers::merge(c, into, from, &actor, now)?;
            ingest::insert_jobs(c, &jobs, now)?;
            Ok(r)
        })
        .await
    }

    async fn conflicts(&self, customer: Option<CustomerId>) -> StoreResult<Vec<ConflictView>> {
        self.read(move |c| customers::conflicts(c, customer)).await
    }

    async fn refresh_customer_stats(&self, customer: CustomerId) -> StoreResult<()> {
        self.write(move |c, now| Ok(customers::refresh_stats(c, customer, now)?))
            .await
    }

    async fn event(&self, id: EventId) -> StoreResult<Option<StoredEvent>> {
        self.read(move |c| records::event(c, id)).await
    }

    async fn message(&self, id: MessageId) -> StoreResult<Option<StoredMessage>> {
        self.read(move |c| records::message(c, id)).await
    }

    async fn conversation(&self, id: ConversationId) -> StoreResult<Option<ConversationView>> {
        self.read(move |c| records::conversation(c, id)).await
    }

    async fn conversation_messages(&self, id: ConversationId) -> StoreResult<Vec<StoredMessage>> {
        self.read(move |c| records::conversation_messages(c, id))
            .await
    }

    async fn set_conversation_status(&self, id: ConversationId, status: &str) -> StoreResult<()> {
        let status = status.to_owned();
        self.write(move |c, _| {
            c.execute(
                "UPDATE conversations SET status = ?2 WHERE id = ?1",
                rusqlite::params![id.to_string(), status],
            )
            .map_err(anyhow::Error::from)?;
            Ok(())
        })
        .await
    }

    async fn count_events(&self) -> StoreResult<u64> {
        self.read(|c| {
            Ok(c.query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0))? as u64)
        })
        .await
    }

    async fn enqueue(&self, jobs: Vec<NewJob>) -> StoreResult<()> {
        self.write(move |c, now| Ok(ingest::insert_jobs(c, &jobs, now)?))
            .await
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        limit: usize,
        lease: Duration,
        now: Timestamp,
    ) -> StoreResult<Vec<Job>> {
        let worker = worker.to_owned();
        let lease_us = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX / 2);
        self.write(move |c, _| {
            Ok(queue::claim(
                c,
                &worker,
                limit,
                lease_us,
                now.unix_micros(),
            )?)
        })
        .await
    }

    async fn finish_jobs(&self, outcomes: Vec<JobOutcome>) -> StoreResult<()> {
        self.write(move |c, now| Ok(queue::finish(c, &outcomes, now)?))
            .await
    }

    async fn release_jobs(&self, leases: Vec<(JobId, uuid::Uuid)>) -> StoreResult<()> {
        self.write(move |c, now| Ok(queue::release(c, &leases, now)?))
            .await
    }

    async fn extend_leases(
        &self,
        leases: Vec<(JobId, uuid::Uuid)>,
        lease: Duration,
    ) -> StoreResult<usize> {
        let lease_us = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX / 2);
        self.write(move |c, now| Ok(queue::extend(c, &leases, now + lease_us, now)?))
            .await
    }

    async fn list_jobs(&self, state: Option<JobState>, limit: usize) -> StoreResult<Vec<Job>> {
        self.read(move |c| queue::list(c, state, limit)).await
    }

    async fn job(&self, id: JobId) -> StoreResult<Option<Job>> {
        self.read(move |c| queue::get(c, id)).await
    }

    async fn retry_job(&self, id: JobId, actor: &str) -> StoreResult<Job> {
        let actor = actor.to_owned();
        self.write(move |c, now| queue::retry(c, id, &actor, now))
            .await
    }

    async fn job_counts(&self) -> StoreResult<Vec<(JobState, u64)>> {
        self.read(queue::counts).await
    }

    async fn create_draft(&self, draft: NewDraft, actor: &str) -> StoreResult<DraftView> {
        let actor = actor.to_owned();
        self.write(move |c, now| drafts::create(c, draft, &actor, now))
            .await
    }

    async fn draft(&self, id: DraftId) -> StoreResult<Option<DraftView>> {
        self.read(move |c| drafts::get(c, id)).await
    }

    async fn list_drafts(
        &self,
        state: Option<DraftState>,
        limit: usize,
    ) -> StoreResult<Vec<DraftView>> {
        self.read(move |c| drafts::list(c, state, limit)).await
    }

    async fn drafts_for_message(&self, message: MessageId) -> StoreResult<Vec<DraftView>> {
        self.read(move |c| drafts::for_message(c, message)).await
    }

    async fn change_draft(&self, change: DraftChange) -> StoreResult<DraftView> {
        self.write(move |c, now| drafts::change(c, change, now))
            .await
    }

    async fn audit_log(&self, entity: &str, entity_id: &str) -> StoreResult<Vec<AuditEntry>> {
        let (entity, entity_id) = (entity.to_owned(), entity_id.to_owned());
        self.read(move |c| audit::list(c, &entity, &entity_id))
            .await
    }

    async fn claim_delivery(&self, id: OutboxId) -> StoreResult<Option<DeliveryClaim>> {
        self.write(move |c, now| Ok(outbox::claim(c, id, now)?))
            .await
    }

    async fn complete_delivery(&self, id: OutboxId, receipt: Receipt) -> StoreResult<bool> {
        self.write(move |c, now| Ok(outbox::complete(c, id, &receipt, now)?))
            .await
    }

    async fn fail_delivery(&self, id: OutboxId, error: &str, dead: bool) -> StoreResult<()> {
        let error = error.to_owned();
        self.write(move |c, now| Ok(outbox::fail(c, id, &error, dead, now)?))
            .await
    }

    async fn outbox_counts(&self) -> StoreResult<Vec<(OutboxState, u64)>> {
        self.read(outbox::counts).await
    }

    async fn purchases(
        &self,
        customer: Option<CustomerId>,
        currency: &str,
    ) -> StoreResult<Vec<Purchase>> {
        let currency = currency.to_owned();
        self.read(move |c| value::purchases(c, customer, &currency))
            .await
    }

    async fn save_customer_values(&self, values: Vec<CustomerValueRecord>) -> StoreResult<()> {
        self.write(move |c, _| Ok(value::save_values(c, &values)?))
            .await
    }

    async fn customer_value(&self, id: CustomerId) -> StoreResult<Option<CustomerValueRecord>> {
        self.read(move |c| value::value(c, id)).await
    }

    async fn save_clv_model(&self, model: NewClvModel) -> StoreResult<i64> {
        self.write(move |c, now| Ok(value::save_model(c, &model, now)?))
            .await
    }

    async fn active_clv_model(&self) -> StoreResult<Option<(i64, ModelParams, Timestamp)>> {
        self.read(value::active_model).await
    }

    async fn enqueue_unique(&self, job: NewJob, key: &str) -> StoreResult<bool> {
        let key = key.to_owned();
        self.write(move |c, now| Ok(value::enqueue_unique(c, &job, &key, now)?))
            .await
    }

    async fn economics_data(&self, to: Timestamp, currency: &str) -> StoreResult<EconomicsData> {
        let currency = currency.to_owned();
        self.read(move |c| value::economics(c, to, &currency)).await
    }

    async fn upsert_marketing_spend(&self, rows: Vec<SpendRow>) -> StoreResult<u64> {
        self.write(move |c, now| Ok(value::upsert_spend(c, &rows, now)?))
            .await
    }

    async fn customer_events(
        &self,
        customer: CustomerId,
        since: Timestamp,
    ) -> StoreResult<Vec<StoredEvent>> {
        self.read(move |c| records::customer_events(c, customer, since.unix_micros()))
            .await
    }

    async fn offer_history(
        &self,
        customer: CustomerId,
    ) -> StoreResult<Vec<(String, Timestamp, bool)>> {
        self.read(move |c| records::offer_history(c, customer))
            .await
    }
}
