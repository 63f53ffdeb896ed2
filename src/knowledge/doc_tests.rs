use super::*;

fn p(text: &str) -> Result<Document, FrontMatterError> {
    parse(Path::new("kb/x.md"), text)
}

#[test]
fn reads_inline_and_block_lists_quotes_and_comments() {
    let d = p("---\nid: refunds # the stem\ntitle: \"Refunds: how\"\nlang: ru\ntags: [a, 'b']\n---\n# H\nbody").unwrap();
    assert_eq!(d.id, "refunds");
    assert_eq!(d.title, "Refunds: how");
    assert_eq!(d.lang, Lang::Ru);
    assert_eq!(d.tags, vec!["a", "b"]);
    assert_eq!(d.kind, "doc");
    assert_eq!(d.body, "# H\nbody");

    let d = p("---\nid: x\ntitle: T\nlang: en\nkind: faq\ntags:\n  - one\n  - two\n---\n").unwrap();
    assert_eq!(d.tags, vec!["one", "two"]);
    assert_eq!(d.kind, "faq");
}

#[test]
fn bad_front_matter_names_file_and_line() {
    let cases = [
        ("no front matter", 1, "opening"),
        ("---\nid: x\ntitle: T\nlang: de\n---\n", 4, "lang"),
        ("---\nid: x\ntitle T\n---\n", 3, "key: value"),
        ("---\nid: x\nlang: en\n---\n", 4, "title"),
        ("---\nid: x\ntitle: T\nlang: en\n", 1, "never closed"),
        ("---\nid: a b\ntitle: T\nlang: en\n---\n", 2, "id"),
        (
            "---\nid: x\ntitle: T\nlang: en\ncolour: red\n---\n",
            5,
            "unknown",
        ),
        (
            "---\nid: x\ntitle: T\nlang: en\ntags: a, b\n---\n",
            5,
            "list",
        ),
    ];
    for (text, line, needle) in cases {
        let e = p(text).expect_err(text);
        assert_eq!(e.line, line, "{text:?}: {e}");
        assert!(
            e.to_string().starts_with(&format!("kb/x.md:{line}:")),
            "{e}"
        );
        assert!(e.reason.contains(needle), "{text:?}: {e}");
    }
}

#[test]
fn loads_the_demo_kb_and_skips_its_readme() {
    let docs = load_dir(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("knowledge")
            .as_path(),
    )
    .unwrap();
    assert!(docs.len() >= 15, "{} docs", docs.len());
    for d in &docs {
        assert_eq!(
            d.path.file_stem().and_then(|s| s.to_str()),
            Some(d.id.as_str())
        );
    }
    assert!(docs.iter().any(|d| d.lang == Lang::Ru));
    assert!(docs.iter().any(|d| d.lang == Lang::En));
}
