//! The binary as a person uses it: help, settings, imports with
//! `file:line: reason` messages.

use std::process::Command;

use crate::helpers::shared;

fn holdfast(data: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_holdfast"));
    c.arg("--data-dir").arg(data).env_remove("RUST_LOG");
    c
}

#[test]
fn config_check_masks_secrets_and_rejects_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    let out = holdfast(dir.path())
        .args(["config", "check"])
        .env("HOLDFAST__AUTH__HMAC_SECRET", "do-not-print-me")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("hmac_secret = \"********\""), "{text}");
    assert!(!text.contains("do-not-print-me"));
    let out = holdfast(dir.path())
        .args(["config", "check"])
        .env("HOLDFAST__QUEUE__WORKRES", "3")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("queue.workres") || err.contains("workres"),
        "{err}"
    );
}

#[test]
fn import_reports_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let profiles = shared("eval/customers/profiles.csv");
    let events = shared("eval/customers/events.csv");
    let bad = shared("eval/customers/bad_events.csv");
    let out = holdfast(dir.path())
        .args(["import", "customers", "--file"])
        .arg(&profiles)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = holdfast(dir.path())
        .args(["import", "events", "--json", "--file"])
        .arg(&events)
        .output()
        .unwrap();
    assert!(out.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (summary["imported"].as_u64(), summary["rejected"].as_u64()),
        (Some(2972), Some(0))
    );
    let out = holdfast(dir.path())
        .args(["import", "events", "--file"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "rejected rows give exit code 3");
    let err = String::from_utf8(out.stderr).unwrap();
    let name = bad.display().to_string();
    assert!(
        err.contains(&format!("{name}:2: occurred_at: invalid date: February 30")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{name}:21: CSV: unterminated quoted field")),
        "{err}"
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("imported 0, skipped 1 already imported, rejected 19"),
        "{text}"
    );
    // A missing file is an error naming it, not a panic.
    let out = holdfast(dir.path())
        .args(["import", "events", "--file", "/nonexistent.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("/nonexistent.csv: cannot open")
    );
}

#[test]
fn help_is_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["import", "events", "--help"],
        vec!["bench", "ingest", "--help"],
        vec!["demo", "--help"],
    ] {
        let out = holdfast(dir.path()).args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(String::from_utf8(out.stdout).unwrap().contains("Usage"));
    }
}

#[test]
fn clv_commands_fit_predict_and_check_holdout() {
    let dir = tempfile::tempdir().unwrap();
    let data = shared("data/clv");
    let out = holdfast(dir.path())
        .args([
            "clv",
            "fit",
            "--model",
            "sbg",
            "--group-by",
            "cohort",
            "--json",
            "--data",
        ])
        .arg(data.join("sbg_cohorts_individual.csv"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fits: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(fits.len(), 2);
    let regular = fits.iter().find(|f| f["group"] == "regular").unwrap();
    assert!((regular["params"]["alpha"].as_f64().unwrap() - 0.704).abs() < 1e-3);
    assert!((regular["params"]["beta"].as_f64().unwrap() - 1.182).abs() < 1e-3);
    assert_eq!(regular["converged"], true);

    let tx = data.join("cdnow_sample_transactions.csv");
    let csv = dir.path().join("pred.csv");
    let out = holdfast(dir.path())
        .args([
            "clv",
            "predict",
            "--transactions",
            "--calibration-end",
            "1997-09-30",
            "--data",
        ])
        .arg(&tx)
        .arg("--out")
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        text.lines().count(),
        2358,
        "a header and one row per customer"
    );
    for line in text.lines().skip(1) {
        let p_alive: f64 = line.split(',').nth(5).unwrap().parse().unwrap();
        assert!((0.0..=1.0).contains(&p_alive), "{line}");
    }

    let chart = dir.path().join("h.svg");
    let out = holdfast(dir.path())
        .args([
            "clv",
            "holdout",
            "--json",
            "--calibration-end",
            "1997-09-30",
            "--holdout-end",
            "1998-06-30",
            "--data",
        ])
        .arg(&tx)
        .arg("--chart")
        .arg(&chart)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["customers"], 2357);
    let err = r["aggregate_error_pct"].as_f64().unwrap();
    assert!(
        err.abs() < 20.0,
        "BG/NBD predicts CDNOW's holdout within 20%: {err}"
    );
    assert!(std::fs::read_to_string(&chart).unwrap().starts_with("<svg"));

    // A bad value names the file and line.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "frequency,recency,T\n1,2,3\n2,x,5\n").unwrap();
    let out = holdfast(dir.path())
        .args(["clv", "fit", "--model", "bgnbd", "--data"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("bad.csv:3: recency: \"x\" is not a number"),
        "{err}"
    );
}

/// The benches a person runs to check the figures: small runs must finish
/// and print what the README quotes (events/s and ack latency; query
/// latency with each list's share, embedding rate, demo ingest time).
#[test]
fn benches_print_their_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = holdfast(dir.path())
        .args(["bench", "ingest", "--events", "400", "--concurrency", "8"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("durable events/s:"), "{text}");
    assert!(text.contains("(stored 400, errors 0)"), "{text}");
    assert!(text.contains("ack latency ms: p50"), "{text}");

    let out = holdfast(dir.path())
        .args(["bench", "retrieval", "--chunks", "600", "--queries", "20"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "synthetic index: 600 chunks",
        "20 queries after 50 warm-up ones: p50",
        "the 50 warm-up queries: p50",
        "of which the dense search p50",
        "the translation's two BM25 passes p50",
        "bilingual lexicon (",
        "chunks/s per core",
        "demo knowledge base ingest",
        "demo knowledge base search, the real path (",
        "lexicon on): first time p50",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}
