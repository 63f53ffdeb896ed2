//! `holdfast eval classify`: accuracy, macro-F1 and confusion matrices for
//! sentiment and intent, overall and per language, on any labelled file.
//! `--cv K` instead cross-validates the local analyser on the file itself
//! (how its hyperparameters are chosen, on the training set only).

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::analyser::{
    BlockWeights, Hyper, LabelledMessage, LocalAnalyser, TrainedModel, argmax, read_messages,
};
use crate::cli::{AnalyserKind, EvalClassifyArgs};
use crate::config::Settings;
use crate::domain::{Intent, Lang, Sentiment};
use crate::pipeline::ports::EmbedRole;

/// Gold and predicted label indices of one head.
#[derive(Debug, Clone, Default)]
pub struct Scores {
    pub labels: Vec<&'static str>,
    pub gold: Vec<usize>,
    pub predicted: Vec<usize>,
}

impl Scores {
    fn new(labels: Vec<&'static str>) -> Scores {
        Scores {
            labels,
            ..Scores::default()
        }
    }

    /// Rows are gold labels, columns predicted.
    pub fn confusion(&self) -> Vec<Vec<usize>> {
        let k = self.labels.len();
        let mut m = vec![vec![0; k]; k];
        for (&g, &p) in self.gold.iter().zip(&self.predicted) {
            m[g][p] += 1;
        }
        m
    }

    pub fn accuracy(&self) -> f64 {
        let right = self
            .gold
            .iter()
            .zip(&self.predicted)
            .filter(|(g, p)| g == p)
            .count();
        right as f64 / self.gold.len().max(1) as f64
    }

    /// Per-class F1 (classes absent from both gold and predictions are
    /// left out of the macro average).
    pub fn f1(&self) -> Vec<Option<f64>> {
        let m = self.confusion();
        (0..self.labels.len())
            .map(|c| {
                let tp = m[c][c] as f64;
                let gold: usize = m[c].iter().sum();
                let pred: usize = m.iter().map(|r| r[c]).sum();
                if gold + pred == 0 {
                    return None;
                }
                Some(2.0 * tp / (gold + pred) as f64)
            })
            .collect()
    }

    pub fn macro_f1(&self) -> f64 {
        let f: Vec<f64> = self.f1().into_iter().flatten().collect();
        f.iter().sum::<f64>() / f.len().max(1) as f64
    }

    fn json(&self) -> Value {
        let per_class: serde_json::Map<String, Value> = self
            .labels
            .iter()
            .zip(self.f1())
            .map(|(l, f)| ((*l).to_owned(), json!(f)))
            .collect();
        json!({
            "n": self.gold.len(),
            "accuracy": self.accuracy(),
            "macro_f1": self.macro_f1(),
            "f1": per_class,
            "labels": self.labels,
            "confusion": self.confusion(),
        })
    }
}

fn heads() -> (Scores, Scores) {
    (
        Scores::new(Sentiment::ALL.iter().map(|s| s.as_str()).collect()),
        Scores::new(Intent::ALL.iter().map(|s| s.as_str()).collect()),
    )
}

/// The figures for predictions `(sentiment, intent)` per message.
pub fn report(messages: &[LabelledMessage], predicted: &[(usize, usize)], analyser: &str) -> Value {
    let head_json = |pick: fn(&LabelledMessage) -> usize, which: usize| {
        let mut by_lang = serde_json::Map::new();
        let mut overall = if which == 0 { heads().0 } else { heads().1 };
        for lang in Lang::ALL {
            let mut s = if which == 0 { heads().0 } else { heads().1 };
            for (m, p) in messages.iter().zip(predicted) {
                let p = if which == 0 { p.0 } else { p.1 };
                if m.lang == *lang {
                    s.gold.push(pick(m));
                    s.predicted.push(p);
                }
            }
            if !s.gold.is_empty() {
                by_lang.insert(lang.as_str().to_owned(), s.json());
            }
        }
        for (m, p) in messages.iter().zip(predicted) {
            overall.gold.push(pick(m));
            overall.predicted.push(if which == 0 { p.0 } else { p.1 });
        }
        json!({"overall": overall.json(), "by_lang": by_lang})
    };
    let sentiment = head_json(|m| m.sentiment.index(), 0);
    let intent = head_json(|m| m.intent.index(), 1);
    json!({
        "messages": messages.len(),
        "analyser": analyser,
        "sentiment": sentiment,
        "intent": intent,
    })
}

fn parse_hyper(spec: Option<&str>) -> anyhow::Result<Hyper> {
    let mut h = Hyper::default();
    let Some(spec) = spec else { return Ok(h) };
    for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = part
            .split_once('=')
            .with_context(|| format!("--hyper: {part:?} is not key=value"))?;
        let v: f32 = v
            .trim()
            .parse()
            .with_context(|| format!("--hyper: {part:?}"))?;
        let b: &mut BlockWeights = &mut h.blocks;
        match k.trim() {
            "words" => b.words = v,
            "chars" => b.chars = v,
            "cues" => b.cues = v,
            "emb" => b.embedding = v,
            "l2s" => h.l2_sentiment = v,
            "l2i" => h.l2_intent = v,
            "iter" => h.max_iter = v as usize,
            other => {
                bail!("--hyper: unknown key {other:?} (words, chars, cues, emb, l2s, l2i, iter)")
            }
        }
    }
    Ok(h)
}

pub async fn run(args: &EvalClassifyArgs, settings: &Settings) -> anyhow::Result<Value> {
    if args.analyser == AnalyserKind::Llm {
        bail!(
            "no LLM configured: `--analyser llm` needs an LLM client, which this build does not have yet; use `--analyser local`"
        );
    }
    let messages = read_messages(&args.messages)?;
    let hyper = parse_hyper(args.hyper.as_deref())?;
    let training = args
        .training
        .clone()
        .unwrap_or_else(|| settings.analyser.training.clone());
    let s = settings.clone();
    let analyser = LocalAnalyser::new(
        std::sync::Arc::new(move || crate::app::embedder(&s)),
        &training,
        &settings.analyser.cache_dir,
    )
    .with_hyper(hyper);
    if let Some(k) = args.cv {
        return cross_validate(&analyser, &messages, k, hyper).await;
    }
    let (embedder, model) = analyser.ready().await?;
    let embeddings = embedder
        .embed(
            EmbedRole::Query,
            messages.iter().map(|m| m.text.clone()).collect(),
        )
        .await?;
    let predicted = predict_all(model, &messages, &embeddings)?;
    Ok(report(
        &messages,
        &predicted,
        &format!("local ({})", crate::analyser::MODEL_VERSION),
    ))
}

fn predict_all(
    model: &TrainedModel,
    messages: &[LabelledMessage],
    embeddings: &[Vec<f32>],
) -> anyhow::Result<Vec<(usize, usize)>> {
    messages
        .iter()
        .zip(embeddings)
        .map(|(m, e)| {
            let p = model.predict(&m.text, e)?;
            Ok((argmax(&p.sentiment), argmax(&p.intent)))
        })
        .collect()
}

async fn cross_validate(
    analyser: &LocalAnalyser,
    messages: &[LabelledMessage],
    k: usize,
    hyper: Hyper,
) -> anyhow::Result<Value> {
    if k < 2 || k > messages.len() {
        bail!("--cv must be between 2 and the number of messages");
    }
    let embedder = analyser.embedder().await?;
    let embeddings = analyser.training_embeddings(embedder, messages).await?;
    let describe = embedder.describe();
    let (messages_v, embeddings_v) = (messages.to_vec(), embeddings);
    let predicted = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<(usize, usize)>> {
        let mut predicted = vec![(0, 0); messages_v.len()];
        for fold in 0..k {
            let (mut tm, mut te) = (Vec::new(), Vec::new());
            for (i, (m, e)) in messages_v.iter().zip(&embeddings_v).enumerate() {
                if i % k != fold {
                    tm.push(m.clone());
                    te.push(e.clone());
                }
            }
            let model = TrainedModel::fit(&tm, &te, &describe, hyper)?;
            for (i, (m, e)) in messages_v.iter().zip(&embeddings_v).enumerate() {
                if i % k == fold {
                    let p = model.predict(&m.text, e)?;
                    predicted[i] = (argmax(&p.sentiment), argmax(&p.intent));
                }
            }
        }
        Ok(predicted)
    })
    .await
    .context("cross-validation panicked")??;
    Ok(report(
        messages,
        &predicted,
        &format!("local, {k}-fold cross-validation, {hyper:?}"),
    ))
}

/// The report as text.
pub fn render(r: &Value) -> String {
    let mut out = format!(
        "{} messages, analyser {}\n",
        r["messages"],
        r["analyser"].as_str().unwrap_or("")
    );
    for head in ["sentiment", "intent"] {
        let h = &r[head];
        let o = &h["overall"];
        out += &format!(
            "\n{head}: accuracy {:.3}, macro-F1 {:.3}\n",
            o["accuracy"].as_f64().unwrap_or(0.0),
            o["macro_f1"].as_f64().unwrap_or(0.0)
        );
        for (lang, l) in h["by_lang"].as_object().into_iter().flatten() {
            out += &format!(
                "  {lang}: accuracy {:.3}, macro-F1 {:.3} ({} messages)\n",
                l["accuracy"].as_f64().unwrap_or(0.0),
                l["macro_f1"].as_f64().unwrap_or(0.0),
                l["n"]
            );
        }
        let labels: Vec<&str> = o["labels"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        out += "  confusion (rows: gold, columns: predicted)\n";
        out += &format!("  {:>16}", "");
        for l in &labels {
            out += &format!(" {:>6.6}", l);
        }
        out += "\n";
        for (l, row) in labels
            .iter()
            .zip(o["confusion"].as_array().into_iter().flatten())
        {
            out += &format!("  {l:>16}");
            for c in row.as_array().into_iter().flatten() {
                out += &format!(" {:>6}", c.as_u64().unwrap_or(0));
            }
            out += "\n";
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macro_f1_and_confusion_by_hand() {
        let s = Scores {
            labels: vec!["a", "b", "c"],
            gold: vec![0, 0, 1, 1, 2],
            predicted: vec![0, 1, 1, 1, 0],
        };
        assert_eq!(
            s.confusion(),
            vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 0]]
        );
        assert!((s.accuracy() - 0.6).abs() < 1e-12);
        // a: 2·1/(2+2)=0.5, b: 2·2/(2+3)=0.8, c: 0
        assert!((s.macro_f1() - (0.5 + 0.8 + 0.0) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn hyper_specs_parse_and_reject_unknown_keys() {
        let h = parse_hyper(Some("emb=2,l2i=0.01")).unwrap();
        assert_eq!(h.blocks.embedding, 2.0);
        assert_eq!(h.l2_intent, 0.01);
        assert!(parse_hyper(Some("bogus=1")).is_err());
        assert!(parse_hyper(Some("emb")).is_err());
    }

    #[test]
    fn report_splits_by_language() {
        let m = |lang, s, i| LabelledMessage {
            id: "x".into(),
            lang,
            text: "t".into(),
            sentiment: s,
            intent: i,
        };
        let msgs = vec![
            m(Lang::Ru, Sentiment::Negative, Intent::Complaint),
            m(Lang::En, Sentiment::Positive, Intent::Praise),
        ];
        let pred = vec![
            (Sentiment::Negative.index(), Intent::Complaint.index()),
            (Sentiment::Neutral.index(), Intent::Praise.index()),
        ];
        let r = report(&msgs, &pred, "test");
        assert_eq!(r["intent"]["overall"]["accuracy"], 1.0);
        assert_eq!(r["sentiment"]["by_lang"]["ru"]["accuracy"], 1.0);
        assert_eq!(r["sentiment"]["by_lang"]["en"]["accuracy"], 0.0);
        assert!(render(&r).contains("macro-F1"));
    }
}
