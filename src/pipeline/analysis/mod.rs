//! Understanding a message: sentiment, intent, lifecycle phase, confidence
//! and reasons a manager can read. The local classifier always runs; an LLM,
//! when configured, leads and the classifier cross-checks it.

mod phase;
mod signals;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::{Intent, Lang, Phase, Sentiment};

pub use phase::{Behaviour, decide as decide_phase};
pub use signals::{anger, legal_threat};

/// A classifier's view of a message (the local analyser implements this).
#[derive(Debug, Clone, PartialEq)]
pub struct Opinion {
    pub sentiment: Sentiment,
    pub sentiment_confidence: f64,
    pub intent: Intent,
    pub intent_confidence: f64,
    pub reasons: Vec<String>,
}

#[async_trait]
pub trait MessageClassifier: Send + Sync + 'static {
    /// Names the classifier and its model version, for records.
    fn describe(&self) -> String;
    async fn classify(&self, text: &str, lang: Lang) -> anyhow::Result<Opinion>;
}

/// What an LLM said (already validated against the analysis schema).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LlmLabels {
    pub sentiment: String,
    pub intent: String,
    pub phase: String,
    pub confidence: f64,
    #[serde(default)]
    pub reasons: Vec<String>,
    #[serde(default)]
    pub anger: bool,
    #[serde(default)]
    pub legal_threat: bool,
}

/// The analysis stored with the message and the draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub lang: String,
    pub sentiment: String,
    pub intent: String,
    pub phase: String,
    pub confidence: f64,
    pub reasons: Vec<String>,
    pub anger: bool,
    pub legal_threat: bool,
    /// `local`, `llm`, or `llm+local`.
    pub source: String,
    pub classifier: Option<String>,
    pub prompt_version: Option<String>,
}

impl Analysis {
    pub fn intent(&self) -> Intent {
        Intent::parse(&self.intent).unwrap_or(Intent::Other)
    }
    pub fn phase(&self) -> Phase {
        Phase::parse(&self.phase).unwrap_or(Phase::Active)
    }
    pub fn sentiment(&self) -> Sentiment {
        Sentiment::parse(&self.sentiment).unwrap_or(Sentiment::Neutral)
    }
    pub fn lang(&self) -> Lang {
        Lang::parse(&self.lang).unwrap_or(Lang::En)
    }
}

/// Combines the local opinion, an optional LLM answer and behaviour.
/// Disagreement between the two lowers confidence; the phase always comes
/// from the rules (behaviour + intent), with the LLM's phase as a reason.
pub fn combine(
    text: &str,
    lang: Lang,
    local: Option<(&Opinion, &str)>,
    llm: Option<(&LlmLabels, &str, &str)>,
    behaviour: &Behaviour,
) -> Analysis {
    let mut reasons = Vec::new();
    let (sentiment, intent, mut confidence, source) = match (llm, local) {
        (Some((l, _, _)), local) => {
            let s = Sentiment::parse(&l.sentiment).unwrap_or(Sentiment::Neutral);
            let i = Intent::parse(&l.intent).unwrap_or(Intent::Other);
            let mut c = l.confidence.clamp(0.0, 1.0);
            reasons.extend(l.reasons.iter().take(4).cloned());
            let source = match local {
                Some((o, _)) => {
                    if o.intent != i {
                        c *= 0.6;
                        reasons.push(format!(
                            "the local analyser reads the intent as {}",
                            o.intent
                        ));
                    }
                    if o.sentiment != s {
                        c *= 0.8;
                        reasons.push(format!(
                            "the local analyser reads the sentiment as {}",
                            o.sentiment
                        ));
                    }
                    "llm+local"
                }
                None => "llm",
            };
            (s, i, c, source)
        }
        (None, Some((o, _))) => {
            reasons.extend(o.reasons.iter().take(4).cloned());
            (
                o.sentiment,
                o.intent,
                (o.intent_confidence * o.sentiment_confidence).sqrt(),
                "local",
            )
        }
        (None, None) => {
            reasons.push("no analyser available".to_owned());
            (Sentiment::Neutral, Intent::Other, 0.0, "none")
        }
    };
    let (phase, why) = decide_phase(intent, sentiment, behaviour);
    reasons.extend(why.into_iter().map(|w| format!("phase {phase}: {w}")));
    let angry = anger(text) || llm.is_some_and(|(l, _, _)| l.anger);
    let legal = legal_threat(text) || llm.is_some_and(|(l, _, _)| l.legal_threat);
    if angry {
        reasons.push("sounds angry".to_owned());
        confidence = confidence.min(0.5);
    }
    if legal {
        reasons.push("mentions legal action or a regulator".to_owned());
    }
    Analysis {
        lang: lang.as_str().to_owned(),
        sentiment: sentiment.as_str().to_owned(),
        intent: intent.as_str().to_owned(),
        phase: phase.as_str().to_owned(),
        confidence,
        reasons,
        anger: angry,
        legal_threat: legal,
        source: source.to_owned(),
        classifier: local.map(|(_, d)| d.to_owned()),
        prompt_version: llm.map(|(_, _, v)| v.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opinion(i: Intent) -> Opinion {
        Opinion {
            sentiment: Sentiment::Negative,
            sentiment_confidence: 0.9,
            intent: i,
            intent_confidence: 0.9,
            reasons: vec!["r".into()],
        }
    }

    #[test]
    fn disagreement_lowers_confidence() {
        let b = Behaviour::default();
        let llm = LlmLabels {
            sentiment: "negative".into(),
            intent: "complaint".into(),
            phase: "at_risk".into(),
            confidence: 0.9,
            reasons: vec![],
            anger: false,
            legal_threat: false,
        };
        let agree = combine(
            "x",
            Lang::En,
            Some((&opinion(Intent::Complaint), "local")),
            Some((&llm, "m", "v")),
            &b,
        );
        let disagree = combine(
            "x",
            Lang::En,
            Some((&opinion(Intent::Question), "local")),
            Some((&llm, "m", "v")),
            &b,
        );
        assert!(disagree.confidence < agree.confidence);
        assert_eq!(agree.source, "llm+local");
        assert_eq!(agree.phase, "at_risk");
    }

    #[test]
    fn anger_caps_confidence_and_is_reported() {
        let a = combine(
            "This is UNACCEPTABLE",
            Lang::En,
            Some((&opinion(Intent::Complaint), "l")),
            None,
            &Behaviour::default(),
        );
        assert!(a.anger && a.confidence <= 0.5);
    }
}
