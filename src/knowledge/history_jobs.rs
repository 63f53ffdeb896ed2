//! The history jobs' handlers (registered in `app::components`): they live
//! here rather than in `pipeline::handlers` because they drive the
//! knowledge layer, which depends on the pipeline and not the other way.
//!
//! `index_history` is enqueued with every stored event and message (in the
//! same transaction), `history_merge` with every merge: the durable queue
//! is what guarantees that no item is missing for good, and both handlers
//! are idempotent (upserts keyed by the record id).

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use super::history::{History, HistoryItem, Source};
use crate::domain::{CustomerId, EventId, MessageId};
use crate::pipeline::ports::Store;
use crate::pipeline::queue::Job;
use crate::pipeline::worker::{JobError, JobHandler};

fn retry(e: anyhow::Error) -> JobError {
    JobError::Retryable(e.context("history index"))
}

fn payload_uuid(job: &Job, field: &str) -> Option<Result<Uuid, JobError>> {
    let v = job.payload.get(field)?;
    Some(
        v.as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| {
                JobError::Permanent(anyhow::anyhow!("payload field {field:?} is not a UUID"))
            }),
    )
}

/// The record as a history item, read now (`None`: it does not exist).
async fn load(
    store: &dyn Store,
    source: Source,
    id: Uuid,
) -> Result<Option<HistoryItem>, JobError> {
    Ok(match source {
        Source::Event => store
            .event(EventId::from_uuid(id))
            .await?
            .map(|e| HistoryItem::from_event(&e)),
        Source::Message => store
            .message(MessageId::from_uuid(id))
            .await?
            .map(|m| HistoryItem::from_message(&m)),
    })
}

/// Indexes one stored event or message.
pub struct IndexHistoryHandler {
    pub store: Arc<dyn Store>,
    pub history: History,
}

#[async_trait]
impl JobHandler for IndexHistoryHandler {
    async fn handle(&self, job: &Job) -> Result<(), JobError> {
        let (source, id) = match (payload_uuid(job, "event"), payload_uuid(job, "message")) {
            (Some(id), _) => (Source::Event, id?),
            (None, Some(id)) => (Source::Message, id?),
            (None, None) => {
                return Err(JobError::Permanent(anyhow::anyhow!(
                    "payload names neither an event nor a message"
                )));
            }
        };
        let Some(item) = load(&*self.store, source, id).await? else {
            return Err(JobError::Permanent(anyhow::anyhow!(
                "{} {id} does not exist",
                source.as_str()
            )));
        };
        let customer = item.customer;
        self.history.index(vec![item]).await.map_err(retry)?;
        // A merge that committed while this ran has moved the record; its
        // `history_merge` job may already have looked for the merged
        // customer's points before this upsert. Reading the record after
        // writing closes that gap: either the merge is visible now, or the
        // merge job runs after this write and re-points it.
        if let Some(now) = load(&*self.store, source, id).await?
            && now.customer != customer
        {
            self.history.index(vec![now]).await.map_err(retry)?;
        }
        Ok(())
    }
}

/// After `from` was merged into `into`: every history item of `from` is
/// indexed again from its record, which now belongs to `into`.
pub struct HistoryMergeHandler {
    pub store: Arc<dyn Store>,
    pub history: History,
}

#[async_trait]
impl JobHandler for HistoryMergeHandler {
    async fn handle(&self, job: &Job) -> Result<(), JobError> {
        let from: CustomerId = crate::pipeline::handlers::payload_id(job, "from")?;
        let into: CustomerId = crate::pipeline::handlers::payload_id(job, "into")?;
        let sources = self.history.sources_of(from).await.map_err(retry)?;
        let mut items = Vec::new();
        let mut gone = Vec::new();
        for (id, source) in sources {
            match load(&*self.store, source, id).await? {
                Some(item) => items.push(item),
                None => gone.push(id),
            }
        }
        tracing::info!(%from, %into, items = items.len(), "re-pointing merged history");
        self.history.index(items).await.map_err(retry)?;
        self.history.forget(gone).await.map_err(retry)?;
        Ok(())
    }
}

/// Indexes many records at once (the demo's seed): loaded from the store,
/// embedded in batches. Their queued jobs then find nothing to do.
pub async fn backfill(
    store: &dyn Store,
    history: &History,
    records: &[(Source, Uuid)],
) -> anyhow::Result<usize> {
    let mut written = 0;
    for chunk in records.chunks(256) {
        let mut items = Vec::with_capacity(chunk.len());
        for (source, id) in chunk {
            if let Some(item) = load(store, *source, *id).await.map_err(|e| match e {
                JobError::Retryable(e) | JobError::Permanent(e) => e,
            })? {
                items.push(item);
            }
        }
        written += history.index(items).await?;
    }
    Ok(written)
}
