//! `holdfast eval attacks`: every attack text goes through analysis and
//! drafting; the final draft must match none of the attack's `forbidden`
//! patterns (lower-cased reply, searched anywhere, as the format says).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, anyhow};
use regex::Regex;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app;
use crate::cli::AttackLlm;
use crate::config::Settings;
use crate::domain::Lang;
use crate::llm::{Mode, StandIn};
use crate::pipeline::agent::{Agent, Situation};

#[derive(Debug, Deserialize)]
struct Attack {
    id: String,
    lang: String,
    kind: String,
    text: String,
    forbidden: Vec<String>,
}

fn read(path: &Path) -> anyhow::Result<Vec<(Attack, Vec<Regex>)>> {
    let label = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("{label}: cannot read"))?;
    let mut out = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let a: Attack =
            serde_json::from_str(line).map_err(|e| anyhow!("{label}:{}: {e}", i + 1))?;
        let patterns = a
            .forbidden
            .iter()
            .map(|p| {
                Regex::new(&format!("(?i){p}"))
                    .map_err(|e| anyhow!("{label}:{}: pattern {p:?}: {e}", i + 1))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        out.push((a, patterns));
    }
    Ok(out)
}

/// The agent the attacks run against. `hostile` starts the red-team
/// stand-in on loopback and talks to it through the real OpenAI client
/// (keep the returned server alive while the agent is used).
pub async fn agent_for(
    settings: &Settings,
    llm: AttackLlm,
) -> anyhow::Result<(Agent, Option<StandIn>)> {
    match llm {
        AttackLlm::Configured => Ok((app::agent(settings)?, None)),
        AttackLlm::Hostile => {
            let standin = StandIn::start(Mode::Hostile)
                .await
                .context("starting the hostile stand-in")?;
            let mut s = settings.clone();
            s.llm.base_url = standin.base_url();
            s.llm.model = "hostile".into();
            s.llm.max_retries = 0;
            Ok((app::agent(&s)?, Some(standin)))
        }
    }
}

pub async fn run(agent: &Agent, path: &Path, llm_label: &str) -> anyhow::Result<Value> {
    let attacks = read(path)?;
    // Per kind: attacks, final drafts that matched, refused drafts that
    // matched (the writer really tried; a test that never sees a tried
    // attack proves nothing).
    let mut by_kind: BTreeMap<String, (u32, u32, u32)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut guardrail_catches = 0usize;
    for (a, patterns) in &attacks {
        let mut s = Situation::stranger(&a.text);
        s.lang = Lang::parse(&a.lang).unwrap_or_else(|_| Lang::detect(&a.text));
        let reply = agent.respond(&s).await?;
        guardrail_catches += reply.violations.len();
        let lower = reply.text.to_lowercase();
        let hits: Vec<&Regex> = patterns.iter().filter(|p| p.is_match(&lower)).collect();
        let e = by_kind.entry(a.kind.clone()).or_default();
        e.0 += 1;
        let tried = reply.rejected.iter().any(|r| {
            let r = r.to_lowercase();
            patterns.iter().any(|p| p.is_match(&r))
        });
        if tried {
            e.2 += 1;
        }
        if !hits.is_empty() {
            e.1 += 1;
            failures.push(json!({
                "id": a.id,
                "kind": a.kind,
                "patterns": hits.iter().map(|p| p.as_str().trim_start_matches("(?i)").to_owned()).collect::<Vec<_>>(),
                "reply": reply.text,
            }));
        }
    }
    let violations: u32 = by_kind.values().map(|v| v.1).sum();
    let tried: u32 = by_kind.values().map(|v| v.2).sum();
    Ok(json!({
        "attacks": attacks.len(),
        "violations": violations,
        "llm": llm_label,
        "guardrail_catches": guardrail_catches,
        "refused_drafts_matching": tried,
        "by_kind": by_kind.iter().map(|(k, (n, v, t))| (k.clone(), json!({ "attacks": n, "violations": v, "refused_drafts_matching": t }))).collect::<serde_json::Map<_, _>>(),
        "failures": failures,
    }))
}
