//! One message in, one reply (or a handover) out.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::domain::{Intent, Lang};
use crate::pipeline::analysis::{self, Analysis, MessageClassifier};
use crate::pipeline::drafting::template::{self, TemplateInput};
use crate::pipeline::grounding::{Evidence, Grounder};
use crate::pipeline::guardrails::{self, Grounding, Violation};
use crate::pipeline::offers::{Catalogue, OfferContext, OfferDecision, OfferPolicy, choose};

use super::Situation;

#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub shop_name: String,
    /// Domains replies may link to.
    pub allowed_domains: Vec<String>,
    /// FAQ answers with high confidence may be sent without a manager.
    pub auto_send_faq: bool,
    /// Analysis and retrieval confidence needed to send on its own.
    pub auto_send_min_confidence: f64,
    /// Below this analysis confidence a manager decides.
    pub min_confidence: f64,
    pub offer_policy: OfferPolicy,
    pub catalogue: Arc<Catalogue>,
    /// Words never to show customers (internal document ids and the like).
    pub internal_terms: Vec<String>,
}

/// Where the reply goes next.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub auto_send: bool,
    /// Why a manager must look (empty when it may go out on its own).
    pub manager_reasons: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub analysis: Analysis,
    pub evidence: Evidence,
    pub offer: OfferDecision,
    pub text: String,
    pub citations: Vec<String>,
    /// `template` or `llm`.
    pub producer: String,
    /// Violations of the first attempt(s), for the record and metrics.
    pub violations: Vec<Violation>,
    pub route: Route,
}

impl Reply {
    /// The provenance stored with the draft.
    pub fn meta(&self) -> Value {
        let titles: Vec<Value> = self
            .citations
            .iter()
            .map(|id| {
                let title = self
                    .evidence
                    .passages
                    .iter()
                    .find(|p| &p.doc_id == id)
                    .map(|p| p.title.clone());
                json!({ "doc_id": id, "title": title })
            })
            .collect();
        let offer = self.offer.offer.as_ref().map(|o| {
            json!({
                "id": o.id, "title": o.title, "terms": o.terms(self.analysis.lang()),
                "priced": o.priced, "cost_minor": o.cost_minor, "needs_confirmation": o.needs_confirmation,
            })
        });
        json!({
            "producer": self.producer,
            "analysis": self.analysis,
            "citations": titles,
            "answerable": self.evidence.answerable,
            "retrieval_confidence": self.evidence.confidence,
            "offer": offer,
            "experiment": { "name": self.offer.experiment, "variant": self.offer.variant, "holdout": self.offer.holdout, "reasons": self.offer.reasons },
            "guardrails": self.violations.iter().map(|v| json!({ "rule": v.rule, "detail": v.detail })).collect::<Vec<_>>(),
            "route": { "auto_send": self.route.auto_send, "manager_reasons": self.route.manager_reasons },
        })
    }
}

pub struct Agent {
    pub classifier: Option<Arc<dyn MessageClassifier>>,
    pub grounder: Option<Arc<dyn Grounder>>,
    pub config: AgentConfig,
}

impl Agent {
    pub async fn respond(&self, s: &Situation) -> anyhow::Result<Reply> {
        let lang = s.lang;
        // 1. Understand.
        let opinion = match &self.classifier {
            Some(c) => match c.classify(&s.text, lang).await {
                Ok(o) => Some((o, c.describe())),
                Err(e) => {
                    tracing::warn!(error = %e, "local analyser failed");
                    None
                }
            },
            None => None,
        };
        let analysis = analysis::combine(
            &s.text,
            lang,
            opinion.as_ref().map(|(o, d)| (o, d.as_str())),
            None,
            &s.behaviour,
        );
        // 2. Find the facts.
        let evidence = match &self.grounder {
            Some(g) => g
                .ground(s.customer, &s.text, lang)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "retrieval failed; answering without grounding");
                    Evidence::default()
                }),
            None => Evidence::default(),
        };
        // 3. An offer, if the phase calls for one.
        let offer = choose(
            &self.config.catalogue,
            &self.offer_context(s, &analysis),
            &self.config.offer_policy,
            lang,
        );
        // 4. Write and check.
        let draft = template::draft(&TemplateInput {
            lang,
            intent: analysis.intent(),
            question: &s.text,
            evidence: &evidence,
            offer: offer.offer.as_ref(),
            shop_name: &self.config.shop_name,
        });
        let facts = self.facts(&evidence, &offer, lang, &draft.phrases);
        let violations = guardrails::check(&draft.text, &self.grounding(s, lang, facts));
        let (text, citations, producer) = if violations.is_empty() {
            (draft.text, draft.citations, "template".to_owned())
        } else {
            // The template only quotes the knowledge base, so this means a
            // passage itself breaks policy: hand over without an answer.
            tracing::warn!(rules = ?violations.iter().map(|v| v.rule).collect::<Vec<_>>(), "template draft failed the policy check");
            (self.handover(lang), Vec::new(), "handover".to_owned())
        };
        let route = self.route(&analysis, &evidence, &offer, &violations, &producer);
        Ok(Reply {
            analysis,
            evidence,
            offer,
            text,
            citations,
            producer,
            violations,
            route,
        })
    }

    fn offer_context(&self, s: &Situation, a: &Analysis) -> OfferContext {
        OfferContext {
            customer: s.customer,
            phase: a.phase(),
            intent: a.intent(),
            active_subscription: s.active_subscription,
            paid_deliveries: s.paid_deliveries,
            orders_12m: s.orders_12m,
            incident_reported: a.intent() == Intent::Complaint,
            segments: s.segments.clone(),
            residual_clv_minor: s.residual_clv_minor,
            history: s.offer_history.clone(),
            now: s.now,
        }
    }

    fn facts(
        &self,
        evidence: &Evidence,
        offer: &OfferDecision,
        lang: Lang,
        phrases: &[String],
    ) -> Vec<String> {
        let mut f: Vec<String> = evidence
            .passages
            .iter()
            .map(|p| format!("{}\n{}", p.title, p.text))
            .collect();
        if let Some(o) = &offer.offer {
            f.push(o.terms(lang));
            f.push(o.title.clone());
        }
        f.extend(phrases.iter().cloned());
        f.push(self.config.shop_name.clone());
        f
    }

    fn grounding<'a>(&'a self, s: &'a Situation, lang: Lang, facts: Vec<String>) -> Grounding<'a> {
        let mut internal = self.config.internal_terms.clone();
        internal.extend(self.config.catalogue.offers.iter().map(|o| o.id.clone()));
        Grounding {
            lang,
            facts,
            customer_message: &s.text,
            customer_phone: s.phone.clone(),
            customer_email: s.email.clone(),
            allowed_domains: &self.config.allowed_domains,
            internal_terms: internal,
            system_prompt: None,
            max_discount_pct: self.config.catalogue.max_discount_pct(),
        }
    }

    fn handover(&self, lang: Lang) -> String {
        match lang {
            Lang::Ru => format!(
                "Здравствуйте! Мы передали ваше сообщение коллеге, он ответит вам в ближайшее время.\n\nКоманда {}",
                self.config.shop_name
            ),
            Lang::En => format!(
                "Hello! We have passed your message to a colleague who will get back to you shortly.\n\nThe team of {}",
                self.config.shop_name
            ),
        }
    }

    fn route(
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
            why.push(format!(
                "the draft broke policy ({}) and was replaced",
                violations
                    .iter()
                    .map(|v| v.rule)
                    .collect::<Vec<_>>()
                    .join(", ")
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
