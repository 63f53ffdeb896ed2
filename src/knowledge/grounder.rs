//! The agent's `Grounder` over the knowledge base: passages for a message
//! (any language: cross-lingual retrieval is the dense side's job), the
//! answerability verdict, and the customer's own history (recalled with
//! that customer's filter, so nothing of any other customer).

use async_trait::async_trait;

use super::retrieve::SearchOptions;
use super::{History, KnowledgeBase};
use crate::domain::{CustomerId, Lang};
use crate::pipeline::grounding::{Evidence, Grounder, Passage};
use crate::pipeline::ports::VectorError;

pub struct KbGrounder {
    pub kb: KnowledgeBase,
    pub options: SearchOptions,
    /// Passages handed to the drafter.
    pub passages: usize,
    /// The customer's history; `None`: evidence carries none.
    pub history: Option<History>,
    /// Relevant history items per message, and most recent ones added.
    pub history_k: usize,
    pub history_recent: usize,
}

#[async_trait]
impl Grounder for KbGrounder {
    async fn ground(
        &self,
        customer: CustomerId,
        text: &str,
        _lang: Lang,
    ) -> anyhow::Result<Evidence> {
        let mut o = self.options.clone();
        o.k = self.passages;
        let history = match &self.history {
            // History only adds context: a failing index degrades the
            // evidence instead of failing the message.
            Some(h) => match h
                .recall(customer, text, self.history_k, self.history_recent)
                .await
            {
                Ok(items) => items.into_iter().map(|r| r.text).collect(),
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "history recall failed");
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        let r = match self.kb.search(text, &o).await {
            Ok(r) => r,
            // Nothing ingested yet: no grounded answer, not a failure.
            Err(e)
                if e.downcast_ref::<VectorError>()
                    .is_some_and(|v| matches!(v, VectorError::NoCollection(_))) =>
            {
                return Ok(Evidence {
                    history,
                    ..Evidence::default()
                });
            }
            Err(e) => return Err(e),
        };
        Ok(Evidence {
            passages: r
                .hits
                .into_iter()
                .map(|h| Passage {
                    doc_id: h.doc_id,
                    title: h.title,
                    heading: h.heading,
                    text: h.text,
                    score: h.score,
                })
                .collect(),
            answerable: r.answerable,
            confidence: r.confidence,
            history,
        })
    }
}
