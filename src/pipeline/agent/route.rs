//! Where a reply goes: out on its own (a confident, grounded FAQ answer
//! without an offer, when configured) or to a manager with the reasons.

use crate::domain::Intent;
use crate::pipeline::analysis::Analysis;
use crate::pipeline::grounding::Evidence;
use crate::pipeline::guardrails::Violation;
use crate::pipeline::offers::OfferDecision;

use super::{Agent, Route};

impl Agent {
    pub(super) fn route(
        &self,
        a: &Analysis,
        e: &Evidence,
        offer: &OfferDecision,
        violations: &[Violation],
        producer: &str,
    ) -> Route {
        let mut why = Vec::new();
        if a.legal_threat {
            why.push("mentions legal action or a regulator".to_owned());
        }
        if a.anger {
            why.push("the customer sounds angry".to_owned());
        }
        if a.confidence < self.config.min_confidence {
            why.push(format!("low analysis confidence ({:.2})", a.confidence));
        }
        if !e.answerable && matches!(a.intent(), Intent::Question | Intent::BuyingSignal) {
            why.push("the knowledge base has no grounded answer".to_owned());
        }
        if a.intent() == Intent::CancelIntent {
            why.push("a cancellation must be carried out by a person".to_owned());
        }
        if a.intent() == Intent::Complaint {
            why.push("a complaint needs a person to check what happened".to_owned());
        }
        if offer.offer.as_ref().is_some_and(|o| o.needs_confirmation) {
            why.push("the offer needs a confirmed incident".to_owned());
        }
        if !violations.is_empty() {
            let mut rules: Vec<&str> = violations.iter().map(|v| v.rule).collect();
            rules.sort_unstable();
            rules.dedup();
            let what = match producer {
                "llm" => "was rewritten",
                "template" => "was replaced by the template draft",
                _ => "was replaced",
            };
            why.push(format!(
                "a draft broke policy ({}) and {what}",
                rules.join(", ")
            ));
        }
        let faq = a.intent() == Intent::Question
            && e.answerable
            && offer.offer.is_none()
            && producer != "handover"
            && a.confidence >= self.config.auto_send_min_confidence
            && e.confidence >= self.config.auto_send_min_confidence;
        Route {
            auto_send: self.config.auto_send_faq && faq && why.is_empty(),
            manager_reasons: why,
        }
    }
}
