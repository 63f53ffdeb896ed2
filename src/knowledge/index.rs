//! Ingest: documents → chunks → (dense, BM25) points in one collection.
//! Chunk ids are content hashes, so a re-ingest embeds only new chunks and
//! deletes the ones whose text is gone.

use std::collections::HashSet;
use std::sync::Arc;

use anyhow::Context;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::bm25::{self, Bm25Params};
use super::chunk::{self, Chunk, ChunkParams};
use super::doc::Document;
use super::lexicon::Lexicon;
use super::translated::ChunkTerms;
use crate::pipeline::ports::{
    CollectionSpec, EmbedRole, Embedder, Filter, Point, VectorError, VectorIndex,
};

/// The knowledge base over one collection.
#[derive(Clone)]
pub struct KnowledgeBase {
    pub(crate) index: Arc<dyn VectorIndex>,
    /// `None`: BM25 only (no dense vectors stored or queried).
    pub(crate) embedder: Option<Arc<dyn Embedder>>,
    pub(crate) collection: String,
    pub(crate) chunking: ChunkParams,
    pub(crate) bm25: Bm25Params,
    /// Translates questions for cross-lingual BM25 (`lexicon.rs`).
    pub(crate) lexicon: Option<Arc<Lexicon>>,
    /// The stored chunks' term ids, for the translation's second pass.
    pub(crate) chunk_terms: Arc<ChunkTerms>,
}

/// Chunks whose term ids the translation's second pass keeps (about 1 KB
/// each): a shop's whole knowledge base, or the hot part of a large one.
const CHUNK_TERMS_CACHED: std::num::NonZeroUsize =
    std::num::NonZeroUsize::new(20_000).expect("non-zero");

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub documents: usize,
    pub chunks: usize,
    /// Chunks embedded and stored now.
    pub added: usize,
    /// Chunks already stored with the same content.
    pub kept: usize,
    pub removed: usize,
}

/// Reports ingest progress: (chunks done, chunks to do).
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

impl KnowledgeBase {
    pub fn new(
        index: Arc<dyn VectorIndex>,
        embedder: Option<Arc<dyn Embedder>>,
        collection: &str,
    ) -> Self {
        Self {
            index,
            embedder,
            collection: collection.to_owned(),
            chunking: ChunkParams::default(),
            bm25: Bm25Params::default(),
            lexicon: None,
            chunk_terms: Arc::new(ChunkTerms::new(CHUNK_TERMS_CACHED)),
        }
    }

    pub fn with_lexicon(mut self, lexicon: Option<Arc<Lexicon>>) -> Self {
        self.lexicon = lexicon;
        self
    }

    pub fn with_chunking(mut self, p: ChunkParams) -> Self {
        self.chunking = p;
        self
    }

    pub fn collection(&self) -> &str {
        &self.collection
    }

    pub fn has_dense(&self) -> bool {
        self.embedder.is_some()
    }

    fn spec(&self) -> CollectionSpec {
        CollectionSpec {
            dense_dim: self.embedder.as_ref().map(|e| e.dim()),
            dense_model: self.embedder.as_ref().map(|e| e.describe()),
            sparse: true,
            keyword_fields: vec!["doc_id".into(), "lang".into(), "tags".into(), "kind".into()],
        }
    }

    /// Creates the collection; one made with another embedder (or none) is
    /// dropped and rebuilt, since its vectors cannot be compared.
    pub async fn prepare(&self) -> anyhow::Result<()> {
        match self
            .index
            .ensure_collection(&self.collection, self.spec())
            .await
        {
            Err(VectorError::Mismatch { reason, .. }) => {
                tracing::warn!(collection = %self.collection, %reason, "rebuilding the knowledge index");
                self.index.drop_collection(&self.collection).await?;
                self.index
                    .ensure_collection(&self.collection, self.spec())
                    .await?;
                Ok(())
            }
            other => Ok(other?),
        }
    }

    /// Brings the collection in line with `docs`.
    pub async fn ingest(
        &self,
        docs: &[Document],
        progress: Progress<'_>,
    ) -> anyhow::Result<IngestReport> {
        self.prepare().await?;
        let chunking = self.chunking;
        let owned = docs.to_vec();
        let chunks: Vec<(usize, Chunk)> = tokio::task::spawn_blocking(move || {
            owned
                .iter()
                .enumerate()
                .flat_map(|(i, d)| chunk::chunk(d, chunking).into_iter().map(move |c| (i, c)))
                .collect()
        })
        .await
        .context("chunking")?;
        let stored: HashSet<Uuid> = self
            .index
            .list(&self.collection, Filter::all(), "doc_id")
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let wanted: HashSet<Uuid> = chunks.iter().map(|(_, c)| c.id).collect();
        let mut todo: Vec<&(usize, Chunk)> = Vec::new();
        let mut seen = HashSet::new();
        for c in &chunks {
            if !stored.contains(&c.1.id) && seen.insert(c.1.id) {
                todo.push(c);
            }
        }
        let removed: Vec<Uuid> = stored.difference(&wanted).copied().collect();
        let total = todo.len();
        progress(0, total);
        for (n, batch) in todo.chunks(32).enumerate() {
            let texts: Vec<String> = batch
                .iter()
                .map(|(i, c)| c.indexed_text(&docs[*i]))
                .collect();
            let dense = match &self.embedder {
                Some(e) => Some(e.embed(EmbedRole::Passage, texts.clone()).await?),
                None => None,
            };
            let points = batch
                .iter()
                .zip(&texts)
                .enumerate()
                .map(|(j, ((i, c), text))| Point {
                    id: c.id,
                    dense: dense.as_ref().and_then(|d| d.get(j).cloned()),
                    sparse: Some(bm25::document_vector(text, self.bm25)),
                    payload: payload(&docs[*i], c),
                })
                .collect();
            self.index.upsert(&self.collection, points).await?;
            progress((n * 32 + batch.len()).min(total), total);
        }
        let removed_n = removed.len();
        self.index.delete(&self.collection, removed).await?;
        Ok(IngestReport {
            documents: docs.len(),
            chunks: wanted.len(),
            added: total,
            kept: wanted.len() - total,
            removed: removed_n,
        })
    }
}

fn payload(doc: &Document, c: &Chunk) -> Map<String, Value> {
    let v = json!({
        "doc_id": doc.id,
        "title": doc.title,
        "lang": doc.lang.as_str(),
        "tags": doc.tags,
        "kind": doc.kind,
        "heading": c.heading,
        "text": c.text,
        "ordinal": c.ordinal,
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}
