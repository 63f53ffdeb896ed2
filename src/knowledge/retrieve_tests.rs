use serde_json::json;

use super::*;

fn hit(id: u128, doc: &str, lang: &str, score: f32) -> Hit {
    let mut payload = Map::new();
    payload.insert("doc_id".into(), json!(doc));
    payload.insert("lang".into(), json!(lang));
    Hit {
        id: Uuid::from_u128(id),
        score,
        payload,
    }
}

fn hits(ids: &[u128]) -> Vec<Hit> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| hit(*id, &format!("d{id}"), "en", 1.0 / (i as f32 + 1.0)))
        .collect()
}

fn top(d: &[Hit], s: &[Hit], fusion: Fusion) -> Uuid {
    let c = fz::candidates(d, s, &[]);
    let scores = fz::chunk_scores(&c, Some("en"), fusion);
    let r = fz::rank(&scores, &c, DocAggregation { second: 0.0 });
    c[r[0].0].hit.id
}

#[test]
fn rrf_rewards_agreement_and_weights_shift_the_order() {
    let d = hits(&[1, 2, 3]);
    let s = hits(&[4, 2, 3]);
    let rrf = |k, dense_weight| Fusion::Rrf { k, dense_weight };
    assert_eq!(top(&d, &s, rrf(60.0, 0.5)), Uuid::from_u128(2));
    assert_eq!(top(&d, &s, rrf(1.0, 0.9)), Uuid::from_u128(1));
    assert_eq!(
        top(&d, &s, Fusion::Scores { dense_weight: 0.1 }),
        Uuid::from_u128(4)
    );
    assert_eq!(fz::candidates(&d, &s, &[]).len(), 4);
}

#[test]
fn query_language_follows_the_majority_script() {
    assert_eq!(
        fz::query_lang("Как поставить подписку на паузу?"),
        Some("ru")
    );
    assert_eq!(fz::query_lang("How do I pause my Зерно plan?"), Some("en"));
    assert_eq!(fz::query_lang("Сколько стоит Zerno Express?"), Some("ru"));
    assert_eq!(fz::query_lang("42 ?"), None);
}

/// An English question whose answer is a Russian chunk: BM25 can only
/// match the English chunks, and must not push the Russian one down.
#[test]
fn bm25_abstains_on_chunks_in_another_language() {
    let dense = vec![
        hit(1, "ru-answer", "ru", 0.86),
        hit(2, "en-near", "en", 0.85),
        hit(3, "en-far", "en", 0.80),
        hit(4, "ru-far", "ru", 0.79),
    ];
    let sparse = vec![hit(2, "en-near", "en", 9.0), hit(3, "en-far", "en", 4.0)];
    let z = Fusion::ZScores {
        dense_weight: 0.6,
        cross_lingual: 0.0,
        translated: 0.0,
    };
    assert_eq!(top(&dense, &sparse, z), Uuid::from_u128(1));
    let rrf = Fusion::Rrf {
        k: 60.0,
        dense_weight: 0.5,
    };
    assert_eq!(
        top(&dense, &sparse, rrf),
        Uuid::from_u128(2),
        "rank fusion lets same-language BM25 matches win"
    );
    // The cross-lingual bonus lifts a translation over a near miss.
    let c = fz::candidates(&dense[1..], &[], &[]);
    let mut close = vec![hit(9, "ru-answer", "ru", 0.84)];
    close.extend(dense[1..].iter().cloned());
    let with = fz::candidates(&close, &[], &[]);
    let bonus = Fusion::ZScores {
        dense_weight: 0.6,
        cross_lingual: 0.03,
        translated: 0.0,
    };
    let s = fz::chunk_scores(&with, Some("en"), bonus);
    assert!(s[0] > s[1], "{s:?}");
    let best = |c: &[Candidate]| fz::best_dense(c, Some("en"), 0.03).unwrap_or(0.0);
    assert!((best(&with) - 0.87).abs() < 1e-6, "the bonus counts");
    assert!((best(&c) - 0.85).abs() < 1e-6);
}

#[test]
fn documents_rank_by_their_best_chunk_and_lead_with_one_chunk_each() {
    let dense = vec![
        hit(1, "a", "en", 0.90),
        hit(2, "a", "en", 0.89),
        hit(3, "b", "en", 0.88),
        hit(4, "c", "en", 0.87),
        hit(5, "c", "en", 0.86),
    ];
    let c = fz::candidates(&dense, &[], &[]);
    let scores: Vec<f64> = c.iter().map(|c| f64::from(c.dense.unwrap())).collect();
    let docs = |second| {
        fz::rank(&scores, &c, DocAggregation { second })
            .iter()
            .map(|(i, _)| c[*i].doc_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(docs(0.0), ["a", "b", "c", "a", "c"]);
    // With the second chunk counted, c (0.87 + 0.86) passes b (0.88 alone).
    assert_eq!(docs(0.5), ["a", "c", "b", "a", "c"]);
}

/// An English question whose answer is a Russian chunk: the translation's
/// BM25 list lifts the Russian chunk it matches over one it does not, and
/// leaves same-language scores as they were.
#[test]
fn the_translations_list_scores_chunks_in_the_other_language() {
    let dense = vec![
        hit(1, "ru-near", "ru", 0.86),
        hit(2, "ru-answer", "ru", 0.85),
        hit(3, "en-doc", "en", 0.84),
        hit(4, "ru-far", "ru", 0.80),
    ];
    let sparse = vec![hit(3, "en-doc", "en", 5.0)];
    let translated = vec![hit(2, "ru-answer", "ru", 7.0), hit(3, "en-doc", "en", 9.0)];
    let z = |translated| Fusion::ZScores {
        dense_weight: 0.6,
        cross_lingual: 0.0,
        translated,
    };
    let c = fz::candidates(&dense, &sparse, &translated);
    assert_eq!(c[1].translated, Some(7.0));
    let order = |f| {
        let s = fz::chunk_scores(&c, Some("en"), f);
        fz::rank(&s, &c, DocAggregation { second: 0.0 })
            .iter()
            .map(|(i, _)| c[*i].doc_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(order(z(0.0))[0], "ru-near", "dense alone");
    assert_eq!(order(z(1.0))[0], "ru-answer", "{:?}", order(z(1.0)));
    // The English chunk's score ignores the translation's list.
    let with = fz::chunk_scores(&c, Some("en"), z(1.0));
    let without = fz::chunk_scores(&fz::candidates(&dense, &sparse, &[]), Some("en"), z(1.0));
    assert_eq!(with[2], without[2]);
    // Without a translation the weight changes nothing.
    assert_eq!(
        without,
        fz::chunk_scores(&fz::candidates(&dense, &sparse, &[]), Some("en"), z(0.0))
    );
}

/// The same cosine just under the threshold is answerable when BM25's best
/// document is dense's best, and declined when BM25 points elsewhere.
#[test]
fn agreement_between_the_lists_lowers_the_threshold_by_its_margin() {
    let o = SearchOptions::default();
    let cos = o.min_dense - o.agree_margin / 2.0;
    let verdict = |lang: &str, sparse: Vec<Hit>, translated: Vec<Hit>| {
        // A foreign chunk's cosine takes the cross-lingual bonus.
        let bonus = if lang == "en" { 0.0 } else { 0.03 };
        let dense = vec![
            hit(1, "a", lang, cos - bonus),
            hit(2, "b", lang, cos - bonus - 0.05),
        ];
        let r = Retrieved {
            mode: Mode::Hybrid,
            candidates: fz::candidates(&dense, &sparse, &translated),
            dense,
            sparse,
            translated,
        };
        let s = judge("what is a", &r, &o);
        (s.agree, s.answerable)
    };
    let a9 = |lang| vec![hit(1, "a", lang, 9.0), hit(2, "b", lang, 3.0)];
    let b9 = |lang| vec![hit(2, "b", lang, 9.0), hit(1, "a", lang, 3.0)];
    assert_eq!(verdict("en", a9("en"), vec![]), (true, true));
    assert_eq!(verdict("en", b9("en"), vec![]), (false, false));
    // Chunks in the other language: the translation's best document counts.
    assert_eq!(verdict("ru", vec![], a9("ru")), (true, true));
    assert_eq!(verdict("ru", vec![], b9("ru")), (false, false));
    // Without the margin the agreeing case is declined.
    let strict = SearchOptions {
        agree_margin: 0.0,
        ..o.clone()
    };
    let dense = vec![hit(1, "a", "en", cos)];
    let r = Retrieved {
        mode: Mode::Hybrid,
        candidates: fz::candidates(&dense, &a9("en"), &[]),
        dense,
        sparse: a9("en"),
        translated: vec![],
    };
    assert!(!judge("what is a", &r, &strict).answerable);
}
