//! After an order, refund or subscription change: recompute the customer's
//! figures and rescore them with the current model version (no refit).

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::{EventId, Timestamp};
use crate::pipeline::ports::Store;
use crate::pipeline::queue::Job;
use crate::pipeline::value::{self, ActiveModel, ValueOptions};
use crate::pipeline::views::CustomerValueRecord;
use crate::pipeline::worker::{JobError, JobHandler};

pub struct CustomerValueHandler {
    pub store: Arc<dyn Store>,
    pub currency: String,
    pub options: ValueOptions,
}

#[async_trait]
impl JobHandler for CustomerValueHandler {
    async fn handle(&self, job: &Job) -> Result<(), JobError> {
        let id: EventId = super::payload_id(job, "event")?;
        let Some(event) = self.store.event(id).await? else {
            return Err(JobError::Permanent(anyhow::anyhow!(
                "event {id} does not exist"
            )));
        };
        let customer = event.customer_id;
        self.store.refresh_customer_stats(customer).await?;
        let purchases: Vec<(i64, i64)> = self
            .store
            .purchases(Some(customer), &self.currency)
            .await?
            .into_iter()
            .map(|p| (p.at_us, p.amount_minor))
            .collect();
        let now = Timestamp::now();
        let Some(summary) = value::summarise(&purchases, now) else {
            return Ok(());
        };
        let model = match self.store.active_clv_model().await? {
            Some((v, p, _)) => ActiveModel::from_params(v, &p).ok(),
            None => None,
        };
        let record = CustomerValueRecord {
            customer_id: customer,
            scores: model
                .as_ref()
                .map(|m| value::score(&summary, m, &self.options)),
            model_version: model.as_ref().map(|m| m.version),
            summary,
            currency: self.currency.clone(),
            scored_at: now,
        };
        self.store.save_customer_values(vec![record]).await?;
        Ok(())
    }
}
