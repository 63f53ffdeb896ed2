//! Labelled messages in the evaluation format (JSON lines
//! `{"id","lang","text","sentiment","intent"}`, optional `note`).

use std::path::Path;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::domain::{Intent, Lang, Sentiment};

#[derive(Debug, Clone, PartialEq)]
pub struct LabelledMessage {
    pub id: String,
    pub lang: Lang,
    pub text: String,
    pub sentiment: Sentiment,
    pub intent: Intent,
}

#[derive(Deserialize)]
struct Row {
    id: String,
    lang: String,
    text: String,
    sentiment: String,
    intent: String,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

/// Parses a JSON-lines file; every bad line is reported with its number.
pub fn parse_messages(body: &str, source: &str) -> anyhow::Result<Vec<LabelledMessage>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (n, line) in body.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<Row>(line)
            .map_err(|e| e.to_string())
            .and_then(|r| {
                Ok(LabelledMessage {
                    lang: Lang::parse(&r.lang).map_err(|e| e.to_string())?,
                    sentiment: Sentiment::parse(&r.sentiment).map_err(|e| e.to_string())?,
                    intent: Intent::parse(&r.intent).map_err(|e| e.to_string())?,
                    id: r.id,
                    text: r.text,
                })
            });
        match parsed {
            Ok(m) => out.push(m),
            Err(e) => errors.push(format!("{source}:{}: {e}", n + 1)),
        }
    }
    if !errors.is_empty() {
        let shown = errors
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n");
        bail!("{} bad lines:\n{shown}", errors.len());
    }
    if out.is_empty() {
        bail!("{source}: no labelled messages");
    }
    Ok(out)
}

pub fn read_messages(path: &Path) -> anyhow::Result<Vec<LabelledMessage>> {
    let body =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_messages(&body, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_are_reported_with_their_numbers() {
        let body = "{\"id\":\"a\",\"lang\":\"ru\",\"text\":\"x\",\"sentiment\":\"neutral\",\"intent\":\"other\"}\n\n{\"id\":\"b\",\"lang\":\"de\",\"text\":\"x\",\"sentiment\":\"neutral\",\"intent\":\"other\"}\n";
        let e = parse_messages(body, "f.jsonl").unwrap_err().to_string();
        assert!(e.contains("f.jsonl:3") && e.contains("de"), "{e}");
        let ok = parse_messages(body.lines().next().unwrap(), "f").unwrap();
        assert_eq!(ok[0].intent, Intent::Other);
    }
}
