//! Hybrid retrieval: dense (e5 `query:` vs `passage:`) and BM25 candidate
//! lists from the index, fused here by weighted reciprocal rank, plus the
//! answerability judgement (a calibrated threshold on the best dense
//! similarity, or on BM25 query-term coverage when there is no dense side).

use std::collections::HashMap;

use serde_json::{Map, Value};
use uuid::Uuid;

use super::bm25;
use super::index::KnowledgeBase;
use crate::domain::Lang;
use crate::pipeline::ports::{EmbedRole, Filter, Hit, Query};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bm25,
    Dense,
    Hybrid,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fusion {
    /// `w/(k + rank)` summed over the lists; dense weight `dense_weight`,
    /// BM25 weight `1 - dense_weight`.
    Rrf { k: f32, dense_weight: f32 },
    /// Scores scaled to [0, 1] by each list's best, then weighted.
    Scores { dense_weight: f32 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchOptions {
    pub mode: Mode,
    pub fusion: Fusion,
    pub k: usize,
    /// Candidates taken from each list before fusion.
    pub candidates: usize,
    pub lang: Option<Lang>,
    pub tags: Vec<String>,
    pub kind: Option<String>,
    /// Dense cosine at which a question counts as answerable (e5 cosines
    /// sit in a narrow band; see config [kb]).
    pub min_dense: f32,
    /// Share of the query's terms the best chunk must contain (BM25 only).
    pub min_coverage: f32,
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self {
            mode: Mode::Hybrid,
            fusion: Fusion::Rrf {
                k: 60.0,
                dense_weight: 0.5,
            },
            k: 10,
            candidates: 50,
            lang: None,
            tags: Vec::new(),
            kind: None,
            min_dense: 0.80,
            min_coverage: 0.5,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChunkHit {
    pub id: Uuid,
    pub doc_id: String,
    pub title: String,
    pub heading: String,
    pub text: String,
    pub lang: String,
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    /// Best first, at most `k`.
    pub hits: Vec<ChunkHit>,
    pub answerable: bool,
    /// In [0, 1]: how far the evidence clears the threshold.
    pub confidence: f64,
    /// Best dense cosine, when dense retrieval ran.
    pub top_dense: Option<f32>,
}

fn filter(o: &SearchOptions) -> Filter {
    let mut f = Filter::all();
    if let Some(l) = o.lang {
        f = f.eq("lang", l.as_str());
    }
    if !o.tags.is_empty() {
        f = f.any(
            "tags",
            o.tags.iter().map(|t| Value::from(t.as_str())).collect(),
        );
    }
    if let Some(k) = &o.kind {
        f = f.eq("kind", k.as_str());
    }
    f
}

fn text(p: &Map<String, Value>, key: &str) -> String {
    p.get(key).and_then(Value::as_str).unwrap_or("").to_owned()
}

fn to_hit(h: &Hit, score: f64) -> ChunkHit {
    ChunkHit {
        id: h.id,
        doc_id: text(&h.payload, "doc_id"),
        title: text(&h.payload, "title"),
        heading: text(&h.payload, "heading"),
        text: text(&h.payload, "text"),
        lang: text(&h.payload, "lang"),
        score,
    }
}

/// Weighted fusion of two best-first lists.
pub fn fuse(dense: &[Hit], sparse: &[Hit], fusion: Fusion) -> Vec<(Hit, f64)> {
    let mut acc: HashMap<Uuid, (Hit, f64)> = HashMap::new();
    let (wd, lists) = match fusion {
        Fusion::Rrf { dense_weight, .. } | Fusion::Scores { dense_weight } => {
            (f64::from(dense_weight), [dense, sparse])
        }
    };
    for (li, list) in lists.iter().enumerate() {
        let w = if li == 0 { wd } else { 1.0 - wd };
        let best = list.first().map(|h| f64::from(h.score)).unwrap_or(1.0);
        for (rank, h) in list.iter().enumerate() {
            let s = match fusion {
                Fusion::Rrf { k, .. } => w / (f64::from(k) + rank as f64 + 1.0),
                Fusion::Scores { .. } if best > 0.0 => w * f64::from(h.score) / best,
                Fusion::Scores { .. } => 0.0,
            };
            acc.entry(h.id).or_insert_with(|| (h.clone(), 0.0)).1 += s;
        }
    }
    let mut out: Vec<(Hit, f64)> = acc.into_values().collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.id.cmp(&b.0.id)));
    out
}

/// Share of the query's distinct terms found in `text`.
fn coverage(query: &str, text: &str) -> f32 {
    let q: std::collections::HashSet<String> = bm25::terms(query).into_iter().collect();
    if q.is_empty() {
        return 0.0;
    }
    let t: std::collections::HashSet<String> = bm25::terms(text).into_iter().collect();
    q.iter().filter(|x| t.contains(*x)).count() as f32 / q.len() as f32
}

impl KnowledgeBase {
    pub async fn search(&self, query: &str, o: &SearchOptions) -> anyhow::Result<SearchResult> {
        let f = filter(o);
        let mode = match (o.mode, &self.embedder) {
            (Mode::Bm25, _) | (_, None) => Mode::Bm25,
            (m, Some(_)) => m,
        };
        let n = o.candidates.max(o.k);
        let mut dense_hits = Vec::new();
        if mode != Mode::Bm25
            && let Some(e) = &self.embedder
        {
            let v = e
                .embed(EmbedRole::Query, vec![query.to_owned()])
                .await?
                .pop()
                .ok_or_else(|| anyhow::anyhow!("embedder returned no vector"))?;
            dense_hits = self
                .index
                .query(&self.collection, Query::Dense(v), f.clone(), n)
                .await?;
        }
        let mut sparse_hits = Vec::new();
        if mode != Mode::Dense {
            let q = bm25::query_vector(query);
            if !q.indices.is_empty() {
                sparse_hits = self
                    .index
                    .query(&self.collection, Query::Sparse(q), f, n)
                    .await?;
            }
        }
        let fused: Vec<(Hit, f64)> = match mode {
            Mode::Bm25 => sparse_hits
                .iter()
                .map(|h| (h.clone(), f64::from(h.score)))
                .collect(),
            Mode::Dense => dense_hits
                .iter()
                .map(|h| (h.clone(), f64::from(h.score)))
                .collect(),
            Mode::Hybrid => fuse(&dense_hits, &sparse_hits, o.fusion),
        };
        let top_dense = dense_hits.first().map(|h| h.score);
        let (answerable, confidence) = match top_dense {
            Some(d) => {
                let c = ((d - o.min_dense) / (1.0 - o.min_dense) * 0.5 + 0.5).clamp(0.0, 1.0);
                (d >= o.min_dense, f64::from(c))
            }
            None => {
                let c = fused
                    .first()
                    .map(|(h, _)| {
                        coverage(
                            query,
                            &format!(
                                "{} {}",
                                text(&h.payload, "heading"),
                                text(&h.payload, "text")
                            ),
                        )
                    })
                    .unwrap_or(0.0);
                (c >= o.min_coverage, f64::from(c))
            }
        };
        Ok(SearchResult {
            hits: fused.iter().take(o.k).map(|(h, s)| to_hit(h, *s)).collect(),
            answerable,
            confidence,
            top_dense,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(ids: &[u128]) -> Vec<Hit> {
        ids.iter()
            .enumerate()
            .map(|(i, id)| Hit {
                id: Uuid::from_u128(*id),
                score: 1.0 / (i as f32 + 1.0),
                payload: Map::new(),
            })
            .collect()
    }

    #[test]
    fn rrf_rewards_agreement_and_weights_shift_the_order() {
        let d = hits(&[1, 2, 3]);
        let s = hits(&[4, 2, 3]);
        let even = fuse(
            &d,
            &s,
            Fusion::Rrf {
                k: 60.0,
                dense_weight: 0.5,
            },
        );
        assert_eq!(
            even[0].0.id,
            Uuid::from_u128(2),
            "in both lists near the top"
        );
        let dense = fuse(
            &d,
            &s,
            Fusion::Rrf {
                k: 1.0,
                dense_weight: 0.9,
            },
        );
        assert_eq!(dense[0].0.id, Uuid::from_u128(1));
        let sparse = fuse(&d, &s, Fusion::Scores { dense_weight: 0.1 });
        assert_eq!(sparse[0].0.id, Uuid::from_u128(4));
        assert_eq!(even.len(), 4);
    }
}
