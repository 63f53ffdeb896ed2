//! Writing replies: the template drafter (no LLM) and, with an LLM, the
//! prompt-driven writer; both checked by the guardrails afterwards.

pub mod template;
