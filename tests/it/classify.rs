//! The local analyser: trained on training/messages.jsonl only, evaluated on
//! ../shared/eval/messages.jsonl (never trained on), wired into the agent.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use holdfast::analyser::{LocalAnalyser, MODEL_VERSION};
use holdfast::cli::{AnalyserKind, EvalClassifyArgs};
use holdfast::domain::{Intent, Lang, Sentiment};
use holdfast::pipeline::analysis::MessageClassifier;

fn args(messages: &str) -> EvalClassifyArgs {
    EvalClassifyArgs {
        messages: PathBuf::from(messages),
        analyser: AnalyserKind::Local,
        training: None,
        cv: None,
        hyper: None,
        json: true,
    }
}

fn analyser() -> LocalAnalyser {
    let s = crate::helpers::settings();
    LocalAnalyser::new(
        Arc::new(move || holdfast::app::embedder(&s)),
        Path::new("training/messages.jsonl"),
        Path::new("models/analyser"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_analyser_clears_the_floors_on_the_evaluation_messages() {
    let settings = crate::helpers::settings();
    let r = holdfast::cli::eval_classify(&args("../shared/eval/messages.jsonl"), &settings)
        .await
        .unwrap();
    let f1 = |head: &str| r[head]["overall"]["macro_f1"].as_f64().unwrap();
    println!(
        "eval: sentiment macro-F1 {:.3}, intent macro-F1 {:.3}",
        f1("sentiment"),
        f1("intent")
    );
    assert_eq!(r["messages"], 200);
    assert!(
        f1("sentiment") >= 0.75,
        "sentiment macro-F1 {}",
        f1("sentiment")
    );
    assert!(f1("intent") >= 0.65, "intent macro-F1 {}", f1("intent"));
    for head in ["sentiment", "intent"] {
        for lang in ["ru", "en"] {
            assert!(r[head]["by_lang"][lang]["n"].as_u64().unwrap() > 0);
        }
        let confusion = r[head]["overall"]["confusion"].as_array().unwrap();
        let total: u64 = confusion
            .iter()
            .flat_map(|row| row.as_array().unwrap())
            .map(|c| c.as_u64().unwrap())
            .sum();
        assert_eq!(total, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_messages_get_their_labels_with_calibrated_confidence_and_reasons() {
    let a = analyser();
    assert_eq!(a.describe(), MODEL_VERSION);
    let o = a
        .classify(
            "Курьер опоздал на три часа, а кофе пришёл холодный. Безобразие!",
            Lang::Ru,
        )
        .await
        .unwrap();
    assert_eq!(o.intent, Intent::Complaint);
    assert_eq!(o.sentiment, Sentiment::Negative);
    assert!(o.intent_confidence > 0.3 && o.intent_confidence <= 1.0);
    assert!(
        o.reasons.iter().any(|r| r.contains("complaint")),
        "{:?}",
        o.reasons
    );

    let o = a
        .classify("Please cancel my subscription from next month", Lang::En)
        .await
        .unwrap();
    assert_eq!(o.intent, Intent::CancelIntent);
    let o = a
        .classify("Thank you so much, the tea is wonderful!", Lang::En)
        .await
        .unwrap();
    assert_eq!(o.sentiment, Sentiment::Positive);
    // Unseen nonsense is not classified with near certainty.
    let o = a.classify("ыва пролд", Lang::Ru).await.unwrap();
    assert!(o.intent_confidence < 0.9, "{o:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trained_model_is_cached_in_a_file_named_by_the_training_data() {
    let dir = tempfile::tempdir().unwrap();
    // A small training file of our own so this test trains quickly.
    let training = dir.path().join("small.jsonl");
    let body = std::fs::read_to_string("training/messages.jsonl").unwrap();
    std::fs::write(
        &training,
        body.lines().take(120).collect::<Vec<_>>().join("\n"),
    )
    .unwrap();
    let cache = dir.path().join("cache");
    let s = crate::helpers::settings();
    let make = || {
        let s = s.clone();
        LocalAnalyser::new(
            Arc::new(move || holdfast::app::embedder(&s)),
            &training,
            &cache,
        )
    };
    let first = make().classify("Где мой заказ?", Lang::Ru).await.unwrap();
    let models = || -> Vec<String> {
        std::fs::read_dir(&cache)
            .unwrap()
            .flatten()
            .map(|f| f.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(MODEL_VERSION) && n.ends_with(".bin"))
            .collect()
    };
    assert_eq!(models().len(), 1, "{:?}", models());
    let again = make().classify("Где мой заказ?", Lang::Ru).await.unwrap();
    assert_eq!(first, again);
    // Other training data, another file.
    std::fs::write(
        &training,
        body.lines()
            .skip(120)
            .take(120)
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    make().classify("Где мой заказ?", Lang::Ru).await.unwrap();
    assert_eq!(models().len(), 2, "{:?}", models());
}

#[tokio::test]
async fn the_agent_uses_the_local_analyser_by_default() {
    let mut s = crate::helpers::settings();
    assert!(holdfast::app::agent(&s).unwrap().classifier.is_some());
    s.analyser.enabled = false;
    assert!(holdfast::app::agent(&s).unwrap().classifier.is_none());
}

#[tokio::test]
async fn eval_classify_explains_what_it_cannot_do() {
    let settings = crate::helpers::settings();
    let mut a = args("../shared/eval/messages.jsonl");
    a.analyser = AnalyserKind::Llm;
    let e = holdfast::cli::eval_classify(&a, &settings)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no LLM configured"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"id\":\"1\",\"lang\":\"ru\",\"text\":\"x\",\"sentiment\":\"angry\",\"intent\":\"other\"}\n",
    )
    .unwrap();
    let e = holdfast::cli::eval_classify(&args(bad.to_str().unwrap()), &settings)
        .await
        .unwrap_err();
    assert!(format!("{e:#}").contains("bad.jsonl:1"), "{e:#}");
}
