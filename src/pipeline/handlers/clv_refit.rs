//! Re-estimates the value model on every customer's purchases, stores it
//! as a new version, and rescores everyone with it.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;

use crate::domain::{CustomerId, Timestamp};
use crate::pipeline::ports::Store;
use crate::pipeline::queue::Job;
use crate::pipeline::value::{self, ActiveModel, ValueOptions, ValueSummary};
use crate::pipeline::views::{CustomerValueRecord, NewClvModel};
use crate::pipeline::worker::{JobError, JobHandler};

pub struct ClvRefitHandler {
    pub store: Arc<dyn Store>,
    pub currency: String,
    pub options: ValueOptions,
    pub min_repeat: usize,
}

#[async_trait]
impl JobHandler for ClvRefitHandler {
    async fn handle(&self, _job: &Job) -> Result<(), JobError> {
        let now = Timestamp::now();
        let purchases = self.store.purchases(None, &self.currency).await?;
        let mut by_customer: BTreeMap<CustomerId, Vec<(i64, i64)>> = BTreeMap::new();
        for p in purchases {
            by_customer
                .entry(p.customer)
                .or_default()
                .push((p.at_us, p.amount_minor));
        }
        let summaries: Vec<(CustomerId, ValueSummary)> = by_customer
            .into_iter()
            .filter_map(|(c, p)| value::summarise(&p, now).map(|s| (c, s)))
            .collect();
        let only: Vec<ValueSummary> = summaries.iter().map(|(_, s)| s.clone()).collect();
        // Fitting is CPU-bound: off the async runtime.
        let min_repeat = self.min_repeat;
        let fitted = tokio::task::spawn_blocking(move || value::fit(&only, min_repeat))
            .await
            .map_err(|e| JobError::Retryable(e.into()))?;
        let model = match fitted {
            Ok(f) => {
                let diagnostics = json!({
                    "log_likelihood": f.diagnostics.log_likelihood,
                    "iterations": f.diagnostics.iterations,
                    "converged": f.diagnostics.converged,
                    "penalizer": f.penalizer,
                    "std_errors": f.diagnostics.std_errors,
                    "spend_log_likelihood": f.spend_diagnostics.as_ref().map(|d| d.log_likelihood),
                });
                let version = self
                    .store
                    .save_clv_model(NewClvModel {
                        params: f.params.clone(),
                        diagnostics,
                        customers: f.customers as u64,
                        period: "week",
                    })
                    .await?;
                tracing::info!(
                    version,
                    customers = f.customers,
                    penalizer = f.penalizer,
                    "customer-value model refitted"
                );
                Some(
                    ActiveModel::from_params(version, &f.params)
                        .map_err(|e| JobError::Permanent(e.into()))?,
                )
            }
            Err(reason) => {
                tracing::info!(%reason, "no customer-value model this time; summaries are kept current");
                match self.store.active_clv_model().await? {
                    Some((v, p, _)) => ActiveModel::from_params(v, &p).ok(),
                    None => None,
                }
            }
        };
        for chunk in summaries.chunks(1000) {
            let records = chunk
                .iter()
                .map(|(c, s)| CustomerValueRecord {
                    customer_id: *c,
                    scores: model.as_ref().map(|m| value::score(s, m, &self.options)),
                    model_version: model.as_ref().map(|m| m.version),
                    summary: s.clone(),
                    currency: self.currency.clone(),
                    scored_at: now,
                })
                .collect();
            self.store.save_customer_values(records).await?;
        }
        Ok(())
    }
}
