//! Every inbound message: the agent analyses it, drafts a reply and
//! decides its route. The draft, its provenance and the offer assignment
//! are stored together; a low-risk FAQ answer may be approved and queued
//! at once, everything else waits for a manager.

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::{DraftId, MessageId};
use crate::metrics::{Metrics, OutcomeLabels, RuleLabels};
use crate::pipeline::agent::{Agent, situation_for};
use crate::pipeline::drafts::{self, Decision};
use crate::pipeline::ports::Store;
use crate::pipeline::queue::Job;
use crate::pipeline::views::{NewDraft, OfferAssignment};
use crate::pipeline::worker::{JobError, JobHandler};

/// The actor recorded when Holdfast approves its own FAQ answer.
pub const AUTO_ACTOR: &str = "holdfast (auto-send)";

pub struct AgentHandler {
    pub store: Arc<dyn Store>,
    pub agent: Arc<Agent>,
    pub metrics: Arc<Metrics>,
    pub max_attempts: u32,
}

#[async_trait]
impl JobHandler for AgentHandler {
    async fn handle(&self, job: &Job) -> Result<(), JobError> {
        let id: MessageId = super::payload_id(job, "message")?;
        let Some(message) = self.store.message(id).await? else {
            return Err(JobError::Permanent(anyhow::anyhow!(
                "message {id} does not exist"
            )));
        };
        // A re-run after a crash must not draft twice.
        if !self.store.drafts_for_message(id).await?.is_empty() {
            return Ok(());
        }
        let situation = situation_for(&*self.store, message.customer_id, &message.text).await?;
        let reply = self
            .agent
            .respond(&situation)
            .await
            .map_err(JobError::Retryable)?;
        for v in &reply.violations {
            self.metrics
                .guardrail_violations
                .get_or_create(&RuleLabels {
                    rule: v.rule.to_owned(),
                })
                .inc();
            tracing::warn!(rule = v.rule, message_id = %id, "draft broke policy");
        }
        for e in reply.llm.iter().flat_map(|l| l.errors.iter()) {
            let (step, kind) = e.split_once(": ").unwrap_or(("llm", e.as_str()));
            self.metrics
                .llm_failures
                .get_or_create(&OutcomeLabels {
                    kind: step.to_owned(),
                    outcome: kind.to_owned(),
                })
                .inc();
        }
        let route = if reply.route.auto_send {
            "auto_send"
        } else {
            "manager"
        };
        self.metrics
            .drafts
            .get_or_create(&OutcomeLabels {
                kind: reply.producer.clone(),
                outcome: route.to_owned(),
            })
            .inc();
        let offer = &reply.offer;
        let assignment = (offer.holdout || offer.offer.is_some()).then(|| OfferAssignment {
            experiment: offer.experiment.clone(),
            variant: offer.variant.clone(),
            offer_id: offer.offer.as_ref().map(|o| o.id.clone()),
            holdout: offer.holdout,
            priced: offer.offer.as_ref().is_some_and(|o| o.priced),
        });
        let draft = self
            .store
            .create_draft(
                NewDraft {
                    id: DraftId::new(),
                    customer_id: message.customer_id,
                    conversation_id: message.conversation_id,
                    in_reply_to: Some(id),
                    body: reply.text.clone(),
                    meta: Some(reply.meta()),
                    analysis: serde_json::to_value(&reply.analysis).ok(),
                    offer: assignment,
                },
                "holdfast",
            )
            .await?;
        if reply.route.auto_send {
            drafts::decide(
                &self.store,
                draft.id,
                Decision::Approve,
                AUTO_ACTOR,
                self.max_attempts,
            )
            .await?;
            self.store
                .set_conversation_status(message.conversation_id, "answered")
                .await?;
        } else {
            self.store
                .set_conversation_status(message.conversation_id, "awaiting_manager")
                .await?;
        }
        tracing::info!(message_id = %id, draft_id = %draft.id, producer = %reply.producer, route, "message handled");
        Ok(())
    }
}
