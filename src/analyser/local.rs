//! `LocalAnalyser`: the `MessageClassifier` that needs no LLM and no
//! network. Trains on first use from the project's labelled examples and
//! caches the model in a file keyed by the training data and versions.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context;
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::data::{LabelledMessage, read_messages};
use super::model::{Hyper, MODEL_VERSION, TrainedModel, argmax};
use crate::domain::{Intent, Lang, Sentiment};
use crate::pipeline::analysis::{MessageClassifier, Opinion};
use crate::pipeline::ports::{EmbedRole, Embedder};

/// Builds the embedder on first use (loading a local model is blocking and
/// may fail; an agent without it still works, with a warning per message).
pub type EmbedderFactory = Arc<dyn Fn() -> anyhow::Result<Arc<dyn Embedder>> + Send + Sync>;

pub struct LocalAnalyser {
    factory: EmbedderFactory,
    training: PathBuf,
    cache_dir: PathBuf,
    hyper: Hyper,
    embedder: OnceCell<Arc<dyn Embedder>>,
    ready: OnceCell<(Arc<dyn Embedder>, Arc<TrainedModel>)>,
}

/// Models already loaded or trained in this process, by cache key.
fn loaded() -> &'static Mutex<HashMap<String, Arc<TrainedModel>>> {
    static LOADED: OnceLock<Mutex<HashMap<String, Arc<TrainedModel>>>> = OnceLock::new();
    LOADED.get_or_init(Default::default)
}

impl LocalAnalyser {
    pub fn new(factory: EmbedderFactory, training: &Path, cache_dir: &Path) -> LocalAnalyser {
        LocalAnalyser {
            factory,
            training: training.to_owned(),
            cache_dir: cache_dir.to_owned(),
            hyper: Hyper::default(),
            embedder: OnceCell::new(),
            ready: OnceCell::new(),
        }
    }

    /// Trains with other hyperparameters (cross-validation).
    pub fn with_hyper(mut self, hyper: Hyper) -> LocalAnalyser {
        self.hyper = hyper;
        self
    }

    /// The embedder, built once.
    pub async fn embedder(&self) -> anyhow::Result<&Arc<dyn Embedder>> {
        self.embedder
            .get_or_try_init(|| async {
                let factory = self.factory.clone();
                tokio::task::spawn_blocking(move || factory())
                    .await
                    .context("loading the embedder panicked")?
            })
            .await
    }

    /// The embedder and the trained model, loading or training them once.
    pub async fn ready(&self) -> anyhow::Result<&(Arc<dyn Embedder>, Arc<TrainedModel>)> {
        self.ready
            .get_or_try_init(|| async {
                let embedder = self.embedder().await?.clone();
                let model = self.model(&embedder).await?;
                Ok((embedder, model))
            })
            .await
    }

    async fn model(&self, embedder: &Arc<dyn Embedder>) -> anyhow::Result<Arc<TrainedModel>> {
        let body = tokio::fs::read(&self.training).await.with_context(|| {
            format!(
                "reading the analyser's training file {}",
                self.training.display()
            )
        })?;
        let mut h = Sha256::new();
        h.update(&body);
        h.update(MODEL_VERSION.as_bytes());
        h.update(embedder.describe().as_bytes());
        h.update(format!("{:?}", self.hyper).as_bytes());
        let key = hex::encode(&h.finalize()[..12]);
        if let Some(m) = loaded().lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(m);
        }
        // One load-or-train at a time per process: many agents starting at
        // once (tests, several workers) must not all train the same model.
        static TRAINING: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();
        let _one = TRAINING.get_or_init(Default::default).lock().await;
        if let Some(m) = loaded().lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(m);
        }
        let path = self.cache_dir.join(format!("{MODEL_VERSION}-{key}.bin"));
        let cached = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || path.is_file().then(|| TrainedModel::load(&path)))
                .await
                .context("loading the analyser panicked")?
        };
        let model = match cached {
            Some(Ok(m)) if m.embedder == embedder.describe() => m,
            other => {
                if let Some(Err(e)) = other {
                    tracing::warn!(error = %e, "cached analyser unreadable; retraining");
                }
                self.train(embedder, &path).await?
            }
        };
        let model = Arc::new(model);
        if let Ok(mut m) = loaded().lock() {
            m.insert(key, model.clone());
        }
        Ok(model)
    }

    /// Query embeddings of the training texts, cached beside the models
    /// (retraining with other hyperparameters then costs no embedding).
    pub async fn training_embeddings(
        &self,
        embedder: &Arc<dyn Embedder>,
        messages: &[LabelledMessage],
    ) -> anyhow::Result<Vec<Vec<f32>>> {
        let mut h = Sha256::new();
        for m in messages {
            h.update(m.text.as_bytes());
            h.update([0u8]);
        }
        h.update(embedder.describe().as_bytes());
        let path = self.cache_dir.join(format!(
            "embeddings-{}.f32",
            hex::encode(&h.finalize()[..12])
        ));
        let dim = embedder.dim();
        if let Ok(bytes) = tokio::fs::read(&path).await
            && bytes.len() == messages.len() * dim * 4
        {
            return Ok(bytes
                .chunks_exact(dim * 4)
                .map(|v| {
                    v.chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect()
                })
                .collect());
        }
        let texts = messages.iter().map(|m| m.text.clone()).collect();
        let embeddings = embedder
            .embed(EmbedRole::Query, texts)
            .await
            .context("embedding the training messages")?;
        let bytes: Vec<u8> = embeddings
            .iter()
            .flatten()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let written = async {
            tokio::fs::create_dir_all(&self.cache_dir).await?;
            tokio::fs::write(&tmp, &bytes).await?;
            tokio::fs::rename(&tmp, &path).await
        };
        if let Err(e) = written.await {
            tracing::warn!(error = %e, "could not cache the training embeddings");
        }
        Ok(embeddings)
    }

    async fn train(
        &self,
        embedder: &Arc<dyn Embedder>,
        path: &Path,
    ) -> anyhow::Result<TrainedModel> {
        let started = std::time::Instant::now();
        let messages = read_messages(&self.training)?;
        let embeddings = self.training_embeddings(embedder, &messages).await?;
        let (describe, hyper, path_owned) = (embedder.describe(), self.hyper, path.to_owned());
        let model = tokio::task::spawn_blocking(move || -> anyhow::Result<TrainedModel> {
            let m = TrainedModel::fit(&messages, &embeddings, &describe, hyper)?;
            if let Err(e) = m.save(&path_owned) {
                tracing::warn!(error = %e, "could not cache the trained analyser");
            }
            Ok(m)
        })
        .await
        .context("training the analyser panicked")??;
        tracing::info!(
            secs = started.elapsed().as_secs_f64(),
            path = %path.display(),
            "local analyser trained"
        );
        Ok(model)
    }
}

#[async_trait]
impl MessageClassifier for LocalAnalyser {
    fn describe(&self) -> String {
        MODEL_VERSION.to_owned()
    }

    async fn classify(&self, text: &str, _lang: Lang) -> anyhow::Result<Opinion> {
        let (embedder, model) = self.ready().await?;
        let embedding = embedder
            .embed(EmbedRole::Query, vec![text.to_owned()])
            .await?
            .pop()
            .context("the embedder returned nothing")?;
        let p = model.predict(text, &embedding)?;
        let (si, ii) = (argmax(&p.sentiment), argmax(&p.intent));
        let sentiment = Sentiment::ALL
            .get(si)
            .copied()
            .unwrap_or(Sentiment::Neutral);
        let intent = Intent::ALL.get(ii).copied().unwrap_or(Intent::Other);
        let mut reasons = vec![format!(
            "local analyser: intent {intent} ({:.0}%), sentiment {sentiment} ({:.0}%)",
            p.intent[ii] * 100.0,
            p.sentiment[si] * 100.0
        )];
        if !p.intent_words.is_empty() {
            reasons.push(format!(
                "words pointing to {intent}: {}",
                p.intent_words.join(", ")
            ));
        }
        Ok(Opinion {
            sentiment,
            sentiment_confidence: f64::from(p.sentiment[si]),
            intent,
            intent_confidence: f64::from(p.intent[ii]),
            reasons,
        })
    }
}
