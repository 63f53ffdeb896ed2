use super::*;

fn sample() -> Lexicon {
    let (i, d) = encode_dictd(&[
        ("00databaseshort", "   Sample"),
        (
            "pause",
            "   [pɘ:z]\n   1. _n.\n      1) пауза, перерыв; остановка\n      2) замешательство; to give pause to приводить в замешательство\n   2. _v.\n      1) делать паузу, останавливаться (on, upon)",
        ),
        (
            "refund",
            "   1. _n. [↗ri:fʌnd]\n      1) уплата\n      2) возвращение (денег); возмещение (расходов)",
        ),
        ("pick up", "   подбирать"),
    ]);
    Lexicon::from_dictd(&i, &d).expect("parses")
}

fn ids(words: &str) -> Vec<u32> {
    bm25::terms(words)
        .iter()
        .map(|t| bm25::term_id(t))
        .collect()
}

#[test]
fn reads_senses_and_drops_examples_labels_and_phrases() {
    let lx = sample();
    let tr = lx.translate("How long can I pause it?");
    assert_eq!(tr.len(), 1);
    assert_eq!(tr[0].term, "paus");
    let got: Vec<u32> = tr[0].targets.iter().map(|t| t.0).collect();
    for want in ids("пауза перерыв остановка замешательство") {
        assert!(got.contains(&want), "{got:?}");
    }
    // The example after "to give pause to" is not a translation.
    assert!(!got.contains(&ids("приводить")[0]));
    // First senses weigh most.
    assert_eq!(tr[0].targets[0].1, 1.0);
    let second = ids("замешательство")[0];
    assert_eq!(
        tr[0].targets.iter().find(|t| t.0 == second).map(|t| t.1),
        Some(0.5)
    );
    // Multi-word headwords are not read.
    assert!(lx.translate("pick").is_empty());
}

#[test]
fn russian_to_english_is_the_inverse() {
    let lx = sample();
    let tr = lx.translate("Когда будет возвращение денег и пауза?");
    let terms: Vec<&str> = tr.iter().map(|t| t.term.as_str()).collect();
    assert_eq!(terms, vec!["возвращен", "пауз"]);
    assert_eq!(tr[0].targets, vec![(bm25::term_id("refund"), 0.5)]);
    assert_eq!(tr[1].targets, vec![(bm25::term_id("paus"), 1.0)]);
}

#[test]
fn query_weights_split_over_present_translations() {
    let lx = sample();
    let tr = lx.translate("pause");
    let all = query_vector(&tr, &|_| true);
    assert!((all.values.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    let only = ids("пауза")[0];
    let one = query_vector(&tr, &|id| id == only);
    assert_eq!(one.indices, vec![only]);
    assert_eq!(one.values, vec![1.0]);
    assert!(query_vector(&tr, &|_| false).indices.is_empty());
}

#[test]
fn encoded_numbers_read_back() {
    for n in [0usize, 1, 63, 64, 4095, 4096, 9_303_472] {
        let (i, _) = encode_dictd(&[("w", &"x".repeat(n))]);
        let len = i.trim_end().rsplit('\t').next().unwrap_or("");
        assert_eq!(b64(len).ok(), Some(n + 3), "{n}");
    }
}

#[test]
fn bad_index_lines_are_errors_not_panics() {
    assert!(Lexicon::from_dictd("word\tA", b"").is_err());
    assert!(Lexicon::from_dictd("word\tA\tZZZZ", b"word\n").is_err());
    assert!(Lexicon::from_dictd("word\t!\tB", b"word\n").is_err());
}
