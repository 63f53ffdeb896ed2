//! The knowledge base: documents, chunks, BM25 vectors, ingest and
//! retrieval over the `VectorIndex` and `Embedder` ports.

pub mod bm25;
pub mod chunk;
pub mod doc;
pub mod fusion;
pub mod grounder;
pub mod history;
pub mod history_jobs;
mod history_rebuild;
pub mod index;
pub mod lexicon;
pub mod retrieve;
pub mod translated;

#[cfg(test)]
mod history_tests;

pub use chunk::{Chunk, ChunkParams};
pub use doc::{Document, FrontMatterError, load_dir};
pub use grounder::KbGrounder;
pub use history::{History, HistoryItem, Recalled, Source};
pub use history_jobs::{HistoryMergeHandler, IndexHistoryHandler};
pub use index::{IngestReport, KnowledgeBase};
