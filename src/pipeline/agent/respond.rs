//! One message in, one reply (or a handover) out.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::domain::{Intent, Lang};
use crate::pipeline::analysis::{self, Analysis, MessageClassifier};
use crate::pipeline::drafting::template::{self, TemplateInput};
use crate::pipeline::grounding::{Evidence, Grounder};
use crate::pipeline::guardrails::{self, Grounding, Violation};
use crate::pipeline::offers::{Catalogue, OfferContext, OfferDecision, OfferPolicy, choose};
use crate::pipeline::ports::Llm;

use super::Situation;
use super::llm_path::{self, LlmTuning};

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
    /// Sampling settings for LLM calls.
    pub llm: LlmTuning,
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
    /// `llm`, `template` or `handover`.
    pub producer: String,
    /// Violations of every refused draft, for the record and metrics.
    pub violations: Vec<Violation>,
    /// The refused LLM drafts' texts (evaluations read them; they are
    /// never stored or logged).
    pub rejected: Vec<String>,
    /// What the LLM did, when one is configured.
    pub llm: Option<LlmRecord>,
    pub route: Route,
}

/// The LLM's part in a reply, stored with the draft.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LlmRecord {
    /// Model and endpoint.
    pub model: String,
    pub analysis_prompt: Option<String>,
    pub draft_prompt: Option<String>,
    /// Failed steps and why (`analysis: timeout`), text-free.
    pub errors: Vec<String>,
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
            "llm": self.llm.as_ref().map(|l| json!({
                "model": l.model, "analysis_prompt": l.analysis_prompt,
                "draft_prompt": l.draft_prompt, "errors": l.errors,
            })),
        })
    }
}

pub struct Agent {
    pub classifier: Option<Arc<dyn MessageClassifier>>,
    pub grounder: Option<Arc<dyn Grounder>>,
    /// With an LLM, it analyses (cross-checked locally) and drafts; without
    /// one, the local classifier and the template drafter do.
    pub llm: Option<Arc<dyn Llm>>,
    pub config: AgentConfig,
}

impl Agent {
    pub async fn respond(&self, s: &Situation) -> anyhow::Result<Reply> {
        let lang = s.lang;
        let mut llm_record = self.llm.as_ref().map(|l| LlmRecord {
            model: l.describe(),
            ..Default::default()
        });
        // 1. Understand: the LLM leads when there is one, the local
        // classifier cross-checks it (or stands alone).
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
        let labels = match &self.llm {
            Some(l) => {
                match llm_path::analyse(
                    &**l,
                    &self.config.shop_name,
                    lang,
                    &s.text,
                    self.config.llm,
                )
                .await
                {
                    Ok(x) => Some(x),
                    Err(e) => {
                        tracing::warn!(kind = e.kind(), error = %e, "LLM analysis failed; local analysis used");
                        if let Some(r) = llm_record.as_mut() {
                            r.errors.push(format!("analysis: {}", e.kind()));
                        }
                        None
                    }
                }
            }
            None => None,
        };
        let model = llm_record
            .as_ref()
            .map(|r| r.model.clone())
            .unwrap_or_default();
        let mut analysis = analysis::combine(
            &s.text,
            lang,
            opinion.as_ref().map(|(o, d)| (o, d.as_str())),
            labels
                .as_ref()
                .map(|(l, v)| (l, model.as_str(), v.as_str())),
            &s.behaviour,
        );
        if let Some(r) = llm_record.as_mut() {
            match &labels {
                Some((_, version)) => r.analysis_prompt = Some(version.clone()),
                None => analysis
                    .reasons
                    .push("the LLM gave no usable analysis; the local analyser decided".to_owned()),
            }
        }
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
        // 4. Write and check: the LLM twice at most, then the template.
        let mut violations = Vec::new();
        let mut rejected = Vec::new();
        let mut chosen: Option<(String, Vec<String>)> = None;
        if let (Some(l), Some(record)) = (&self.llm, llm_record.as_mut()) {
            let signature = self.signature(lang);
            let mut ask = llm_path::DraftAsk {
                shop_name: &self.config.shop_name,
                signature: &signature,
                lang,
                intent: &analysis.intent,
                phase: &analysis.phase,
                offer: offer.offer.as_ref().map(|o| o.terms(lang)),
                passages: &evidence.passages,
                history: &evidence.history,
                message: &s.text,
                allowed_domains: &self.config.allowed_domains,
                feedback: None,
            };
            for attempt in 0..2 {
                let d = match llm_path::draft(&**l, &ask, self.config.llm).await {
                    Ok(d) => d,
                    Err(e) => {
                        tracing::warn!(kind = e.kind(), error = %e, "LLM drafting failed; template used");
                        record.errors.push(format!("draft: {}", e.kind()));
                        break;
                    }
                };
                record.draft_prompt = Some(d.version.clone());
                let mut facts = self.facts(&evidence, &offer, lang, &[]);
                facts.push(signature.clone());
                let found = guardrails::check(
                    &d.text,
                    &self.grounding(
                        s,
                        lang,
                        facts,
                        Some(&d.system_prompt),
                        offer.offer.as_ref().map(|o| o.id.as_str()),
                    ),
                );
                if found.is_empty() {
                    chosen = Some((d.text, d.citations));
                    break;
                }
                tracing::warn!(attempt, rules = ?found.iter().map(|v| v.rule).collect::<Vec<_>>(), "LLM draft broke policy");
                ask.feedback = Some(llm_path::feedback(&found));
                violations.extend(found);
                rejected.push(d.text);
            }
        }
        let (text, citations, producer) = match chosen {
            Some((text, citations)) => (text, citations, "llm".to_owned()),
            None => {
                let draft = template::draft(&TemplateInput {
                    lang,
                    intent: analysis.intent(),
                    question: &s.text,
                    evidence: &evidence,
                    offer: offer.offer.as_ref(),
                    shop_name: &self.config.shop_name,
                });
                let facts = self.facts(&evidence, &offer, lang, &draft.phrases);
                let found = guardrails::check(
                    &draft.text,
                    &self.grounding(
                        s,
                        lang,
                        facts,
                        None,
                        offer.offer.as_ref().map(|o| o.id.as_str()),
                    ),
                );
                if found.is_empty() {
                    (draft.text, draft.citations, "template".to_owned())
                } else {
                    // The template only quotes the knowledge base, so this
                    // means a passage itself breaks policy: hand over.
                    tracing::warn!(rules = ?found.iter().map(|v| v.rule).collect::<Vec<_>>(), "template draft failed the policy check");
                    violations.extend(found);
                    (self.handover(lang), Vec::new(), "handover".to_owned())
                }
            }
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
            rejected,
            llm: llm_record,
            route,
        })
    }

    fn signature(&self, lang: Lang) -> String {
        match lang {
            Lang::Ru => format!("Команда {}", self.config.shop_name),
            Lang::En => format!("The team of {}", self.config.shop_name),
        }
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

    fn grounding<'a>(
        &'a self,
        s: &'a Situation,
        lang: Lang,
        facts: Vec<String>,
        system_prompt: Option<&'a str>,
        chosen_offer: Option<&str>,
    ) -> Grounding<'a> {
        let mut internal = self.config.internal_terms.clone();
        internal.extend(self.config.catalogue.offers.iter().map(|o| o.id.clone()));
        let other_offers = self
            .config
            .catalogue
            .offers
            .iter()
            .filter(|o| Some(o.id.as_str()) != chosen_offer)
            .flat_map(|o| [o.title_ru.clone(), o.title_en.clone()])
            .collect();
        Grounding {
            lang,
            facts,
            customer_message: &s.text,
            customer_phone: s.phone.clone(),
            customer_email: s.email.clone(),
            allowed_domains: &self.config.allowed_domains,
            internal_terms: internal,
            system_prompt,
            other_offers,
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
}
