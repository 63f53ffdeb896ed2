//! Fusion of the dense and BM25 candidate lists into one ranking: pure
//! functions over scored candidates, so they can be measured in memory.

use std::collections::HashMap;

use uuid::Uuid;

use super::bm25;
use crate::pipeline::ports::{EmbedRole, Embedder, Filter, Hit, Query, VectorIndex};

/// One chunk with whatever each list said about it.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub hit: Hit,
    pub doc_id: String,
    /// The chunk's language ("ru", "en", …).
    pub lang: String,
    /// e5 cosine, when the chunk was in the dense list.
    pub dense: Option<f32>,
    /// BM25 score, when the chunk was in the BM25 list.
    pub sparse: Option<f32>,
    /// BM25 score of the question's translation (`lexicon.rs`), when the
    /// chunk was in that list.
    pub translated: Option<f32>,
}

#[derive(Clone, Copy)]
enum List {
    Dense,
    Sparse,
    Translated,
}

/// Merges the best-first lists by chunk id.
pub fn candidates(dense: &[Hit], sparse: &[Hit], translated: &[Hit]) -> Vec<Candidate> {
    let mut at: HashMap<Uuid, usize> = HashMap::new();
    let mut out: Vec<Candidate> = Vec::new();
    for (list, which) in [
        (dense, List::Dense),
        (sparse, List::Sparse),
        (translated, List::Translated),
    ] {
        for h in list {
            let i = *at.entry(h.id).or_insert_with(|| {
                let s = |k: &str| {
                    h.payload
                        .get(k)
                        .and_then(|v| v.as_str())
                        .unwrap_or("")
                        .to_owned()
                };
                out.push(Candidate {
                    hit: h.clone(),
                    doc_id: s("doc_id"),
                    lang: s("lang"),
                    dense: None,
                    sparse: None,
                    translated: None,
                });
                out.len() - 1
            });
            let slot = match which {
                List::Dense => &mut out[i].dense,
                List::Sparse => &mut out[i].sparse,
                List::Translated => &mut out[i].translated,
            };
            *slot = Some(h.score);
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fusion {
    /// `w/(k + rank)` summed over the lists; dense weight `dense_weight`,
    /// BM25 weight `1 - dense_weight`.
    Rrf { k: f32, dense_weight: f32 },
    /// Scores scaled to [0, 1] by each list's best, then weighted.
    Scores { dense_weight: f32 },
    /// Each list's scores as z-scores over its own candidates, weighted.
    /// BM25 abstains on chunks in a language other than the query's (it
    /// cannot match their words), and they keep their dense z-score alone.
    /// `cross_lingual` is added to the dense cosine of such chunks (e5
    /// scores a translation a little lower than a same-language text).
    /// When the question was translated (`lexicon.rs`), such chunks take
    /// the BM25 share from the translation's list instead, scaled by
    /// `translated` (0: dense alone, 1: as much as same-language BM25).
    ZScores {
        dense_weight: f32,
        cross_lingual: f32,
        translated: f32,
    },
}

/// How chunk scores become a document's score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DocAggregation {
    /// Share of the second-best chunk's score added to the best one's
    /// (0: the best chunk alone).
    pub second: f32,
}

fn mean_std(xs: &[f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (0.0, 1.0);
    }
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    (m, v.sqrt().max(1e-6))
}

/// The query's language by its letters: "ru" when Cyrillic letters are at
/// least as many as Latin ones (Russian questions often carry Latin brand
/// names; English ones rarely carry Cyrillic), else "en"; `None` without
/// letters.
pub fn query_lang(q: &str) -> Option<&'static str> {
    let (mut cyr, mut lat) = (0usize, 0usize);
    for c in q.chars() {
        if ('\u{400}'..='\u{4ff}').contains(&c) {
            cyr += 1;
        } else if c.is_ascii_alphabetic() {
            lat += 1;
        }
    }
    match (cyr, lat) {
        (0, 0) => None,
        (c, l) if c >= l => Some("ru"),
        _ => Some("en"),
    }
}

/// Whether a chunk is in another language than the query (BM25 cannot
/// match its words).
fn foreign(c: &Candidate, qlang: Option<&str>) -> bool {
    qlang.is_some_and(|q| !c.lang.is_empty() && c.lang != q)
}

/// The cross-lingual bonus a fusion adds to foreign chunks' cosines.
pub fn cross_lingual_bonus(fusion: Fusion) -> f32 {
    match fusion {
        Fusion::ZScores { cross_lingual, .. } => cross_lingual,
        _ => 0.0,
    }
}

/// The chunk with the best dense cosine and that cosine, foreign chunks
/// with `bonus` added.
fn best_dense_chunk<'a>(
    cands: &'a [Candidate],
    qlang: Option<&str>,
    bonus: f32,
) -> Option<(&'a Candidate, f32)> {
    cands
        .iter()
        .filter_map(|c| {
            c.dense
                .map(|d| (c, d + if foreign(c, qlang) { bonus } else { 0.0 }))
        })
        .reduce(|a, b| if b.1 > a.1 { b } else { a })
}

/// The best dense cosine, foreign chunks with `bonus` added.
pub fn best_dense(cands: &[Candidate], qlang: Option<&str>, bonus: f32) -> Option<f32> {
    best_dense_chunk(cands, qlang, bonus).map(|(_, d)| d)
}

/// Whether the document of the best dense chunk (foreign ones with `bonus`
/// added) is also the best BM25 document: same-language BM25's when it
/// matched anything, else the translation's.
pub fn lists_agree(cands: &[Candidate], qlang: Option<&str>, bonus: f32) -> bool {
    let best_lexical = |score: &dyn Fn(&Candidate) -> Option<f32>| {
        cands
            .iter()
            .filter_map(|c| score(c).map(|s| (c, s)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(c, _)| c.doc_id.as_str())
    };
    let lexical = best_lexical(&|c| c.sparse.filter(|_| !foreign(c, qlang)))
        .or_else(|| best_lexical(&|c| c.translated.filter(|_| foreign(c, qlang))));
    best_dense_chunk(cands, qlang, bonus).is_some_and(|(c, _)| Some(c.doc_id.as_str()) == lexical)
}

/// Fused score per candidate (same order as `cands`).
pub fn chunk_scores(cands: &[Candidate], qlang: Option<&str>, fusion: Fusion) -> Vec<f64> {
    match fusion {
        Fusion::Rrf { k, dense_weight } => {
            let rank_of = |get: &dyn Fn(&Candidate) -> Option<f32>| {
                let mut idx: Vec<usize> = (0..cands.len())
                    .filter(|&i| get(&cands[i]).is_some())
                    .collect();
                idx.sort_by(|&a, &b| {
                    get(&cands[b])
                        .unwrap_or(0.0)
                        .total_cmp(&get(&cands[a]).unwrap_or(0.0))
                });
                let mut r = vec![None; cands.len()];
                for (rank, i) in idx.into_iter().enumerate() {
                    r[i] = Some(rank);
                }
                r
            };
            let dr = rank_of(&|c| c.dense);
            let sr = rank_of(&|c| c.sparse);
            let wd = f64::from(dense_weight);
            let k = f64::from(k);
            (0..cands.len())
                .map(|i| {
                    dr[i].map_or(0.0, |r| wd / (k + r as f64 + 1.0))
                        + sr[i].map_or(0.0, |r| (1.0 - wd) / (k + r as f64 + 1.0))
                })
                .collect()
        }
        Fusion::Scores { dense_weight } => {
            let best = |get: &dyn Fn(&Candidate) -> Option<f32>| {
                cands
                    .iter()
                    .filter_map(get)
                    .map(f64::from)
                    .fold(0.0, f64::max)
            };
            let (bd, bs) = (best(&|c| c.dense), best(&|c| c.sparse));
            let wd = f64::from(dense_weight);
            cands
                .iter()
                .map(|c| {
                    let d = c.dense.map_or(0.0, |s| f64::from(s) / bd.max(1e-9));
                    let s = c.sparse.map_or(0.0, |s| f64::from(s) / bs.max(1e-9));
                    wd * d + (1.0 - wd) * s
                })
                .collect()
        }
        Fusion::ZScores {
            dense_weight,
            cross_lingual,
            translated,
        } => {
            let foreign = |c: &Candidate| foreign(c, qlang);
            let dense: Vec<f64> = cands
                .iter()
                .filter_map(|c| {
                    c.dense.map(|d| {
                        f64::from(d)
                            + if foreign(c) {
                                f64::from(cross_lingual)
                            } else {
                                0.0
                            }
                    })
                })
                .collect();
            // Same-language chunks, a missing BM25 score counting as 0;
            // none at all when BM25 matched none of them.
            let sparse: Vec<f64> = if cands.iter().any(|c| !foreign(c) && c.sparse.is_some()) {
                cands
                    .iter()
                    .filter(|c| !foreign(c))
                    .map(|c| c.sparse.map_or(0.0, f64::from))
                    .collect()
            } else {
                Vec::new()
            };
            // Foreign chunks' scores in the translation's list, likewise.
            let trans: Vec<f64> = if cands.iter().any(|c| foreign(c) && c.translated.is_some()) {
                cands
                    .iter()
                    .filter(|c| foreign(c))
                    .map(|c| c.translated.map_or(0.0, f64::from))
                    .collect()
            } else {
                Vec::new()
            };
            let (dm, ds) = mean_std(&dense);
            let dmin = dense.iter().copied().fold(f64::INFINITY, f64::min);
            let (sm, ss) = mean_std(&sparse);
            let (tm, ts) = mean_std(&trans);
            let wd = f64::from(dense_weight);
            let wt = (1.0 - wd) * f64::from(translated);
            cands
                .iter()
                .map(|c| {
                    let bonus = if foreign(c) {
                        f64::from(cross_lingual)
                    } else {
                        0.0
                    };
                    let d = c
                        .dense
                        .map_or(if dense.is_empty() { dm } else { dmin }, |d| {
                            f64::from(d) + bonus
                        });
                    let dz = (d - dm) / ds;
                    if foreign(c) {
                        if trans.is_empty() {
                            dz
                        } else {
                            let tz = (c.translated.map_or(0.0, f64::from) - tm) / ts;
                            (1.0 - wt) * dz + wt * tz
                        }
                    } else if sparse.is_empty() {
                        dz
                    } else {
                        let sz = (c.sparse.map_or(0.0, f64::from) - sm) / ss;
                        wd * dz + (1.0 - wd) * sz
                    }
                })
                .collect()
        }
    }
}

/// Candidate indices best first: each document's best chunk, documents by
/// their aggregated score, then every other chunk by its own score.
pub fn rank(scores: &[f64], cands: &[Candidate], agg: DocAggregation) -> Vec<(usize, f64)> {
    let mut order: Vec<usize> = (0..cands.len()).collect();
    order.sort_by(|&a, &b| {
        scores[b]
            .total_cmp(&scores[a])
            .then(cands[a].hit.id.cmp(&cands[b].hit.id))
    });
    // Per document: (best index, best score, second score).
    let mut docs: Vec<(usize, f64, Option<f64>)> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for &i in &order {
        match at.get(cands[i].doc_id.as_str()) {
            Some(&d) => {
                if docs[d].2.is_none() {
                    docs[d].2 = Some(scores[i]);
                }
            }
            None => {
                at.insert(&cands[i].doc_id, docs.len());
                docs.push((i, scores[i], None));
            }
        }
    }
    let w = f64::from(agg.second);
    let mut heads: Vec<(usize, f64)> = docs
        .iter()
        .map(|(i, s, second)| (*i, s + w * second.map_or(0.0, |x| x.max(0.0))))
        .collect();
    heads.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let is_head: std::collections::HashSet<usize> = heads.iter().map(|h| h.0).collect();
    let mut out: Vec<(usize, f64)> = heads.iter().map(|(i, _)| (*i, scores[*i])).collect();
    out.extend(
        order
            .into_iter()
            .filter(|i| !is_head.contains(i))
            .map(|i| (i, scores[i])),
    );
    out
}

/// The dense and the BM25 candidate lists for `query`, searched at once
/// (each index call runs on the blocking pool, the embedding on its own).
/// `dense` without an embedder, or a query without BM25 terms, gives an
/// empty list.
pub(crate) async fn search_lists(
    index: &dyn VectorIndex,
    collection: &str,
    embedder: Option<&dyn Embedder>,
    query: &str,
    filter: &Filter,
    n: usize,
    (dense, sparse): (bool, bool),
) -> anyhow::Result<(Vec<Hit>, Vec<Hit>)> {
    let dense_list = async {
        match embedder {
            Some(e) if dense => {
                let v = e
                    .embed(EmbedRole::Query, vec![query.to_owned()])
                    .await?
                    .pop()
                    .ok_or_else(|| anyhow::anyhow!("embedder returned no vector"))?;
                Ok::<_, anyhow::Error>(
                    index
                        .query(collection, Query::Dense(v), filter.clone(), n)
                        .await?,
                )
            }
            _ => Ok(Vec::new()),
        }
    };
    let sparse_list = async {
        let q = bm25::query_vector(query);
        if !sparse || q.indices.is_empty() {
            return Ok::<_, anyhow::Error>(Vec::new());
        }
        Ok(index
            .query(collection, Query::Sparse(q), filter.clone(), n)
            .await?)
    };
    tokio::try_join!(dense_list, sparse_list)
}
