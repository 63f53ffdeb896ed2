//! The agent's `Grounder` over the knowledge base: passages for a message
//! (any language: cross-lingual retrieval is the dense side's job), the
//! answerability verdict, and nothing of any other customer.

use async_trait::async_trait;

use super::KnowledgeBase;
use super::retrieve::SearchOptions;
use crate::domain::{CustomerId, Lang};
use crate::pipeline::grounding::{Evidence, Grounder, Passage};
use crate::pipeline::ports::VectorError;

pub struct KbGrounder {
    pub kb: KnowledgeBase,
    pub options: SearchOptions,
    /// Passages handed to the drafter.
    pub passages: usize,
}

#[async_trait]
impl Grounder for KbGrounder {
    async fn ground(
        &self,
        _customer: CustomerId,
        text: &str,
        _lang: Lang,
    ) -> anyhow::Result<Evidence> {
        let mut o = self.options.clone();
        o.k = self.passages;
        let r = match self.kb.search(text, &o).await {
            Ok(r) => r,
            // Nothing ingested yet: no grounded answer, not a failure.
            Err(e)
                if e.downcast_ref::<VectorError>()
                    .is_some_and(|v| matches!(v, VectorError::NoCollection(_))) =>
            {
                return Ok(Evidence::default());
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
            history: Vec::new(),
        })
    }
}
