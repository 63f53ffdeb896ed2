//! `VectorIndex` adapters: qdrant-edge in-process (the default).

pub mod edge;

pub use edge::EdgeIndex;
