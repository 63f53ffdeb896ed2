//! Hybrid retrieval: dense (e5 `query:` vs `passage:`) and BM25 candidate
//! lists from the index (`retrieve`), then `judge`: fusion (`fusion.rs`),
//! a document-aware order, and the answerability verdict (a calibrated
//! threshold on the best dense similarity, or on BM25 query-term coverage
//! when there is no dense side).

use serde_json::{Map, Value};
use uuid::Uuid;

use super::bm25;
use super::fusion::{self as fz};
pub use super::fusion::{Candidate, DocAggregation, Fusion};
use super::index::KnowledgeBase;
use super::translated;
use crate::domain::Lang;
use crate::pipeline::ports::{Filter, Hit};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bm25,
    Dense,
    Hybrid,
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
    /// How much lower the threshold sits when BM25 agrees with dense on the
    /// best document (two independent retrievers pointing at the same
    /// document are evidence a single cosine does not carry).
    pub agree_margin: f32,
    /// Share of the query's terms the best chunk must contain (BM25 only).
    pub min_coverage: f32,
    pub doc_aggregation: DocAggregation,
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self {
            mode: Mode::Hybrid,
            fusion: Fusion::ZScores {
                dense_weight: 0.6,
                cross_lingual: 0.03,
                translated: 1.0,
            },
            k: 10,
            candidates: 50,
            lang: None,
            tags: Vec::new(),
            kind: None,
            min_dense: 0.843,
            agree_margin: 0.007,
            min_coverage: 0.5,
            doc_aggregation: DocAggregation { second: 0.2 },
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
    /// Best dense cosine (a chunk in another language than the question's
    /// with the fusion's cross-lingual bonus), when dense retrieval ran.
    pub top_dense: Option<f32>,
    /// Whether BM25's best document (same-language BM25, else the
    /// translation's) is dense's best one (hybrid only).
    pub agree: bool,
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

/// Share of the query's distinct terms found in `text`.
fn coverage(query: &str, text: &str) -> f32 {
    let q: std::collections::HashSet<String> = bm25::terms(query).into_iter().collect();
    if q.is_empty() {
        return 0.0;
    }
    let t: std::collections::HashSet<String> = bm25::terms(text).into_iter().collect();
    q.iter().filter(|x| t.contains(*x)).count() as f32 / q.len() as f32
}

/// What the index returned for one query, before fusion.
#[derive(Debug, Clone)]
pub struct Retrieved {
    pub mode: Mode,
    pub candidates: Vec<Candidate>,
    /// Best first, as the index returned them.
    pub dense: Vec<Hit>,
    pub sparse: Vec<Hit>,
    /// BM25 hits of the question's translation (empty without a lexicon).
    pub translated: Vec<Hit>,
}

impl KnowledgeBase {
    /// The dense and BM25 candidate lists for `query`.
    pub async fn retrieve(&self, query: &str, o: &SearchOptions) -> anyhow::Result<Retrieved> {
        let f = filter(o);
        let mode = match (o.mode, &self.embedder) {
            (Mode::Bm25, _) | (_, None) => Mode::Bm25,
            (m, Some(_)) => m,
        };
        let n = o.candidates.max(o.k);
        let lists = fz::search_lists(
            &*self.index,
            &self.collection,
            self.embedder.as_deref(),
            query,
            &f,
            n,
            (mode != Mode::Bm25, mode != Mode::Dense),
        );
        let translated = async {
            match &self.lexicon {
                Some(lx) if mode == Mode::Hybrid => {
                    translated::search(
                        &*self.index,
                        &self.collection,
                        lx,
                        &self.chunk_terms,
                        query,
                        &f,
                        n,
                    )
                    .await
                }
                _ => Ok(Vec::new()),
            }
        };
        let ((dense, sparse), translated) = tokio::try_join!(lists, translated)?;
        let candidates = match mode {
            Mode::Bm25 => fz::candidates(&[], &sparse, &[]),
            Mode::Dense => fz::candidates(&dense, &[], &[]),
            Mode::Hybrid => fz::candidates(&dense, &sparse, &translated),
        };
        Ok(Retrieved {
            mode,
            candidates,
            dense,
            sparse,
            translated,
        })
    }

    pub async fn search(&self, query: &str, o: &SearchOptions) -> anyhow::Result<SearchResult> {
        let r = self.retrieve(query, o).await?;
        Ok(judge(query, &r, o))
    }
}

/// Fusion, document-aware ordering and the answerability verdict.
pub fn judge(query: &str, r: &Retrieved, o: &SearchOptions) -> SearchResult {
    let cands = &r.candidates;
    let qlang = fz::query_lang(query);
    let scores: Vec<f64> = match r.mode {
        Mode::Bm25 => cands
            .iter()
            .map(|c| c.sparse.map_or(0.0, f64::from))
            .collect(),
        Mode::Dense => cands
            .iter()
            .map(|c| c.dense.map_or(0.0, f64::from))
            .collect(),
        Mode::Hybrid => fz::chunk_scores(cands, qlang, o.fusion),
    };
    let ranked = fz::rank(&scores, cands, o.doc_aggregation);
    let top_dense = match r.mode {
        Mode::Bm25 => None,
        _ => fz::best_dense(cands, qlang, fz::cross_lingual_bonus(o.fusion)),
    };
    let agree =
        r.mode == Mode::Hybrid && fz::lists_agree(cands, qlang, fz::cross_lingual_bonus(o.fusion));
    let (answerable, confidence) = match top_dense {
        Some(d) => {
            let min = if agree {
                o.min_dense - o.agree_margin
            } else {
                o.min_dense
            };
            let c = ((d - min) / (1.0 - min) * 0.5 + 0.5).clamp(0.0, 1.0);
            (d >= min, f64::from(c))
        }
        None => {
            let c = ranked
                .first()
                .map(|(i, _)| {
                    let h = &cands[*i].hit;
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
    SearchResult {
        hits: ranked
            .iter()
            .take(o.k)
            .map(|(i, s)| to_hit(&cands[*i].hit, *s))
            .collect(),
        answerable,
        confidence,
        top_dense,
        agree,
    }
}

#[cfg(test)]
#[path = "retrieve_tests.rs"]
mod tests;
