//! `VectorIndex` over qdrant-edge: one persistent `EdgeShard` per
//! collection under `<root>/<collection>/`. Every shard call blocks, so each
//! runs on the blocking pool with the caller's span.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use ordered_float::OrderedFloat;
use parking_lot::Mutex;
use qdrant_edge::{
    CountRequest, Distance, EdgeConfigBuilder, EdgeShard, EdgeSparseVectorParams, EdgeVectorParams,
    Fusion, Modifier, PointInsertOperations, PointOperations, PrefetchBuilder, QueryRequestBuilder,
    ScoringQuery, ScrollRequest, UpdateOperation, VectorInternal, WithPayloadInterface,
};
use serde_json::Value;
use tracing::Instrument;
use uuid::Uuid;

use super::edge_convert::{
    nearest, payload_map, point_id, sparse, to_filter, to_persisted, uuid_of,
};
use super::spec_json;
use crate::pipeline::ports::{
    CollectionSpec, Filter, Hit, Point, Query, VectorError, VectorIndex, VectorResult,
};

pub(super) const DENSE: &str = "dense";
pub(super) const SPARSE: &str = "bm25";
const SPEC_FILE: &str = "holdfast-spec.json";

/// qdrant-edge collections under one directory.
#[derive(Clone)]
pub struct EdgeIndex {
    root: PathBuf,
    shards: Arc<Mutex<HashMap<String, Arc<EdgeShard>>>>,
}

impl EdgeIndex {
    /// Opens (creating) the directory; collections load lazily.
    pub fn open(root: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(root)
            .with_context(|| format!("creating vector dir {}", root.display()))?;
        Ok(Self {
            root: root.to_owned(),
            shards: Arc::default(),
        })
    }

    /// Runs qdrant-edge's optimiser (merges segments, builds the HNSW
    /// index) until there is nothing left to do.
    pub async fn optimize(&self, collection: &str) -> VectorResult<()> {
        self.blocking(collection, |shard| {
            while shard.optimize().map_err(|e| anyhow!("optimize: {e}"))? {}
            Ok(())
        })
        .await
    }

    fn dir(&self, name: &str) -> VectorResult<PathBuf> {
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(VectorError::Other(anyhow!(
                "collection name {name:?} must be ASCII letters, digits, - or _"
            )));
        }
        Ok(self.root.join(name))
    }

    /// The shard of an existing collection (loading it from disk once).
    /// Loads are serialised: two at once would race for the shard's WAL
    /// lock and the loser would fail.
    fn shard(&self, name: &str) -> VectorResult<Arc<EdgeShard>> {
        let mut shards = self.shards.lock();
        if let Some(s) = shards.get(name) {
            return Ok(s.clone());
        }
        let dir = self.dir(name)?;
        if !dir.join(SPEC_FILE).exists() {
            return Err(VectorError::NoCollection(name.to_owned()));
        }
        let shard = Arc::new(load_shard(&dir, name)?);
        shards.insert(name.to_owned(), shard.clone());
        Ok(shard)
    }

    async fn blocking<T, F>(&self, name: &str, f: F) -> VectorResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&EdgeShard) -> anyhow::Result<T> + Send + 'static,
    {
        let this = self.clone();
        let name = name.to_owned();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _g = span.enter();
            let shard = this.shard(&name)?;
            f(&shard).map_err(VectorError::Other)
        })
        .in_current_span()
        .await
        .map_err(|e| VectorError::Other(anyhow!("vector task failed: {e}")))?
    }
}

fn create(dir: &Path, spec: &CollectionSpec) -> anyhow::Result<EdgeShard> {
    let mut cfg = EdgeConfigBuilder::new();
    if let Some(dim) = spec.dense_dim {
        cfg = cfg.vector(
            DENSE,
            EdgeVectorParams::builder(dim, Distance::Cosine).build(),
        );
    }
    if spec.sparse {
        cfg = cfg.sparse_vector(
            SPARSE,
            EdgeSparseVectorParams::builder()
                .modifier(Modifier::Idf)
                .build(),
        );
    }
    let shard = EdgeShard::new(dir, cfg.build()).map_err(|e| anyhow!("{e}"))?;
    std::fs::write(dir.join(SPEC_FILE), spec_json(spec).to_string())?;
    Ok(shard)
}

#[async_trait]
impl VectorIndex for EdgeIndex {
    fn backend(&self) -> &'static str {
        "edge"
    }

    async fn ensure_collection(&self, name: &str, spec: CollectionSpec) -> VectorResult<()> {
        let dir = self.dir(name)?;
        let this = self.clone();
        let name = name.to_owned();
        tokio::task::spawn_blocking(move || -> VectorResult<()> {
            let spec_path = dir.join(SPEC_FILE);
            if spec_path.exists() {
                let stored: Value = std::fs::read_to_string(&spec_path)
                    .context("reading collection spec")
                    .and_then(|s| serde_json::from_str(&s).context("parsing collection spec"))?;
                if stored != spec_json(&spec) {
                    return Err(VectorError::Mismatch {
                        name,
                        reason: format!("exists as {stored}, wanted {}", spec_json(&spec)),
                    });
                }
                this.shard(&name)?;
                return Ok(());
            }
            // A directory without a spec is a creation that did not finish.
            if dir.exists() {
                std::fs::remove_dir_all(&dir).context("clearing half-created collection")?;
            }
            std::fs::create_dir_all(&dir).context("creating collection dir")?;
            let shard = create(&dir, &spec)?;
            this.shards.lock().insert(name, Arc::new(shard));
            Ok(())
        })
        .await
        .map_err(|e| VectorError::Other(anyhow!("vector task failed: {e}")))?
    }

    async fn drop_collection(&self, name: &str) -> VectorResult<()> {
        let dir = self.dir(name)?;
        self.shards.lock().remove(name);
        tokio::task::spawn_blocking(move || {
            if dir.exists() {
                std::fs::remove_dir_all(&dir).context("removing collection")?;
            }
            Ok::<_, anyhow::Error>(())
        })
        .await
        .map_err(|e| VectorError::Other(anyhow!("vector task failed: {e}")))??;
        Ok(())
    }

    async fn upsert(&self, collection: &str, points: Vec<Point>) -> VectorResult<()> {
        if points.is_empty() {
            return Ok(());
        }
        self.blocking(collection, move |shard| {
            let points = points
                .into_iter()
                .map(to_persisted)
                .collect::<anyhow::Result<Vec<_>>>()?;
            shard
                .update(UpdateOperation::PointOperation(
                    PointOperations::UpsertPoints(PointInsertOperations::PointsList(points)),
                ))
                .map_err(|e| anyhow!("upsert: {e}"))?;
            shard.flush().map_err(|e| anyhow!("flush: {e}"))
        })
        .await
    }

    async fn delete(&self, collection: &str, ids: Vec<Uuid>) -> VectorResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.blocking(collection, move |shard| {
            let ids = ids.into_iter().map(point_id).collect();
            shard
                .update(UpdateOperation::PointOperation(
                    PointOperations::DeletePoints { ids },
                ))
                .map_err(|e| anyhow!("delete: {e}"))?;
            shard.flush().map_err(|e| anyhow!("flush: {e}"))
        })
        .await
    }

    async fn delete_where(&self, collection: &str, filter: Filter) -> VectorResult<()> {
        self.blocking(collection, move |shard| {
            let f = to_filter(&filter)?.unwrap_or_default();
            shard
                .update(UpdateOperation::PointOperation(
                    PointOperations::DeletePointsByFilter(f),
                ))
                .map_err(|e| anyhow!("delete: {e}"))?;
            shard.flush().map_err(|e| anyhow!("flush: {e}"))
        })
        .await
    }

    async fn query(
        &self,
        collection: &str,
        query: Query,
        filter: Filter,
        limit: usize,
    ) -> VectorResult<Vec<Hit>> {
        self.blocking(collection, move |shard| {
            let f = to_filter(&filter)?;
            let mut req = QueryRequestBuilder::new(limit.max(1))
                .with_payload(WithPayloadInterface::Bool(true));
            match query {
                Query::Dense(v) => req = req.query(nearest(DENSE, VectorInternal::from(v))),
                Query::Sparse(s) => req = req.query(nearest(SPARSE, sparse(s)?.into())),
                Query::Rrf {
                    dense,
                    sparse: s,
                    candidates,
                    k,
                    weights,
                } => {
                    let mut pd = PrefetchBuilder::new(candidates)
                        .query(nearest(DENSE, VectorInternal::from(dense)));
                    let mut ps =
                        PrefetchBuilder::new(candidates).query(nearest(SPARSE, sparse(s)?.into()));
                    if let Some(f) = &f {
                        pd = pd.filter(f.clone());
                        ps = ps.filter(f.clone());
                    }
                    req = req.add_prefetch(pd.build()).add_prefetch(ps.build()).query(
                        ScoringQuery::Fusion(Fusion::Rrf {
                            k,
                            weights: weights.map(|w| w.iter().map(|x| OrderedFloat(*x)).collect()),
                        }),
                    );
                }
            }
            if let Some(f) = f {
                req = req.filter(f);
            }
            let found = shard
                .query(req.build())
                .map_err(|e| anyhow!("query: {e}"))?;
            found
                .into_iter()
                .map(|p| {
                    Ok(Hit {
                        id: uuid_of(&p.id)?,
                        score: p.score,
                        payload: payload_map(p.payload),
                    })
                })
                .collect()
        })
        .await
    }

    async fn list(
        &self,
        collection: &str,
        filter: Filter,
        key: &str,
    ) -> VectorResult<Vec<(Uuid, Option<Value>)>> {
        let key = key.to_owned();
        self.blocking(collection, move |shard| {
            let f = to_filter(&filter)?;
            let mut out = Vec::new();
            let mut offset = None;
            loop {
                let mut req = ScrollRequest::new();
                req.offset = offset;
                req.limit = Some(1000);
                req.filter = f.clone();
                req.with_payload = Some(WithPayloadInterface::Bool(true));
                let (records, next) = shard.scroll(req).map_err(|e| anyhow!("scroll: {e}"))?;
                for r in records {
                    let v = r.payload.and_then(|mut p| p.0.remove(&key));
                    out.push((uuid_of(&r.id)?, v));
                }
                match next {
                    Some(n) => offset = Some(n),
                    None => break,
                }
            }
            Ok(out)
        })
        .await
    }

    async fn count(&self, collection: &str) -> VectorResult<usize> {
        self.blocking(collection, |shard| {
            shard
                .count(CountRequest {
                    filter: None,
                    exact: true,
                })
                .map_err(|e| anyhow!("count: {e}"))
        })
        .await
    }
}

/// Loads a shard, waiting (up to 10 s) while another handle on the same
/// directory that is being dropped still holds its WAL lock: a process
/// that indexed a collection and then serves it opens it twice in a row.
fn load_shard(dir: &Path, name: &str) -> VectorResult<EdgeShard> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut wait = std::time::Duration::from_millis(20);
    loop {
        match EdgeShard::load(dir, None) {
            Ok(s) => return Ok(s),
            // qdrant-edge reports the held lock only in its message.
            Err(e)
                if e.to_string().contains("WouldBlock") && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(wait);
                wait = (wait * 2).min(std::time::Duration::from_millis(500));
            }
            Err(e) => return Err(anyhow!("loading collection {name}: {e}").into()),
        }
    }
}
