use std::path::PathBuf;

use super::*;
use crate::domain::Lang;

fn doc(body: &str) -> Document {
    Document {
        id: "d".into(),
        title: "Doc".into(),
        lang: Lang::En,
        tags: vec![],
        kind: "doc".into(),
        body: body.into(),
        path: PathBuf::from("d.md"),
    }
}

fn small() -> ChunkParams {
    ChunkParams {
        target_tokens: 40,
        max_tokens: 60,
        overlap_tokens: 15,
    }
}

#[test]
fn chunks_know_their_heading_path_and_ids_are_stable() {
    let d = doc(
        "# Guide\n\nIntro.\n\n## Delivery\n\n### Moscow\n\nCourier 350.\n\n## Refunds\n\nWithin 14 days.",
    );
    let a = chunk(&d, ChunkParams::default());
    let b = chunk(&d, ChunkParams::default());
    assert_eq!(a, b);
    let refunds = a.iter().find(|c| c.text.contains("14 days")).unwrap();
    assert_eq!(refunds.heading, "Guide › Refunds");
    assert!(
        !refunds.text.contains("Courier"),
        "sections of other parents stay apart"
    );
    let moscow = a.iter().find(|c| c.text.contains("Courier")).unwrap();
    assert!(moscow.heading.starts_with("Guide › Delivery"));
    assert!(
        refunds
            .indexed_text(&d)
            .starts_with("Doc › Guide › Refunds\n")
    );

    let mut changed = d.clone();
    changed.body = changed.body.replace("14 days", "30 days");
    let c = chunk(&changed, ChunkParams::default());
    let same: Vec<_> = c
        .iter()
        .filter(|x| a.iter().any(|y| y.id == x.id))
        .collect();
    assert_eq!(
        same.len(),
        a.len() - 1,
        "only the edited chunk gets a new id"
    );
}

#[test]
fn long_sections_split_within_bounds_with_overlap() {
    let paras: Vec<String> = (0..30)
        .map(|i| format!("Paragraph number {i} says something specific about tea leaves."))
        .collect();
    let d = doc(&format!("## Long\n\n{}", paras.join("\n\n")));
    let p = small();
    let cs = chunk(&d, p);
    assert!(cs.len() > 3);
    for c in &cs {
        assert!(count_tokens(&c.text) <= p.max_tokens, "{}", c.text);
        assert_eq!(c.heading, "Long");
    }
    for i in 0..30 {
        let needle = format!("number {i} ");
        assert!(
            cs.iter().any(|c| c.text.contains(&needle)),
            "lost paragraph {i}"
        );
    }
    let overlapping = cs
        .windows(2)
        .filter(|w| {
            let last = w[0].text.rsplit("\n\n").next().unwrap_or("");
            w[1].text.starts_with(last)
        })
        .count();
    assert!(overlapping > 0, "consecutive windows share a paragraph");
}

#[test]
fn big_tables_split_by_rows_and_repeat_the_header() {
    let rows: Vec<String> = (0..40).map(|i| format!("| item {i} | {i}00 ₽ |")).collect();
    let d = doc(&format!(
        "## Prices\n\n| Item | Price |\n|---|---|\n{}",
        rows.join("\n")
    ));
    let cs = chunk(&d, small());
    assert!(cs.len() > 1);
    for c in &cs {
        assert!(
            c.text.starts_with("| Item | Price |\n|---|---|"),
            "{}",
            c.text
        );
    }
    for i in 0..40 {
        assert!(cs.iter().any(|c| c.text.contains(&format!("| item {i} |"))));
    }
}

#[test]
fn one_long_paragraph_splits_by_sentences() {
    let text: String = (0..60).map(|i| format!("Sentence {i} is here. ")).collect();
    let cs = chunk(&doc(&text), small());
    assert!(cs.len() > 1);
    assert!(
        cs.iter()
            .all(|c| count_tokens(&c.text) <= small().max_tokens)
    );
}
