//! `holdfast bench retrieval`: hybrid query latency on a synthetic index
//! (random unit dense vectors, Zipf-like BM25 terms), embedding throughput
//! of the configured embedder on the demo knowledge base's chunks, and the
//! demo knowledge base's full ingest time. Figures only; nothing asserted.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Map, json};
use uuid::Uuid;

use crate::cli::BenchRetrievalArgs;
use crate::config::Settings;
use crate::knowledge::fusion::candidates;
use crate::knowledge::retrieve::{Mode, Retrieved, judge};
use crate::knowledge::{KnowledgeBase, chunk, load_dir};
use crate::pipeline::ports::{
    CollectionSpec, EmbedRole, Filter, Point, Query, SparseVec, VectorIndex,
};
use crate::vector::EdgeIndex;

const DIM: usize = 384;
const VOCAB: u32 = 30_000;

fn unit(rng: &mut StdRng) -> Vec<f32> {
    let v: Vec<f32> = (0..DIM).map(|_| rng.random::<f32>() - 0.5).collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
    v.into_iter().map(|x| x / n).collect()
}

fn terms(rng: &mut StdRng, n: usize) -> SparseVec {
    let mut t: Vec<u32> = (0..n)
        .map(|_| {
            // Zipf-like: squaring a uniform draw favours small term ids.
            let u: f64 = rng.random();
            (u * u * f64::from(VOCAB)) as u32
        })
        .collect();
    t.sort_unstable();
    t.dedup();
    let values = t.iter().map(|_| 1.0 + rng.random::<f32>()).collect();
    SparseVec { indices: t, values }
}

pub async fn run(settings: &Settings, a: &BenchRetrievalArgs) -> anyhow::Result<()> {
    println!("machine: {}", super::machine());
    let tmp = std::env::temp_dir().join(format!("holdfast-bench-{}", Uuid::new_v4()));
    let result = run_in(settings, a, &tmp).await;
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

async fn run_in(
    settings: &Settings,
    a: &BenchRetrievalArgs,
    tmp: &std::path::Path,
) -> anyhow::Result<()> {
    let index = EdgeIndex::open(tmp)?;
    index
        .ensure_collection(
            "synthetic",
            CollectionSpec {
                dense_dim: Some(DIM),
                dense_model: Some("random".into()),
                sparse: true,
                keyword_fields: vec![],
            },
        )
        .await?;
    let mut rng = StdRng::seed_from_u64(7);
    let t = Instant::now();
    for start in (0..a.chunks).step_by(2000) {
        let points = (start..(start + 2000).min(a.chunks))
            .map(|i| {
                let mut payload = Map::new();
                payload.insert("doc_id".into(), json!(format!("doc-{}", i / 10)));
                Point {
                    id: Uuid::from_u128(i as u128 + 1),
                    dense: Some(unit(&mut rng)),
                    sparse: Some(terms(&mut rng, 60)),
                    payload,
                }
            })
            .collect();
        index.upsert("synthetic", points).await?;
    }
    let built = t.elapsed().as_secs_f64();
    let t = Instant::now();
    index.optimize("synthetic").await?;
    println!(
        "synthetic index: {} chunks ({DIM}-d dense + BM25) upserted in {built:.1}s, optimised (HNSW) in {:.1}s",
        a.chunks,
        t.elapsed().as_secs_f64()
    );
    let options = crate::app::search_options(settings);
    let mut lat = Vec::with_capacity(a.queries);
    let (mut dense_ms, mut sparse_ms, mut trans_ms) = (Vec::new(), Vec::new(), Vec::new());
    // The first queries touch the freshly optimised segments' pages; they
    // are timed apart (a server answers its real traffic warm).
    const WARM_UP: usize = 50;
    let mut cold = Vec::with_capacity(WARM_UP);
    for i in 0..WARM_UP + a.queries {
        let (dq, sq) = (unit(&mut rng), terms(&mut rng, 6));
        // The question's translation (`knowledge::lexicon`): every sense of
        // each term, then the senses the first pass found.
        let (tq1, tq2) = (terms(&mut rng, 30), terms(&mut rng, 8));
        let t = Instant::now();
        // As `KnowledgeBase::retrieve` does: the lists searched at once, the
        // translation's two passes one after the other.
        let timed = |q: Query| {
            let index = &index;
            async move {
                let t = Instant::now();
                let hits = index.query("synthetic", q, Filter::all(), 50).await?;
                Ok::<_, anyhow::Error>((hits, t.elapsed().as_secs_f64() * 1000.0))
            }
        };
        let translated = async {
            let (_, first) = timed(Query::Sparse(tq1)).await?;
            let (hits, second) = timed(Query::Sparse(tq2)).await?;
            Ok::<_, anyhow::Error>((hits, first + second))
        };
        let ((d, d_ms), (s, s_ms), (tr, tr_ms)) = tokio::try_join!(
            timed(Query::Dense(dq)),
            timed(Query::Sparse(sq)),
            translated
        )?;
        let r = Retrieved {
            mode: Mode::Hybrid,
            candidates: candidates(&d, &s, &tr),
            dense: d,
            sparse: s,
            translated: tr,
        };
        let fused = judge("query", &r, &options);
        std::hint::black_box(fused);
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        if i < WARM_UP {
            cold.push(ms);
            continue;
        }
        dense_ms.push(d_ms);
        sparse_ms.push(s_ms);
        trans_ms.push(tr_ms);
        lat.push(ms);
    }
    cold.sort_by(f64::total_cmp);
    dense_ms.sort_by(f64::total_cmp);
    sparse_ms.sort_by(f64::total_cmp);
    trans_ms.sort_by(f64::total_cmp);
    lat.sort_by(f64::total_cmp);
    println!(
        "hybrid query (dense 50 + BM25 50 + translated BM25 50, fused and judged as configured, embedding excluded), {} queries after {WARM_UP} warm-up ones: p50 {:.2} ms, p99 {:.2} ms",
        a.queries,
        super::quantile(&lat, 0.5),
        super::quantile(&lat, 0.99)
    );
    println!(
        "  the {WARM_UP} warm-up queries: p50 {:.2} ms, max {:.2} ms",
        super::quantile(&cold, 0.5),
        cold.last().copied().unwrap_or(0.0)
    );
    println!(
        "  of which the dense search p50 {:.2} / p99 {:.2} ms, the BM25 search p50 {:.2} / p99 {:.2} ms, the translation's two BM25 passes p50 {:.2} / p99 {:.2} ms (the three side by side)",
        super::quantile(&dense_ms, 0.5),
        super::quantile(&dense_ms, 0.99),
        super::quantile(&sparse_ms, 0.5),
        super::quantile(&sparse_ms, 0.99),
        super::quantile(&trans_ms, 0.5),
        super::quantile(&trans_ms, 0.99)
    );

    let t = Instant::now();
    match crate::app::lexicon(settings) {
        Some(lx) => println!(
            "bilingual lexicon ({}): {} English and {} Russian stems read in {:.0} ms",
            settings.kb.lexicon.display(),
            lx.len().0,
            lx.len().1,
            t.elapsed().as_secs_f64() * 1000.0
        ),
        None => println!("bilingual lexicon: none (cross-lingual retrieval is dense only)"),
    }

    // Embedding throughput and ingest of the demo knowledge base.
    let docs = load_dir(&settings.kb.dir)
        .with_context(|| format!("reading {}", settings.kb.dir.display()))?;
    let texts: Vec<String> = docs
        .iter()
        .flat_map(|d| {
            chunk::chunk(d, Default::default())
                .into_iter()
                .map(|c| c.indexed_text(d))
                .collect::<Vec<_>>()
        })
        .collect();
    let s = settings.clone();
    let embedder = tokio::task::spawn_blocking(move || crate::app::embedder(&s)).await??;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let t = Instant::now();
    let cpu = super::embed::cpu_secs();
    embedder.embed(EmbedRole::Passage, texts.clone()).await?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "embedding ({}): {} demo chunks in {secs:.2}s = {:.1} chunks/s on {cores} cores, {:.1} chunks/s per core",
        embedder.describe(),
        texts.len(),
        texts.len() as f64 / secs,
        texts.len() as f64 / secs / cores as f64
    );
    // On a shared machine wall time measures the neighbours too.
    if let (Some(a), Some(b)) = (cpu, super::embed::cpu_secs()) {
        println!(
            "embedding CPU time: {:.2}s = {:.1} chunks per CPU-second",
            b - a,
            texts.len() as f64 / (b - a).max(1e-9)
        );
    }
    let kb = KnowledgeBase::new(
        Arc::new(EdgeIndex::open(&tmp.join("demo"))?),
        Some(embedder.clone()),
        "kb",
    )
    .with_lexicon(crate::app::lexicon(settings));
    let t = Instant::now();
    let r = kb.ingest(&docs, &|_, _| {}).await?;
    println!(
        "demo knowledge base ingest ({} documents, {} chunks, embedding included): {:.2}s",
        r.documents,
        r.chunks,
        t.elapsed().as_secs_f64()
    );
    demo_queries(&kb, &docs, &embedder, &options).await
}

/// The real search path on the demo knowledge base: the documents' titles
/// and section headings (both languages) as questions, their embeddings
/// computed beforehand (the query cache), then dense + BM25 + the
/// translation's two passes, fused and judged, each question twice: the
/// first time the translation reads the hits' terms, the second time they
/// are cached.
async fn demo_queries(
    kb: &KnowledgeBase,
    docs: &[crate::knowledge::Document],
    embedder: &Arc<dyn crate::pipeline::ports::Embedder>,
    options: &crate::knowledge::retrieve::SearchOptions,
) -> anyhow::Result<()> {
    let mut questions: Vec<String> = docs
        .iter()
        .flat_map(|d| {
            std::iter::once(d.title.clone()).chain(
                chunk::chunk(d, Default::default())
                    .into_iter()
                    .filter_map(|c| c.heading.rsplit(" › ").next().map(str::to_owned))
                    .filter(|h| !h.is_empty()),
            )
        })
        .collect();
    questions.sort();
    questions.dedup();
    for q in &questions {
        embedder.embed(EmbedRole::Query, vec![q.clone()]).await?;
    }
    let (mut first, mut again) = (Vec::new(), Vec::new());
    for lat in [&mut first, &mut again] {
        for q in &questions {
            let t = Instant::now();
            std::hint::black_box(kb.search(q, options).await?);
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        lat.sort_by(f64::total_cmp);
    }
    println!(
        "demo knowledge base search, the real path ({} titles and headings as questions, query embeddings cached, lexicon {}): first time p50 {:.2} / p99 {:.2} ms, again p50 {:.2} / p99 {:.2} ms",
        questions.len(),
        if kb.lexicon.is_some() { "on" } else { "off" },
        super::quantile(&first, 0.5),
        super::quantile(&first, 0.99),
        super::quantile(&again, 0.5),
        super::quantile(&again, 0.99),
    );
    Ok(())
}
