//! What a reply may rest on: knowledge-base passages and the customer's own
//! history, found for one message of one customer.

use async_trait::async_trait;

use crate::domain::{CustomerId, Lang};

/// A retrieved piece of the knowledge base.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    pub doc_id: String,
    pub title: String,
    /// Headings from the document root to this chunk.
    pub heading: String,
    pub text: String,
    pub score: f64,
}

/// Evidence for one message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    /// Best first.
    pub passages: Vec<Passage>,
    /// The retrieval layer judged that the knowledge base answers this
    /// message (a calibrated threshold, not "something was returned").
    pub answerable: bool,
    /// Confidence of the top passage in [0, 1].
    pub confidence: f64,
    /// This customer's own relevant history (never anyone else's).
    pub history: Vec<String>,
}

/// Finds evidence; implemented by the retrieval use-case.
#[async_trait]
pub trait Grounder: Send + Sync + 'static {
    async fn ground(
        &self,
        customer: CustomerId,
        text: &str,
        lang: Lang,
    ) -> anyhow::Result<Evidence>;
}
