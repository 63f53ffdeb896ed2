//! Delivers one outbox row. The row is claimed (`sending`, committed) before
//! the channel is called and marked `sent` once after; if a process died in
//! between, an exactly-once channel is asked whether the send happened.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::{ChannelKind, OutboxId};
use crate::pipeline::ports::{Channel, ChannelError, Guarantee, Store};
use crate::pipeline::queue::Job;
use crate::pipeline::worker::{JobError, JobHandler};

/// Channel adapters by kind, plus an optional fallback for kinds without one.
#[derive(Default, Clone)]
pub struct Channels {
    by_kind: HashMap<ChannelKind, Arc<dyn Channel>>,
    fallback: Option<Arc<dyn Channel>>,
}

impl Channels {
    pub fn register(&mut self, channel: Arc<dyn Channel>) -> &mut Self {
        self.by_kind.insert(channel.kind(), channel);
        self
    }
    pub fn with_fallback(&mut self, channel: Arc<dyn Channel>) -> &mut Self {
        self.fallback = Some(channel);
        self
    }
    pub fn get(&self, kind: ChannelKind) -> Option<&Arc<dyn Channel>> {
        self.by_kind.get(&kind).or(self.fallback.as_ref())
    }
}

pub struct DeliverHandler {
    pub store: Arc<dyn Store>,
    pub channels: Channels,
}

#[async_trait]
impl JobHandler for DeliverHandler {
    async fn handle(&self, job: &Job) -> Result<(), JobError> {
        let id: OutboxId = super::payload_id(job, "outbox")?;
        let Some(claim) = self.store.claim_delivery(id).await? else {
            // Already sent or dead: nothing to do (a re-run of a finished job).
            return Ok(());
        };
        let entry = claim.entry;
        let Some(channel) = self.channels.get(entry.channel) else {
            let error = format!("no channel adapter is configured for {}", entry.channel);
            self.store.fail_delivery(id, &error, true).await?;
            return Err(JobError::Permanent(anyhow::anyhow!(error)));
        };
        if claim.maybe_sent_before && channel.guarantee() == Guarantee::ExactlyOnce {
            match channel.lookup(&entry.idempotency_key).await {
                Ok(Some(receipt)) => {
                    tracing::info!(outbox_id = %id, "earlier send found; marking it sent without resending");
                    self.store.complete_delivery(id, receipt).await?;
                    return Ok(());
                }
                Ok(None) => {}
                Err(e) => return self.failed(job, id, e).await,
            }
        } else if claim.maybe_sent_before {
            tracing::warn!(outbox_id = %id, channel = %entry.channel,
                "a previous attempt may have been sent; this channel cannot tell, so it is sent again (at-least-once)");
        }
        match channel.send(&entry).await {
            Ok(receipt) => {
                if !self.store.complete_delivery(id, receipt).await? {
                    tracing::warn!(outbox_id = %id, "delivery was already marked sent");
                }
                Ok(())
            }
            Err(e) => self.failed(job, id, e).await,
        }
    }
}

impl DeliverHandler {
    async fn failed(&self, job: &Job, id: OutboxId, e: ChannelError) -> Result<(), JobError> {
        let last = job.attempts >= job.max_attempts;
        match e {
            ChannelError::Permanent(msg) => {
                self.store.fail_delivery(id, &msg, true).await?;
                Err(JobError::Permanent(anyhow::anyhow!(msg)))
            }
            ChannelError::Temporary(msg) => {
                self.store.fail_delivery(id, &msg, last).await?;
                Err(JobError::Retryable(anyhow::anyhow!(msg)))
            }
        }
    }
}
