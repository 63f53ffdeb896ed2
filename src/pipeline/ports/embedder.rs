//! Turning text into dense vectors. Implemented by the local
//! multilingual-e5 engine and by any OpenAI-compatible `/v1/embeddings`
//! endpoint; the knowledge base, customer history and the local analyser
//! all embed through this port.

use async_trait::async_trait;

/// What a text is for. e5-family models are trained with a `query: ` /
/// `passage: ` prefix and lose several points of recall without it;
/// adapters that need no prefix ignore the role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmbedRole {
    /// A search query or a message to classify.
    Query,
    /// A document chunk or a history item to be found.
    Passage,
}

#[async_trait]
pub trait Embedder: Send + Sync + 'static {
    /// Names the model (and its version) so an index built with one model
    /// is never queried with another.
    fn describe(&self) -> String;
    /// Length of every vector this embedder returns.
    fn dim(&self) -> usize;
    /// Embeds a batch; the result has one L2-normalised vector per text, in
    /// order. Implementations run off the async runtime.
    async fn embed(&self, role: EmbedRole, texts: Vec<String>) -> anyhow::Result<Vec<Vec<f32>>>;
}
