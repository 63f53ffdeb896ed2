//! The knowledge base: documents, chunks, BM25 vectors, ingest and
//! retrieval over the `VectorIndex` and `Embedder` ports.

pub mod bm25;
pub mod chunk;
pub mod doc;
pub mod fusion;
pub mod grounder;
pub mod index;
pub mod retrieve;

pub use chunk::{Chunk, ChunkParams};
pub use doc::{Document, FrontMatterError, load_dir};
pub use grounder::KbGrounder;
pub use index::{IngestReport, KnowledgeBase};
