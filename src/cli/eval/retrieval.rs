//! `holdfast eval retrieval`: a fresh index of a knowledge-base folder (in
//! a temp dir), every question searched, figures per language and per
//! question → gold-document language pair. Strict scoring: only the listed
//! gold ids count. A question is found at k when any gold document is among
//! the first k distinct documents.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, anyhow};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::Lang;
use crate::knowledge::lexicon::Lexicon;
use crate::knowledge::retrieve::SearchOptions;
use crate::knowledge::{KnowledgeBase, load_dir};
use crate::pipeline::ports::Embedder;
use crate::vector::EdgeIndex;

#[derive(Debug, Deserialize)]
pub struct Question {
    pub id: String,
    pub lang: String,
    pub question: String,
    pub gold: Vec<String>,
}

pub fn read_questions(path: &Path) -> anyhow::Result<Vec<Question>> {
    let label = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("{label}: cannot read"))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| anyhow!("{label}:{}: {e}", i + 1)))
        .collect()
}

#[derive(Default)]
struct Tally {
    answerable: usize,
    at1: usize,
    at5: usize,
    at10: usize,
    rr: f64,
    unanswerable: usize,
    declined: usize,
    wrongly_declined: usize,
}

impl Tally {
    fn json(&self) -> Value {
        let n = self.answerable.max(1) as f64;
        json!({
            "questions": self.answerable + self.unanswerable,
            "answerable": self.answerable,
            "recall@1": self.at1 as f64 / n,
            "recall@5": self.at5 as f64 / n,
            "recall@10": self.at10 as f64 / n,
            "mrr@10": self.rr / n,
            "unanswerable": self.unanswerable,
            "unanswerable_declined": self.declined,
            "answerable_wrongly_declined": self.wrongly_declined,
        })
    }
}

/// Builds the index of `kb` in a temp dir and runs every question.
pub async fn run(
    kb: &Path,
    questions: &Path,
    embedder: Option<Arc<dyn Embedder>>,
    lexicon: Option<Arc<Lexicon>>,
    opts: SearchOptions,
) -> anyhow::Result<Value> {
    let docs = load_dir(kb)?;
    let qs = read_questions(questions)?;
    let tmp = tempfile_dir()?;
    let index = Arc::new(EdgeIndex::open(tmp.path())?);
    let translating = lexicon.is_some();
    let base = KnowledgeBase::new(index, embedder, "eval").with_lexicon(lexicon);
    let built = Instant::now();
    let report = base.ingest(&docs, &|_, _| {}).await?;
    let build_secs = built.elapsed().as_secs_f64();
    let doc_lang: HashMap<&str, &str> = docs
        .iter()
        .map(|d| (d.id.as_str(), d.lang.as_str()))
        .collect();
    let mut all = Tally::default();
    let mut groups: BTreeMap<String, Tally> = BTreeMap::new();
    let mut latencies = Vec::with_capacity(qs.len());
    let mut misses = Vec::new();
    let mut verdicts = Vec::with_capacity(qs.len());
    let mut search = opts.clone();
    search.k = opts.candidates.max(opts.k * 5);
    for q in &qs {
        search.lang = None;
        let t = Instant::now();
        let r = base.search(&q.question, &search).await?;
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        let mut ranked: Vec<&str> = Vec::new();
        for h in &r.hits {
            if !ranked.contains(&h.doc_id.as_str()) {
                ranked.push(&h.doc_id);
            }
        }
        let qlang = Lang::parse(&q.lang).map(|l| l.as_str()).unwrap_or("?");
        let mut keys = vec![format!("lang {qlang}")];
        if !q.gold.is_empty() {
            let langs: Vec<&str> = q
                .gold
                .iter()
                .map(|g| doc_lang.get(g.as_str()).copied().unwrap_or("?"))
                .collect();
            let target = if langs.iter().all(|l| *l == langs[0]) {
                langs[0]
            } else {
                "mixed"
            };
            keys.push(format!("pair {qlang}->{target}"));
        }
        let rank = ranked
            .iter()
            .take(opts.k.max(10))
            .position(|d| q.gold.iter().any(|g| g == d));
        tally(&mut all, q, rank, r.answerable);
        for k in &keys {
            tally(groups.entry(k.clone()).or_default(), q, rank, r.answerable);
        }
        verdicts.push(json!({
            "id": q.id, "answerable": !q.gold.is_empty(), "declined": !r.answerable,
            "top_dense": r.top_dense, "agree": r.agree, "confidence": r.confidence,
        }));
        if !q.gold.is_empty() && rank.is_none_or(|r| r >= 5) {
            misses.push(json!({"id": q.id, "gold": q.gold, "got": &ranked[..ranked.len().min(5)]}));
        }
    }
    latencies.sort_by(f64::total_cmp);
    let mut out = all.json();
    out["mode"] = json!(format!("{:?}", opts.mode).to_lowercase());
    out["fusion"] = json!(format!("{:?}", opts.fusion));
    out["scoring"] = json!("strict");
    out["lexicon"] = json!(translating);
    out["documents"] = json!(report.documents);
    out["chunks"] = json!(report.chunks);
    out["build_seconds"] = json!(build_secs);
    out["latency_ms_p50"] = json!(crate::bench::quantile(&latencies, 0.5));
    out["latency_ms_p99"] = json!(crate::bench::quantile(&latencies, 0.99));
    out["groups"] = groups
        .iter()
        .map(|(k, t)| (k.clone(), t.json()))
        .collect::<serde_json::Map<_, _>>()
        .into();
    out["misses@5"] = json!(misses);
    // Each question's verdict and the evidence it rests on, for choosing
    // [kb] min_dense on one's own questions.
    out["verdicts"] = json!(verdicts);
    Ok(out)
}

fn tally(t: &mut Tally, q: &Question, rank: Option<usize>, answerable: bool) {
    if q.gold.is_empty() {
        t.unanswerable += 1;
        t.declined += usize::from(!answerable);
        return;
    }
    t.answerable += 1;
    t.wrongly_declined += usize::from(!answerable);
    if let Some(r) = rank {
        t.at1 += usize::from(r < 1);
        t.at5 += usize::from(r < 5);
        t.at10 += usize::from(r < 10);
        t.rr += 1.0 / (r as f64 + 1.0);
    }
}

fn tempfile_dir() -> anyhow::Result<TempDir> {
    let p = std::env::temp_dir().join(format!("holdfast-eval-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
    Ok(TempDir(p))
}

/// A directory removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The report as text.
pub fn render(r: &Value) -> String {
    let mut s = format!(
        "mode {} ({}{}), {} documents, {} chunks, build {:.1}s, scoring {}\n",
        r["mode"].as_str().unwrap_or(""),
        r["fusion"].as_str().unwrap_or(""),
        if r["lexicon"].as_bool().unwrap_or(false) {
            ", cross-lingual BM25 through the lexicon"
        } else {
            ", no lexicon"
        },
        r["documents"],
        r["chunks"],
        r["build_seconds"].as_f64().unwrap_or(0.0),
        r["scoring"].as_str().unwrap_or("")
    );
    let line = |name: &str, t: &Value| {
        format!(
            "{name:<14} n={:<3} R@1 {:.3}  R@5 {:.3}  R@10 {:.3}  MRR@10 {:.3}  unanswerable declined {}/{}  wrongly declined {}\n",
            t["answerable"],
            t["recall@1"].as_f64().unwrap_or(0.0),
            t["recall@5"].as_f64().unwrap_or(0.0),
            t["recall@10"].as_f64().unwrap_or(0.0),
            t["mrr@10"].as_f64().unwrap_or(0.0),
            t["unanswerable_declined"],
            t["unanswerable"],
            t["answerable_wrongly_declined"],
        )
    };
    s.push_str(&line("all", r));
    if let Some(g) = r["groups"].as_object() {
        for (k, t) in g {
            s.push_str(&line(k, t));
        }
    }
    s.push_str(&format!(
        "query latency p50 {:.2} ms, p99 {:.2} ms (index build excluded)\n",
        r["latency_ms_p50"].as_f64().unwrap_or(0.0),
        r["latency_ms_p99"].as_f64().unwrap_or(0.0)
    ));
    s
}
