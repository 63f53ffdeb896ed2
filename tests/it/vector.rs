//! The knowledge base over the Qdrant-server backend (qdrant-client through
//! a real socket to the loopback stand-in) answers as it does in process,
//! and `[vector] backend = "server"` drives the application's wiring.

use std::path::Path;
use std::sync::Arc;

use holdfast::config::{Secret, VectorBackend};
use holdfast::domain::Lang;
use holdfast::knowledge::retrieve::{Mode, SearchOptions};
use holdfast::knowledge::{KnowledgeBase, load_dir};
use holdfast::pipeline::ports::VectorIndex;
use holdfast::vector::{EdgeIndex, StandIn, standin};

use holdfast::embed::LetterEmbedder;

/// Every search's hits as (doc id, heading, score).
async fn answers(index: Arc<dyn VectorIndex>) -> Vec<Vec<(String, String, f64)>> {
    let kb = KnowledgeBase::new(index, Some(Arc::new(LetterEmbedder::new(64))), "kb");
    let docs = load_dir(Path::new("knowledge")).unwrap();
    let first = kb.ingest(&docs, &|_, _| {}).await.unwrap();
    assert!(first.added > 10, "{first:?}");
    let again = kb.ingest(&docs, &|_, _| {}).await.unwrap();
    assert_eq!(
        (again.added, again.removed, again.kept),
        (0, 0, first.chunks)
    );

    let base = SearchOptions {
        k: 5,
        ..Default::default()
    };
    let options = [
        base.clone(),
        SearchOptions {
            mode: Mode::Bm25,
            ..base.clone()
        },
        SearchOptions {
            mode: Mode::Dense,
            ..base.clone()
        },
        SearchOptions {
            lang: Some(Lang::Ru),
            ..base.clone()
        },
        SearchOptions {
            lang: Some(Lang::En),
            ..base.clone()
        },
    ];
    let mut out = Vec::new();
    for q in [
        "how much is courier delivery",
        "как приостановить подписку",
        "возврат денег",
        "loyalty points",
    ] {
        for o in &options {
            let r = kb.search(q, o).await.unwrap();
            out.push(
                r.hits
                    .into_iter()
                    .map(|h| (h.doc_id, h.heading, h.score))
                    .collect(),
            );
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_knowledge_base_answers_the_same_over_a_qdrant_server() {
    let edge_dir = tempfile::tempdir().unwrap();
    let server_dir = tempfile::tempdir().unwrap();
    let in_process = answers(Arc::new(EdgeIndex::open(edge_dir.path()).unwrap())).await;
    let (index, _standin) = standin::server_index(server_dir.path()).await.unwrap();
    assert_eq!(index.backend(), "server");
    let over_grpc = answers(index).await;

    assert!(in_process.iter().filter(|hits| !hits.is_empty()).count() > 10);
    assert_eq!(in_process.len(), over_grpc.len());
    for (a, b) in in_process.iter().zip(&over_grpc) {
        let ids = |h: &[(String, String, f64)]| {
            h.iter()
                .map(|(d, s, _)| format!("{d}#{s}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(a), ids(b));
        for (x, y) in a.iter().zip(b) {
            assert!((x.2 - y.2).abs() < 1e-5, "{x:?} vs {y:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vector_backend_server_in_settings_puts_the_knowledge_base_on_the_server() {
    let standin_dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let standin = StandIn::serve(
        standin_dir.path(),
        "127.0.0.1:0".parse().unwrap(),
        Some("a-long-qdrant-key".into()),
    )
    .await
    .unwrap();
    let mut settings = crate::helpers::settings();
    settings.vector.backend = VectorBackend::Server;
    settings.vector.url = standin.url();
    settings.vector.api_key = Secret::new("a-long-qdrant-key");
    let shown = serde_json::to_string(&settings).unwrap();
    assert!(!shown.contains("a-long-qdrant-key"), "api key shown");

    let index = holdfast::app::vector_index(&settings, data.path())
        .await
        .unwrap();
    assert_eq!(index.backend(), "server");
    let kb = KnowledgeBase::new(index, None, &settings.kb.collection);
    let docs = load_dir(Path::new("knowledge")).unwrap();
    let report = kb.ingest(&docs, &|_, _| {}).await.unwrap();
    assert!(report.added > 0);
    assert!(
        !data.path().join("vector").exists(),
        "nothing written in process"
    );

    // What the application wrote is on the server: a fresh client sees it.
    let other = holdfast::app::vector_index(&settings, data.path())
        .await
        .unwrap();
    assert_eq!(
        other.count(&settings.kb.collection).await.unwrap(),
        report.chunks
    );

    settings.vector.api_key = Secret::new("wrong");
    let err = holdfast::app::vector_index(&settings, data.path())
        .await
        .err()
        .expect("a wrong API key is refused");
    assert!(format!("{err:#}").contains("API key"), "{err:#}");
}
