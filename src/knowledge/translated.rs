//! The question's translation searched as a third BM25 list
//! (`lexicon.rs` makes the weighted translations): two passes, the second
//! keeping the senses the first pass's hits contain, whose term ids come
//! from a bounded cache keyed by the chunks' content-hash ids.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;
use uuid::Uuid;

use super::bm25;
use super::lexicon::{Lexicon, query_vector};
use crate::pipeline::ports::{Filter, Hit, Query, VectorIndex};

/// The BM25 term ids of stored chunks (title, heading and text), by point
/// id, so the translation's second pass does not re-stem the first pass's
/// hits on every question. A knowledge-base chunk's id is a hash of its
/// content and ingest never rewrites a stored point under the same id, so
/// an entry cannot go stale; the cache only bounds its memory.
pub struct ChunkTerms(Mutex<LruCache<Uuid, Arc<[u32]>>>);

impl ChunkTerms {
    pub fn new(capacity: NonZeroUsize) -> Self {
        Self(Mutex::new(LruCache::new(capacity)))
    }

    /// The hit's sorted, distinct term ids.
    pub fn of(&self, hit: &Hit) -> Arc<[u32]> {
        if let Some(t) = self.lock().get(&hit.id) {
            return t.clone();
        }
        let mut ids: Vec<u32> = ["title", "heading", "text"]
            .iter()
            .filter_map(|k| hit.payload.get(*k).and_then(|v| v.as_str()))
            .flat_map(|t| bm25::terms(t).into_iter().map(|t| bm25::term_id(&t)))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let ids: Arc<[u32]> = ids.into();
        self.lock().put(hit.id, ids.clone());
        ids
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<Uuid, Arc<[u32]>>> {
        // A panic elsewhere while holding the lock leaves a usable cache.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl std::fmt::Debug for ChunkTerms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkTerms")
            .field("len", &self.len())
            .finish()
    }
}

/// The BM25 hits of the question's translation. Two passes: the first
/// spreads each term's weight over all its translations and shows which of
/// them the collection's best matches contain; the second splits each
/// term's weight over those alone, so a term whose right translation is in
/// the documents does not lose weight to senses that are not.
pub async fn search(
    index: &dyn VectorIndex,
    collection: &str,
    lexicon: &Lexicon,
    chunk_terms: &ChunkTerms,
    query: &str,
    filter: &Filter,
    n: usize,
) -> anyhow::Result<Vec<Hit>> {
    let tr = lexicon.translate(query);
    let first = query_vector(&tr, &|_| true);
    if first.indices.is_empty() {
        return Ok(Vec::new());
    }
    let hits = index
        .query(collection, Query::Sparse(first), filter.clone(), n)
        .await?;
    let terms: Vec<Arc<[u32]>> = hits.iter().map(|h| chunk_terms.of(h)).collect();
    let present = |id: u32| terms.iter().any(|t| t.binary_search(&id).is_ok());
    let second = query_vector(&tr, &present);
    if second.indices.is_empty() {
        return Ok(Vec::new());
    }
    Ok(index
        .query(collection, Query::Sparse(second), filter.clone(), n)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(words: &str) -> Vec<u32> {
        bm25::terms(words)
            .iter()
            .map(|t| bm25::term_id(t))
            .collect()
    }
    fn hit(id: u128, title: &str, text: &str) -> Hit {
        let mut payload = serde_json::Map::new();
        payload.insert("title".into(), title.into());
        payload.insert("heading".into(), "Pausing".into());
        payload.insert("text".into(), text.into());
        Hit {
            id: Uuid::from_u128(id),
            score: 1.0,
            payload,
        }
    }

    #[test]
    fn chunk_terms_are_the_sorted_distinct_ids_of_title_heading_and_text() {
        let cache = ChunkTerms::new(NonZeroUsize::MIN.saturating_add(1));
        let h = hit(1, "Подписка", "Пауза подписки: пауза до 12 недель.");
        let got = cache.of(&h);
        let mut want = ids("Подписка Pausing Пауза подписки: пауза до 12 недель.");
        want.sort_unstable();
        want.dedup();
        assert_eq!(&*got, &want[..]);
        assert_eq!(cache.len(), 1);
        // Ids are content hashes: the same id is the same chunk, not re-read.
        let again = cache.of(&hit(1, "other", "other words entirely"));
        assert!(Arc::ptr_eq(&got, &again));
        // Bounded: two entries, the least recently used goes.
        cache.of(&hit(2, "b", "second"));
        cache.of(&hit(3, "c", "third"));
        assert_eq!(cache.len(), 2);
        let fresh = cache.of(&hit(1, "other", "other words entirely"));
        assert_ne!(&*fresh, &*got, "evicted, so read again from the payload");
    }
}
