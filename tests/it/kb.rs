//! The knowledge base end to end: incremental ingest with a deterministic
//! embedder, filters, answerability, and the retrieval floors on the shared
//! evaluation corpus with the real e5 model (its index is built once).

use std::path::Path;
use std::sync::Arc;

use holdfast::cli::eval::retrieval;
use holdfast::embed::LetterEmbedder;
use holdfast::knowledge::retrieve::{Mode, SearchOptions};
use holdfast::knowledge::{KnowledgeBase, load_dir};
use holdfast::vector::EdgeIndex;

fn write(dir: &Path, id: &str, lang: &str, body: &str) {
    let text = format!("---\nid: {id}\ntitle: {id} title\nlang: {lang}\ntags: [t]\n---\n{body}\n");
    std::fs::write(dir.join(format!("{id}.md")), text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reingest_embeds_only_changes_and_removes_deleted_documents() {
    let docs_dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write(
        docs_dir.path(),
        "delivery",
        "en",
        "# Delivery\n\nCourier delivery costs 350 roubles in Moscow.\n\n## Pickup\n\nPickup points are free.",
    );
    write(
        docs_dir.path(),
        "refunds",
        "ru",
        "# Возвраты\n\nВозврат денег в течение 14 дней после получения.",
    );
    let kb = KnowledgeBase::new(
        Arc::new(EdgeIndex::open(data.path()).unwrap()),
        Some(Arc::new(LetterEmbedder::new(64))),
        "kb",
    );
    let first = kb
        .ingest(&load_dir(docs_dir.path()).unwrap(), &|_, _| {})
        .await
        .unwrap();
    assert!(
        first.added >= 2 && first.kept == 0 && first.removed == 0,
        "{first:?}"
    );

    let again = kb
        .ingest(&load_dir(docs_dir.path()).unwrap(), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(
        (again.added, again.kept, again.removed),
        (0, first.chunks, 0)
    );

    std::fs::remove_file(docs_dir.path().join("refunds.md")).unwrap();
    write(
        docs_dir.path(),
        "delivery",
        "en",
        "# Delivery\n\nCourier delivery costs 400 roubles in Moscow.\n\n## Pickup\n\nPickup points are free.",
    );
    let third = kb
        .ingest(&load_dir(docs_dir.path()).unwrap(), &|_, _| {})
        .await
        .unwrap();
    assert!(third.added >= 1 && third.removed >= 2, "{third:?}");

    let o = SearchOptions {
        k: 5,
        ..Default::default()
    };
    let r = kb.search("how much is courier delivery", &o).await.unwrap();
    assert_eq!(r.hits[0].doc_id, "delivery");
    assert!(r.hits[0].text.contains("400"));
    assert!(
        r.hits.iter().all(|h| h.doc_id != "refunds"),
        "deleted document still found"
    );

    let ru_only = SearchOptions {
        lang: Some(holdfast::domain::Lang::Ru),
        ..o.clone()
    };
    assert!(
        kb.search("courier delivery", &ru_only)
            .await
            .unwrap()
            .hits
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bm25_only_search_finds_russian_inflections_and_declines_unrelated_questions() {
    let data = tempfile::tempdir().unwrap();
    let kb = KnowledgeBase::new(Arc::new(EdgeIndex::open(data.path()).unwrap()), None, "kb");
    let docs = load_dir(Path::new("knowledge")).unwrap();
    kb.ingest(&docs, &|_, _| {}).await.unwrap();
    let o = SearchOptions {
        mode: Mode::Bm25,
        ..Default::default()
    };
    let r = kb.search("как приостановить подписку", &o).await.unwrap();
    assert!(r.answerable);
    assert!(
        r.hits
            .iter()
            .take(3)
            .any(|h| h.doc_id == "subscription-pause"),
        "{:?}",
        r.hits.iter().map(|h| &h.doc_id).collect::<Vec<_>>()
    );
    let r = kb
        .search("квантовая хромодинамика глюонов", &o)
        .await
        .unwrap();
    assert!(!r.answerable, "{r:?}");
}

/// A dictd dictionary (compressed like Debian's) with a few entries.
fn write_dictd(dir: &Path, entries: &[(&str, &str)]) -> std::path::PathBuf {
    use std::io::Write;
    let (index, dict) = holdfast::knowledge::lexicon::encode_dictd(entries);
    let prefix = dir.join("en-ru");
    std::fs::write(dir.join("en-ru.index"), index).unwrap();
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(dir.join("en-ru.dict.dz")).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(&dict).unwrap();
    gz.finish().unwrap();
    prefix
}

/// An English question answered by a Russian document: BM25 alone cannot
/// match it, the dictionary's translation can, and the fusion follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lexicon_lets_bm25_match_documents_in_the_other_language() {
    let docs_dir = tempfile::tempdir().unwrap();
    write(
        docs_dir.path(),
        "pause",
        "ru",
        "# Пауза подписки\n\nПодписку можно поставить на паузу на срок от 2 до 12 недель.",
    );
    write(
        docs_dir.path(),
        "plans",
        "en",
        "# Plans\n\nThe subscription plans cost 890, 1690 and 3190 roubles per delivery.",
    );
    write(
        docs_dir.path(),
        "delivery",
        "ru",
        "# Доставка\n\nКурьер привозит заказ по Москве за 350 рублей.",
    );
    let dict = tempfile::tempdir().unwrap();
    let prefix = write_dictd(
        dict.path(),
        &[
            ("pause", "   [pɘ:z]\n   1) пауза, перерыв\n   2) остановка"),
            (
                "subscription",
                "   _n.\n   1) взнос\n   2) подписка (на газету и т.п.)",
            ),
            ("courier", "   курьер"),
        ],
    );
    let lexicon = Arc::new(holdfast::knowledge::lexicon::Lexicon::open(&prefix).unwrap());
    let docs = load_dir(docs_dir.path()).unwrap();
    let question = "How long can I pause my subscription?";
    let mut tops = Vec::new();
    for lx in [None, Some(lexicon)] {
        let data = tempfile::tempdir().unwrap();
        let kb = KnowledgeBase::new(
            Arc::new(EdgeIndex::open(data.path()).unwrap()),
            Some(Arc::new(LetterEmbedder::new(64))),
            "kb",
        )
        .with_lexicon(lx.clone());
        kb.ingest(&docs, &|_, _| {}).await.unwrap();
        let o = SearchOptions::default();
        let r = kb.retrieve(question, &o).await.unwrap();
        let translated: Vec<String> = r
            .translated
            .iter()
            .map(|h| h.payload["doc_id"].as_str().unwrap_or("").to_owned())
            .collect();
        if lx.is_some() {
            assert_eq!(
                translated.first().map(String::as_str),
                Some("pause"),
                "{translated:?}"
            );
            assert!(!translated.contains(&"delivery".to_owned()));
        } else {
            assert!(translated.is_empty());
        }
        let hits = kb.search(question, &o).await.unwrap().hits;
        let scores: Vec<(String, f64)> = hits.iter().map(|h| (h.doc_id.clone(), h.score)).collect();
        let pause = scores.iter().find(|h| h.0 == "pause").map(|h| h.1);
        let delivery = scores.iter().find(|h| h.0 == "delivery").map(|h| h.1);
        tops.push((
            pause.unwrap_or(f64::MIN),
            delivery.unwrap_or(f64::MIN),
            scores,
        ));
    }
    // The model-free embedder cannot tell the two Russian documents apart
    // for an English question; the translation can.
    let (without, with) = (&tops[0], &tops[1]);
    assert!(with.0 - with.1 > without.0 - without.1 + 0.5, "{tops:?}");
    assert!(with.0 > with.1, "{tops:?}");
}

/// Issue 4's floors for hybrid retrieval on ../shared/eval with the
/// installed e5 model (strict scoring): recall@5 >= 0.85, MRR@10 >= 0.70,
/// at least 6 of the 8 unanswerable questions declined, and few answerable
/// ones declined with them (measured figures: README "Retrieval figures").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hybrid_retrieval_meets_the_issue_floors_on_the_shared_eval_corpus() {
    let settings = holdfast::config::Settings::load(None, None).unwrap();
    let embedder =
        holdfast::app::embedder(&settings).expect("models/e5 is installed by ./run test");
    let r = retrieval::run(
        Path::new("../shared/eval/kb"),
        Path::new("../shared/eval/questions.jsonl"),
        Some(embedder),
        holdfast::app::lexicon(&settings),
        holdfast::app::search_options(&settings),
    )
    .await
    .unwrap();
    let report = retrieval::render(&r);
    let f = |k: &str| r[k].as_f64().unwrap_or(0.0);
    let n = |k: &str| r[k].as_u64().unwrap_or(u64::MAX);
    assert!(f("recall@5") >= 0.85, "{report}");
    assert!(f("mrr@10") >= 0.70, "{report}");
    assert_eq!(n("unanswerable"), 8, "{report}");
    assert!(
        r["unanswerable_declined"].as_u64().unwrap_or(0) >= 6,
        "{report}"
    );
    assert!(
        n("answerable_wrongly_declined") <= WRONGLY_DECLINED_MAX,
        "{report}"
    );
    // Every question's verdict is listed with the evidence it rests on, and
    // agrees with the threshold and the counts.
    let verdicts = r["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 88, "{report}");
    let opts = holdfast::app::search_options(&settings);
    let declined = |answerable: bool| {
        verdicts
            .iter()
            .filter(|v| v["answerable"] == answerable && v["declined"] == true)
            .count() as u64
    };
    assert_eq!(declined(false), n("unanswerable_declined"));
    assert_eq!(declined(true), n("answerable_wrongly_declined"));
    for v in verdicts {
        // f32 written as its shortest decimal reads back as the same f32
        let top = v["top_dense"].as_f64().unwrap() as f32;
        let min = if v["agree"] == true {
            opts.min_dense - opts.agree_margin
        } else {
            opts.min_dense
        };
        assert_eq!(v["declined"] == true, top < min, "{v}");
    }
}

/// Answerable questions the calibrated threshold may decline along with
/// the unanswerable ones (of 80).
const WRONGLY_DECLINED_MAX: u64 = 16;
