//! Ports: the traits use-cases need and adapters implement.

mod channel;
mod embedder;
mod llm;
mod store;
mod vector_index;

pub use channel::{Channel, ChannelError, Guarantee};
pub use embedder::{EmbedRole, Embedder};
pub use llm::{Llm, LlmError, LlmRequest, TextStream};
pub use store::{Dispatch, DraftChange, MergeReport, Store, StoreError, StoreResult};
pub use vector_index::{
    CollectionSpec, Filter, Hit, Point, Query, SparseVec, VectorError, VectorIndex, VectorResult,
};
