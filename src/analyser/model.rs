//! The trained analyser: idf, block weights and two softmax heads
//! (sentiment, intent), with fitting and prediction (file format:
//! `model_file`).

use anyhow::bail;

use super::data::LabelledMessage;
use super::features::{self, BlockWeights, CUES, HASH_DIM, RawFeatures, Row};
use super::softmax::{self, Softmax, TrainOptions};
use crate::domain::{Intent, Sentiment};

/// Changes whenever features, training or the file format change, so a
/// cached model from another version is never used.
pub const MODEL_VERSION: &str = "local-analyser-5";

/// Hyperparameters, chosen by cross-validation on the training set
/// (`holdfast eval classify --messages training/messages.jsonl --cv 5`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hyper {
    pub blocks: BlockWeights,
    pub l2_sentiment: f32,
    pub l2_intent: f32,
    pub max_iter: usize,
}

impl Default for Hyper {
    fn default() -> Self {
        Hyper {
            blocks: BlockWeights::default(),
            l2_sentiment: 1e-3,
            l2_intent: 1e-3,
            max_iter: 300,
        }
    }
}

#[derive(Debug, Clone)]
pub struct TrainedModel {
    pub embedder: String,
    pub embed_dim: usize,
    pub blocks: BlockWeights,
    pub idf: Vec<f32>,
    /// Hashed bucket → column, for the buckets seen in training (others
    /// would only ever have zero weight): `UNUSED` elsewhere.
    pub columns: Vec<u32>,
    pub used: usize,
    pub sentiment: Softmax,
    pub intent: Softmax,
}

pub(super) const UNUSED: u32 = u32::MAX;

/// Maps a row over the full hashed space onto the model's columns.
fn compact(columns: &[u32], used: usize, row: &Row) -> Row {
    row.iter()
        .filter_map(|&(i, v)| {
            let i = i as usize;
            if i < HASH_DIM {
                let c = columns[i];
                (c != UNUSED).then_some((c, v))
            } else {
                Some(((used + i - HASH_DIM) as u32, v))
            }
        })
        .collect()
}

/// What the model says about one text.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub sentiment: Vec<f32>,
    pub intent: Vec<f32>,
    /// Words of the text that pushed most towards the chosen intent.
    pub intent_words: Vec<String>,
}

fn train_head(rows: &[Row], y: &[usize], classes: usize, dim: usize, o: TrainOptions) -> Softmax {
    // Calibration: fit on four fifths, choose the temperature on the held-out
    // fifth, then refit on everything and keep that temperature.
    let (mut fit_rows, mut fit_y, mut cal_rows, mut cal_y) = (vec![], vec![], vec![], vec![]);
    for (i, (r, &k)) in rows.iter().zip(y).enumerate() {
        if i % 5 == 4 {
            cal_rows.push(r.clone());
            cal_y.push(k);
        } else {
            fit_rows.push(r.clone());
            fit_y.push(k);
        }
    }
    let (partial, mut full) = rayon::join(
        || softmax::train(&fit_rows, &fit_y, classes, dim, o),
        || softmax::train(rows, y, classes, dim, o),
    );
    let logits: Vec<Vec<f32>> = cal_rows.iter().map(|r| partial.logits(r)).collect();
    full.temperature = if cal_y.is_empty() {
        1.0
    } else {
        softmax::fit_temperature(&logits, &cal_y)
    };
    full
}

impl TrainedModel {
    /// Fits both heads. `embeddings[i]` is the query embedding of
    /// `messages[i].text`. Deterministic.
    pub fn fit(
        messages: &[LabelledMessage],
        embeddings: &[Vec<f32>],
        embedder: &str,
        h: Hyper,
    ) -> anyhow::Result<TrainedModel> {
        if messages.len() != embeddings.len() || messages.is_empty() {
            bail!(
                "{} messages but {} embeddings",
                messages.len(),
                embeddings.len()
            );
        }
        let embed_dim = embeddings[0].len();
        let raws: Vec<RawFeatures> = messages.iter().map(|m| features::raw(&m.text)).collect();
        let idf = features::idf(&raws);
        let full: Vec<Row> = raws
            .iter()
            .zip(embeddings)
            .map(|(r, e)| features::row(r, e, &idf, h.blocks))
            .collect();
        let mut columns = vec![UNUSED; HASH_DIM];
        let mut used = 0usize;
        for r in &full {
            for &(i, _) in r.iter().filter(|(i, _)| (*i as usize) < HASH_DIM) {
                if columns[i as usize] == UNUSED {
                    columns[i as usize] = used as u32;
                    used += 1;
                }
            }
        }
        let rows: Vec<Row> = full.iter().map(|r| compact(&columns, used, r)).collect();
        let dim = used + CUES + embed_dim;
        let ys: Vec<usize> = messages.iter().map(|m| m.sentiment.index()).collect();
        let yi: Vec<usize> = messages.iter().map(|m| m.intent.index()).collect();
        let opts = |l2| TrainOptions {
            l2,
            max_iter: h.max_iter,
            ..TrainOptions::default()
        };
        let (sentiment, intent) = rayon::join(
            || train_head(&rows, &ys, Sentiment::ALL.len(), dim, opts(h.l2_sentiment)),
            || train_head(&rows, &yi, Intent::ALL.len(), dim, opts(h.l2_intent)),
        );
        Ok(TrainedModel {
            embedder: embedder.to_owned(),
            embed_dim,
            blocks: h.blocks,
            idf,
            columns,
            used,
            sentiment,
            intent,
        })
    }

    pub fn predict(&self, text: &str, embedding: &[f32]) -> anyhow::Result<Prediction> {
        if embedding.len() != self.embed_dim {
            bail!(
                "embedding has {} dimensions, the analyser was trained on {}",
                embedding.len(),
                self.embed_dim
            );
        }
        let raw = features::raw(text);
        let full = features::row(&raw, embedding, &self.idf, self.blocks);
        let row = compact(&self.columns, self.used, &full);
        let sentiment = self.sentiment.predict(&row);
        let intent = self.intent.predict(&row);
        let best = argmax(&intent);
        // Word evidence: a word's unigram weight for the chosen intent
        // against the mean over intents, times its value in this row.
        let c = self.intent.classes;
        let mut words: Vec<(f32, String)> = raw
            .tokens
            .iter()
            .filter_map(|(w, b)| {
                let v = full
                    .binary_search_by_key(b, |(i, _)| *i)
                    .ok()
                    .map(|p| full[p].1)?;
                let col = *self.columns.get(*b as usize)?;
                if col == UNUSED {
                    return None;
                }
                let ws = &self.intent.weights[col as usize * c..(col as usize + 1) * c];
                let mean = ws.iter().sum::<f32>() / c as f32;
                Some((v * (ws[best] - mean), w.clone()))
            })
            .filter(|(s, _)| *s > 0.0)
            .collect();
        words.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        words.dedup_by(|a, b| a.1 == b.1);
        Ok(Prediction {
            sentiment,
            intent,
            intent_words: words.into_iter().take(3).map(|(_, w)| w).collect(),
        })
    }
}

pub fn argmax(p: &[f32]) -> usize {
    (0..p.len())
        .max_by(|&a, &b| p[a].total_cmp(&p[b]).then(b.cmp(&a)))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Lang;

    fn sample() -> (Vec<LabelledMessage>, Vec<Vec<f32>>) {
        let texts = [
            (
                "Курьер опоздал на три часа",
                Sentiment::Negative,
                Intent::Complaint,
            ),
            (
                "The beans arrived crushed",
                Sentiment::Negative,
                Intent::Complaint,
            ),
            (
                "Отмените подписку, пожалуйста",
                Sentiment::Neutral,
                Intent::CancelIntent,
            ),
            (
                "Please cancel my subscription",
                Sentiment::Neutral,
                Intent::CancelIntent,
            ),
            (
                "Спасибо, очень вкусно!",
                Sentiment::Positive,
                Intent::Praise,
            ),
            (
                "Thank you, lovely coffee!",
                Sentiment::Positive,
                Intent::Praise,
            ),
        ];
        let msgs = texts
            .iter()
            .enumerate()
            .map(|(i, (t, s, it))| LabelledMessage {
                id: i.to_string(),
                lang: Lang::detect(t),
                text: (*t).to_owned(),
                sentiment: *s,
                intent: *it,
            })
            .collect();
        // Stand-in embeddings: one direction per intent.
        let emb = texts
            .iter()
            .map(|(_, _, it)| {
                let mut v = vec![0.0; 8];
                v[it.index()] = 1.0;
                v
            })
            .collect();
        (msgs, emb)
    }

    #[test]
    fn fits_deterministically_and_survives_a_file_round_trip() {
        let (msgs, emb) = sample();
        let h = Hyper {
            max_iter: 60,
            ..Hyper::default()
        };
        let a = TrainedModel::fit(&msgs, &emb, "stand-in", h).unwrap();
        let b = TrainedModel::fit(&msgs, &emb, "stand-in", h).unwrap();
        assert_eq!(a.intent, b.intent);
        assert_eq!(a.sentiment, b.sentiment);
        let p = a.predict("курьер опоздал", &emb[0]).unwrap();
        assert_eq!(argmax(&p.intent), Intent::Complaint.index());
        assert!(
            p.intent_words
                .iter()
                .any(|w| w == "курьер" || w == "опоздал"),
            "{:?}",
            p.intent_words
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.bin");
        a.save(&path).unwrap();
        let c = TrainedModel::load(&path).unwrap();
        assert_eq!(c.intent, a.intent);
        assert_eq!(c.sentiment, a.sentiment);
        assert_eq!(c.idf, a.idf);
        assert!(a.predict("x", &[0.0; 3]).is_err(), "wrong embedding length");

        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 7]).unwrap();
        assert!(
            TrainedModel::load(&path)
                .unwrap_err()
                .to_string()
                .contains("truncated")
        );
    }
}
