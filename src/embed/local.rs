//! `LocalE5`: the in-process multilingual-e5-small embedder.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context;
use async_trait::async_trait;
use lru::LruCache;
use rayon::prelude::*;

use super::engine::{E5Engine, MODEL_NAME};
use crate::pipeline::ports::{EmbedRole, Embedder};

/// How a `LocalE5` batches and caches.
#[derive(Debug, Clone, Copy)]
pub struct LocalOptions {
    /// Texts per forward pass; larger batches are split and the parts run
    /// on the rayon pool in parallel.
    pub batch: usize,
    /// Query embeddings remembered (LRU); 0 disables the cache.
    pub query_cache: usize,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            batch: 16,
            query_cache: 4096,
        }
    }
}

type QueryCache = Mutex<LruCache<String, Arc<[f32]>>>;

#[derive(Clone)]
pub struct LocalE5 {
    engine: Arc<E5Engine>,
    options: LocalOptions,
    cache: Option<Arc<QueryCache>>,
}

impl std::fmt::Debug for LocalE5 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalE5")
            .field("engine", &self.engine)
            .field("options", &self.options)
            .finish()
    }
}

/// Loaded models by directory: a model is checked and mapped once per
/// process however many embedders use it.
fn engines() -> &'static Mutex<HashMap<PathBuf, Arc<E5Engine>>> {
    static ENGINES: OnceLock<Mutex<HashMap<PathBuf, Arc<E5Engine>>>> = OnceLock::new();
    ENGINES.get_or_init(Default::default)
}

fn shared_engine(dir: &Path) -> anyhow::Result<Arc<E5Engine>> {
    let key = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    let mut map = engines()
        .lock()
        .map_err(|_| anyhow::anyhow!("the e5 model registry is poisoned"))?;
    if let Some(e) = map.get(&key) {
        return Ok(e.clone());
    }
    let engine = Arc::new(E5Engine::load(dir)?);
    map.insert(key, engine.clone());
    Ok(engine)
}

impl LocalE5 {
    /// Loads (or reuses) the model in `dir`. Blocking: checks and maps a
    /// 72 MB file the first time.
    pub fn load(dir: &Path, options: LocalOptions) -> anyhow::Result<LocalE5> {
        let engine = shared_engine(dir)?;
        let cache =
            NonZeroUsize::new(options.query_cache).map(|n| Arc::new(Mutex::new(LruCache::new(n))));
        Ok(LocalE5 {
            engine,
            options: LocalOptions {
                batch: options.batch.max(1),
                ..options
            },
            cache,
        })
    }

    /// Embeds on the calling thread (plus the rayon pool for large
    /// batches). For blocking contexts: benches, model training.
    pub fn embed_blocking(
        &self,
        role: EmbedRole,
        texts: &[String],
    ) -> anyhow::Result<Vec<Vec<f32>>> {
        let query = role == EmbedRole::Query;
        let Some(cache) = self.cache.as_ref().filter(|_| query) else {
            return run_batches(&self.engine, texts, query, self.options.batch);
        };
        let mut out: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        let mut missing = Vec::new();
        {
            let mut c = cache
                .lock()
                .map_err(|_| anyhow::anyhow!("the query cache is poisoned"))?;
            for (i, t) in texts.iter().enumerate() {
                match c.get(t) {
                    Some(v) => out[i] = Some(v.to_vec()),
                    None => missing.push(i),
                }
            }
        }
        if !missing.is_empty() {
            let todo: Vec<String> = missing.iter().map(|&i| texts[i].clone()).collect();
            let fresh = run_batches(&self.engine, &todo, true, self.options.batch)?;
            let mut c = cache
                .lock()
                .map_err(|_| anyhow::anyhow!("the query cache is poisoned"))?;
            for (i, v) in missing.into_iter().zip(fresh) {
                c.put(texts[i].clone(), Arc::from(v.as_slice()));
                out[i] = Some(v);
            }
        }
        out.into_iter()
            .map(|v| v.context("an embedding is missing"))
            .collect()
    }
}

fn run_batches(
    engine: &E5Engine,
    texts: &[String],
    query: bool,
    batch: usize,
) -> anyhow::Result<Vec<Vec<f32>>> {
    let embed = |chunk: &[String]| {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        engine.embed(&refs, query)
    };
    let parts: Vec<Vec<Vec<f32>>> = if texts.len() <= batch {
        vec![embed(texts)?]
    } else {
        texts
            .par_chunks(batch)
            .map(embed)
            .collect::<anyhow::Result<_>>()?
    };
    Ok(parts.into_iter().flatten().collect())
}

#[async_trait]
impl Embedder for LocalE5 {
    fn describe(&self) -> String {
        MODEL_NAME.to_owned()
    }

    fn dim(&self) -> usize {
        self.engine.dim()
    }

    async fn embed(&self, role: EmbedRole, texts: Vec<String>) -> anyhow::Result<Vec<Vec<f32>>> {
        let this = self.clone();
        let span = tracing::debug_span!("embed", n = texts.len(), ?role);
        tokio::task::spawn_blocking(move || {
            let _g = span.enter();
            this.embed_blocking(role, &texts)
        })
        .await
        .context("the embedding task panicked")?
    }
}
