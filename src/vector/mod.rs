//! `VectorIndex` adapters: qdrant-edge in-process (the default) and a
//! Qdrant server over gRPC; `standin` is a loopback Qdrant gRPC server
//! backed by qdrant-edge, for tests, benches and local runs.

pub mod edge;
mod edge_convert;
pub mod grpc;
pub mod server;
pub mod standin;

#[cfg(test)]
mod conformance;

pub use edge::EdgeIndex;
pub use server::{QdrantServerIndex, ServerOptions};
pub use standin::StandIn;

use serde_json::Value;

use crate::pipeline::ports::CollectionSpec;

/// A collection's spec as both backends store and compare it.
pub(crate) fn spec_json(spec: &CollectionSpec) -> Value {
    serde_json::json!({
        "dense_dim": spec.dense_dim,
        "dense_model": spec.dense_model,
        "sparse": spec.sparse,
        "keyword_fields": spec.keyword_fields,
    })
}
