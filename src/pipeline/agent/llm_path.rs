//! What the agent asks an LLM: labels for a message (cross-checked by the
//! local classifier in `analysis::combine`) and a grounded draft (checked
//! by the guardrails like any other). Both prompts fence customer text and
//! passages as data.

use serde::Deserialize;

use crate::domain::Lang;
use crate::pipeline::analysis::LlmLabels;
use crate::pipeline::grounding::Passage;
use crate::pipeline::guardrails::Violation;
use crate::pipeline::ports::{Llm, LlmError, LlmRequest};

use super::prompts::{self, DraftPrompt, Prompt};

/// Sampling settings for the agent's LLM calls.
#[derive(Debug, Clone, Copy)]
pub struct LlmTuning {
    pub temperature: f32,
    pub max_tokens: u32,
}

impl Default for LlmTuning {
    fn default() -> Self {
        LlmTuning {
            temperature: 0.2,
            max_tokens: 800,
        }
    }
}

/// Why an LLM step produced nothing usable.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error("prompt: {0}")]
    Prompt(String),
}

impl StepError {
    pub fn kind(&self) -> &'static str {
        match self {
            StepError::Llm(e) => e.kind(),
            StepError::Prompt(_) => "prompt",
        }
    }
}

fn request(p: &Prompt, name: &str, schema: serde_json::Value, t: LlmTuning) -> LlmRequest {
    LlmRequest {
        system: p.system.clone(),
        user: p.user.clone(),
        schema_name: name.to_owned(),
        schema,
        temperature: t.temperature,
        max_tokens: t.max_tokens,
    }
}

/// Labels from the LLM and the prompt version that produced them.
pub async fn analyse(
    llm: &dyn Llm,
    shop_name: &str,
    lang: Lang,
    text: &str,
    t: LlmTuning,
) -> Result<(LlmLabels, String), StepError> {
    let p =
        prompts::analysis(shop_name, lang, text).map_err(|e| StepError::Prompt(e.to_string()))?;
    let v = llm
        .complete_json(&request(&p, "analysis", prompts::analysis_schema(), t))
        .await?;
    // The adapter validated the schema; this cannot fail on a valid value,
    // but a mismatch is still an invalid answer, never a panic.
    let mut labels: LlmLabels = serde_json::from_value(v)
        .map_err(|e| LlmError::InvalidResponse(format!("analysis labels: {e}")))?;
    // Reasons are for a manager's eye: short ones only.
    for r in &mut labels.reasons {
        if r.chars().count() > 200 {
            *r = r.chars().take(200).collect();
        }
    }
    Ok((labels, p.version))
}

#[derive(Debug, Deserialize)]
struct DraftAnswer {
    reply: String,
    citations: Vec<Citation>,
}

#[derive(Debug, Deserialize)]
struct Citation {
    doc_id: String,
}

/// One LLM draft: the text, the cited passages that exist, the prompt.
#[derive(Debug, Clone)]
pub struct LlmDraft {
    pub text: String,
    pub citations: Vec<String>,
    pub system_prompt: String,
    pub version: String,
}

/// What the model is told when its draft was refused: rule names and
/// fixed explanations only, never the offending text (which may come from
/// the customer and would be an injection of its own).
pub fn feedback(violations: &[Violation]) -> String {
    let mut rules: Vec<&str> = violations.iter().map(|v| v.rule).collect();
    rules.dedup();
    rules
        .iter()
        .map(|r| {
            let why = match *r {
                "language" => "written in the wrong language",
                "claimed_action" => "claims an action was carried out",
                "persona" => "speaks as someone other than the shop's team",
                "internal" => "mentions internal rules, identifiers or how the assistant works",
                "address" => "contains a street address",
                "prompt_leak" => "repeats the instructions",
                "echo" => "repeats the customer's words back",
                "contact" => "contains a phone number or email address",
                "link" => "links outside the allowed domains",
                "ungrounded_number" => "states numbers not found in the passages",
                "discount_cap" => "offers a discount above the allowed maximum",
                "third_party" => "talks about another person's data",
                "unchosen_offer" => "proposes an offer that was not allowed",
                _ => "breaks the policy",
            };
            format!("{r} ({why})")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub struct DraftAsk<'a> {
    pub shop_name: &'a str,
    pub signature: &'a str,
    pub lang: Lang,
    pub intent: &'a str,
    pub phase: &'a str,
    pub offer: Option<String>,
    pub passages: &'a [Passage],
    pub history: &'a [String],
    pub message: &'a str,
    pub allowed_domains: &'a [String],
    pub feedback: Option<String>,
}

pub async fn draft(llm: &dyn Llm, a: &DraftAsk<'_>, t: LlmTuning) -> Result<LlmDraft, StepError> {
    let p = prompts::draft(&DraftPrompt {
        shop_name: a.shop_name,
        signature: a.signature,
        lang: a.lang,
        intent: a.intent,
        phase: a.phase,
        offer: a.offer.clone(),
        passages: a.passages,
        history: a.history,
        message: a.message,
        allowed_domains: a.allowed_domains,
        feedback: a.feedback.clone(),
    })
    .map_err(|e| StepError::Prompt(e.to_string()))?;
    let v = llm
        .complete_json(&request(&p, "draft", prompts::draft_schema(), t))
        .await?;
    let answer: DraftAnswer =
        serde_json::from_value(v).map_err(|e| LlmError::InvalidResponse(format!("draft: {e}")))?;
    let text = answer.reply.trim();
    if text.is_empty() || text.chars().count() > 4000 {
        return Err(LlmError::InvalidResponse("the reply is empty or too long".into()).into());
    }
    // Only passages that were retrieved can be cited.
    let mut citations: Vec<String> = answer
        .citations
        .into_iter()
        .map(|c| c.doc_id)
        .filter(|id| a.passages.iter().any(|p| &p.doc_id == id))
        .collect();
    citations.dedup();
    Ok(LlmDraft {
        text: text.to_owned(),
        citations,
        system_prompt: p.system,
        version: p.version,
    })
}
