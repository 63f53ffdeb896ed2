//! The vector-index port: named collections of points, each with an id, an
//! optional dense vector, an optional sparse (BM25) vector and a JSON
//! payload. Implemented in-process over qdrant-edge (`crate::vector::edge`)
//! and, later, over a Qdrant server; the types here avoid anything either
//! backend cannot express (ids are UUIDs, filters are exact matches on
//! payload keys, fusion is RRF as Qdrant defines it).

use async_trait::async_trait;
use serde_json::{Map, Value};
use uuid::Uuid;

/// What a collection stores. Creating an existing collection with the same
/// spec is a no-op; with another spec it is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionSpec {
    /// Length of the dense vectors (cosine distance); `None`: sparse only.
    pub dense_dim: Option<usize>,
    /// The embedder that made them (`Embedder::describe`), so an index is
    /// never queried with another model's vectors.
    pub dense_model: Option<String>,
    /// Keeps a sparse vector scored with IDF (BM25 term weights).
    pub sparse: bool,
    /// Payload keys filtered on often (indexed where the backend can).
    pub keyword_fields: Vec<String>,
}

/// A sparse vector: parallel, index-sorted `indices` and `values`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseVec {
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

/// One point to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub id: Uuid,
    pub dense: Option<Vec<f32>>,
    pub sparse: Option<SparseVec>,
    pub payload: Map<String, Value>,
}

/// A conjunction of exact matches: every `(key, any of values)` must hold.
/// The empty filter matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub must: Vec<(String, Vec<Value>)>,
}

impl Filter {
    pub fn all() -> Self {
        Self::default()
    }

    /// Adds `key == value`.
    pub fn eq(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.must.push((key.to_owned(), vec![value.into()]));
        self
    }

    /// Adds `key ∈ values` (a point whose `key` is an array matches when
    /// any element is in `values`).
    pub fn any(mut self, key: &str, values: Vec<Value>) -> Self {
        self.must.push((key.to_owned(), values));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.must.is_empty()
    }
}

/// How a query scores points.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// Cosine similarity to a dense vector.
    Dense(Vec<f32>),
    /// Dot product with a sparse query vector, IDF-weighted.
    Sparse(SparseVec),
    /// Both, each taking `candidates` points, fused by reciprocal rank as
    /// Qdrant defines it: `1 / (k + rank)` unweighted, `1 / (rank / w + k - 1)`
    /// (rank from 1) with per-source weights, dense first, sparse second.
    Rrf {
        dense: Vec<f32>,
        sparse: SparseVec,
        candidates: usize,
        k: usize,
        weights: Option<[f32; 2]>,
    },
}

/// A query's result: best first.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: Uuid,
    pub score: f32,
    pub payload: Map<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    #[error("collection {0} does not exist")]
    NoCollection(String),
    #[error("collection {name}: {reason}")]
    Mismatch { name: String, reason: String },
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type VectorResult<T> = Result<T, VectorError>;

#[async_trait]
pub trait VectorIndex: Send + Sync + 'static {
    /// `edge` or `server`.
    fn backend(&self) -> &'static str;

    /// Creates the collection unless it exists with the same spec.
    async fn ensure_collection(&self, name: &str, spec: CollectionSpec) -> VectorResult<()>;
    /// Removes a collection and everything in it (no error when missing).
    async fn drop_collection(&self, name: &str) -> VectorResult<()>;

    /// Inserts or replaces points by id (idempotent).
    async fn upsert(&self, collection: &str, points: Vec<Point>) -> VectorResult<()>;
    async fn delete(&self, collection: &str, ids: Vec<Uuid>) -> VectorResult<()>;
    async fn delete_where(&self, collection: &str, filter: Filter) -> VectorResult<()>;

    /// Up to `limit` best points that pass `filter`.
    async fn query(
        &self,
        collection: &str,
        query: Query,
        filter: Filter,
        limit: usize,
    ) -> VectorResult<Vec<Hit>>;

    /// Every point passing `filter` with the payload value of `key` (if
    /// any): what incremental ingest compares against.
    async fn list(
        &self,
        collection: &str,
        filter: Filter,
        key: &str,
    ) -> VectorResult<Vec<(Uuid, Option<Value>)>>;

    /// Number of points in the collection.
    async fn count(&self, collection: &str) -> VectorResult<usize>;
}
