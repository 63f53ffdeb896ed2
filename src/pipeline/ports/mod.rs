//! Ports: the traits use-cases need and adapters implement.

mod channel;
mod embedder;
mod llm;
mod store;

pub use channel::{Channel, ChannelError, Guarantee};
pub use embedder::{EmbedRole, Embedder};
pub use llm::{Llm, LlmError, LlmRequest, TextStream};
pub use store::{Dispatch, DraftChange, MergeReport, Store, StoreError, StoreResult};
