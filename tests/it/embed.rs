//! The embedders: the local e5 engine on the installed model (models/e5,
//! installed by `./run test`) and the OpenAI-compatible client against a
//! loopback stand-in that speaks the /v1/embeddings wire format.

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use holdfast::embed::{LocalE5, LocalOptions, OpenAiEmbedder, OpenAiOptions, cosine};
use holdfast::pipeline::ports::{EmbedRole, Embedder};
use serde_json::{Value, json};

fn local() -> LocalE5 {
    LocalE5::load(Path::new("models/e5"), LocalOptions::default())
        .expect("models/e5 is installed by ./run test")
}

/// No query cache, so every call really runs the engine.
fn uncached(batch: usize) -> LocalE5 {
    LocalE5::load(
        Path::new("models/e5"),
        LocalOptions {
            batch,
            query_cache: 0,
        },
    )
    .unwrap()
}

fn s(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|x| (*x).to_owned()).collect()
}

#[tokio::test]
async fn russian_and_english_paraphrases_are_close_and_unrelated_texts_are_not() {
    let e = local();
    let v = e
        .embed(
            EmbedRole::Query,
            s(&[
                "Хочу отменить подписку на кофе",
                "I want to cancel my coffee subscription",
                "Какая погода завтра в Берлине?",
                "The courier was late and the beans arrived crushed",
                "Курьер опоздал, а зёрна приехали раздавленными",
            ]),
        )
        .await
        .unwrap();
    assert_eq!(v.len(), 5);
    assert!(v.iter().all(|x| x.len() == e.dim() && e.dim() == 384));
    for x in &v {
        let norm: f32 = x.iter().map(|a| a * a).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "not unit length: {norm}");
    }
    let cancel = cosine(&v[0], &v[1]);
    let courier = cosine(&v[3], &v[4]);
    let unrelated = cosine(&v[0], &v[2]);
    assert!(cancel > 0.85, "RU/EN cancel paraphrase cosine {cancel}");
    assert!(courier > 0.85, "RU/EN courier paraphrase cosine {courier}");
    assert!(
        unrelated < cancel - 0.1,
        "unrelated {unrelated} vs paraphrase {cancel}"
    );
    assert!(cosine(&v[0], &v[3]) < cancel);
}

#[tokio::test]
async fn embeddings_are_deterministic_and_a_batch_equals_single_calls() {
    let e = uncached(3);
    let texts = s(&[
        "Где мой заказ?",
        "Where is my order?",
        "Спасибо, всё понравилось!",
        "",
        "Too expensive for me, sorry",
    ]);
    let batch = e.embed(EmbedRole::Passage, texts.clone()).await.unwrap();
    let again = e.embed(EmbedRole::Passage, texts.clone()).await.unwrap();
    assert_eq!(batch, again);
    for (t, b) in texts.iter().zip(&batch) {
        let one = e.embed(EmbedRole::Passage, vec![t.clone()]).await.unwrap();
        let d = one[0]
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(d < 1e-5, "batch and single differ by {d} for {t:?}");
    }
    // The role changes the prefix and therefore the vector.
    let q = e
        .embed(EmbedRole::Query, vec![texts[0].clone()])
        .await
        .unwrap();
    assert_ne!(q[0], batch[0]);
}

/// The engine's SIMD kernels (AVX2, AVX-512 VNNI matmul, bf16 attention,
/// whichever this CPU has) against vectors from its portable scalar path
/// (native/e5/tools/reference.c): a Russian and an English paragraph, a text
/// long enough to need three 512-token windows, and two queries.
#[tokio::test]
async fn the_engine_agrees_with_its_portable_scalar_path() {
    let e = uncached(8);
    let fixture: Value =
        serde_json::from_str(&std::fs::read_to_string("tests/fixtures/e5_reference.json").unwrap())
            .unwrap();
    let items = fixture.as_array().unwrap();
    assert_eq!(items.len(), 5);
    for item in items {
        let text = item["text"].as_str().unwrap().to_owned();
        let role = match item["role"].as_str().unwrap() {
            "query" => EmbedRole::Query,
            _ => EmbedRole::Passage,
        };
        let want: Vec<f32> = item["vector"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        let got = e.embed(role, vec![text.clone()]).await.unwrap();
        let c = cosine(&got[0], &want);
        assert!(
            c > 0.9999,
            "cosine {c} to the scalar reference for {:?}",
            text.chars().take(40).collect::<String>()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_threads_share_one_model_and_the_query_cache_agrees() {
    let e = Arc::new(local());
    let texts = s(&[
        "Сколько стоит доставка?",
        "Do you ship to Kazan?",
        "Верните деньги",
    ]);
    let reference = e.embed(EmbedRole::Query, texts.clone()).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (e, texts) = (e.clone(), texts.clone());
        tasks.push(tokio::spawn(async move {
            e.embed(EmbedRole::Query, texts).await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), reference);
    }
    // A fresh, uncached embedder computes the same vectors.
    let fresh = LocalE5::load(
        Path::new("models/e5"),
        LocalOptions {
            batch: 1,
            query_cache: 0,
        },
    )
    .unwrap();
    assert_eq!(
        fresh.embed(EmbedRole::Query, texts).await.unwrap(),
        reference
    );
}

#[test]
fn a_missing_model_names_the_path_and_how_to_install_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = LocalE5::load(dir.path(), LocalOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains(&dir.path().display().to_string()), "{err}");
    assert!(
        err.contains("./run demo") && err.contains("./run test"),
        "{err}"
    );
    std::fs::write(dir.path().join("e5-small-q4.bin"), b"E5S1 truncated").unwrap();
    let err = LocalE5::load(dir.path(), LocalOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("not the expected file"), "{err}");
}

/// A stand-in for an OpenAI-compatible embeddings server: answers with
/// vectors derived from the text, in reversed order (clients must sort by
/// `index`), unnormalised, and records each request body.
async fn spawn_stand_in(dim: usize) -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    async fn handler(
        State((seen, dim)): State<(Arc<Mutex<Vec<Value>>>, usize)>,
        Json(body): Json<Value>,
    ) -> Json<Value> {
        seen.lock().unwrap().push(body.clone());
        let inputs: Vec<String> = match &body["input"] {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => vec![],
        };
        let mut data: Vec<Value> = inputs
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let v: Vec<f32> = (0..dim).map(|k| ((t.len() + k) % 7) as f32 + 1.0).collect();
                json!({"object": "embedding", "index": i, "embedding": v})
            })
            .collect();
        data.reverse();
        Json(json!({
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": 3, "total_tokens": 3}
        }))
    }
    let app = axum::Router::new()
        .route("/v1/embeddings", post(handler))
        .with_state((seen.clone(), dim));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/v1"), seen)
}

fn openai(base_url: String, dim: usize) -> OpenAiEmbedder {
    OpenAiEmbedder::new(OpenAiOptions {
        base_url,
        api_key: "sk-test".into(),
        model: "e5-stand-in".into(),
        dim,
        query_prefix: "query: ".into(),
        passage_prefix: "passage: ".into(),
        batch: 2,
    })
    .unwrap()
}

#[tokio::test]
async fn the_openai_embedder_speaks_the_embeddings_wire_format() {
    let (base, seen) = spawn_stand_in(8).await;
    let e = openai(base, 8);
    assert_eq!(e.dim(), 8);
    assert_eq!(e.describe(), "openai:e5-stand-in");
    let texts = s(&["a", "bbb", "cc"]);
    let v = e.embed(EmbedRole::Query, texts.clone()).await.unwrap();
    assert_eq!(v.len(), 3);
    for (t, x) in texts.iter().zip(&v) {
        let len = format!("query: {t}").len();
        let raw: Vec<f32> = (0..8).map(|k| ((len + k) % 7) as f32 + 1.0).collect();
        assert!(
            (cosine(x, &raw) - 1.0).abs() < 1e-5,
            "vector for {t:?} out of order"
        );
        let norm: f32 = x.iter().map(|a| a * a).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
    }
    let bodies = seen.lock().unwrap().clone();
    assert_eq!(
        bodies.len(),
        2,
        "batch 2 splits three texts into two requests"
    );
    assert_eq!(bodies[0]["model"], "e5-stand-in");
    assert_eq!(bodies[0]["input"], json!(["query: a", "query: bbb"]));
    assert_eq!(bodies[1]["input"], json!(["query: cc"]));
}

#[tokio::test]
async fn the_openai_embedder_rejects_vectors_of_the_wrong_length() {
    let (base, _) = spawn_stand_in(4).await;
    let err = openai(base, 8)
        .embed(EmbedRole::Passage, s(&["x"]))
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("dimensions"), "{err:#}");
}
