//! The agent's parts from settings: embedder, knowledge base, grounder,
//! local analyser, LLM, and the agent itself.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, LazyLock, Weak};
use std::time::Duration;

use anyhow::Context;
use parking_lot::Mutex;

use crate::config::{EmbedBackend, Settings, VectorBackend};
use crate::llm::{OpenAiLlm, OpenAiOptions};
use crate::pipeline::agent::{Agent, AgentConfig, LlmTuning};
use crate::pipeline::offers::OfferPolicy;
use crate::pipeline::ports::{Embedder, Llm, VectorIndex};

use super::components::catalogue;

/// Embedders alive in this process, by configuration: the analyser, the
/// knowledge base and customer history share one model (one mapped weights
/// file, one query cache, so a message is embedded once, not per reader).
type Shared = HashMap<String, Weak<dyn Embedder>>;
static SHARED: LazyLock<Mutex<Shared>> = LazyLock::new(Default::default);

fn shared_key(e: &crate::config::EmbedSettings) -> String {
    use sha2::Digest;
    let key = hex::encode(sha2::Sha256::digest(e.openai_api_key.expose().as_bytes()));
    format!(
        "{:?}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
        e.backend,
        e.model_dir.display(),
        e.batch,
        e.query_cache,
        e.openai_base_url,
        key,
        e.openai_model,
        e.openai_dim,
        e.openai_query_prefix,
        e.openai_passage_prefix
    )
}

/// The configured embedder, shared with every other user of the same
/// `[embed]` settings in this process. Blocking when local: the first call
/// checks and maps the model file (call from a blocking context or at
/// startup).
pub fn embedder(settings: &Settings) -> anyhow::Result<Arc<dyn Embedder>> {
    let key = shared_key(&settings.embed);
    let mut shared = SHARED.lock();
    if let Some(e) = shared.get(&key).and_then(Weak::upgrade) {
        return Ok(e);
    }
    let e = new_embedder(settings)?;
    shared.retain(|_, w| w.strong_count() > 0);
    shared.insert(key, Arc::downgrade(&e));
    Ok(e)
}

fn new_embedder(settings: &Settings) -> anyhow::Result<Arc<dyn Embedder>> {
    let e = &settings.embed;
    Ok(match e.backend {
        EmbedBackend::Local => Arc::new(crate::embed::LocalE5::load(
            &e.model_dir,
            crate::embed::LocalOptions {
                batch: e.batch,
                query_cache: e.query_cache,
            },
        )?),
        EmbedBackend::Openai => Arc::new(crate::embed::OpenAiEmbedder::new(
            crate::embed::OpenAiOptions {
                base_url: e.openai_base_url.clone(),
                api_key: e.openai_api_key.expose().to_owned(),
                model: e.openai_model.clone(),
                dim: e.openai_dim,
                query_prefix: e.openai_query_prefix.clone(),
                passage_prefix: e.openai_passage_prefix.clone(),
                batch: e.batch,
            },
        )?),
    })
}

/// The configured vector index (`[vector]`): qdrant-edge under
/// `<data dir>/vector`, or a Qdrant server (connected and health-checked
/// here). The knowledge base and the customer history share it.
pub async fn vector_index(
    settings: &Settings,
    data_dir: &Path,
) -> anyhow::Result<Arc<dyn VectorIndex>> {
    let v = &settings.vector;
    Ok(match v.backend {
        VectorBackend::Edge => Arc::new(crate::vector::EdgeIndex::open(&data_dir.join("vector"))?),
        VectorBackend::Server => Arc::new(
            crate::vector::QdrantServerIndex::connect(crate::vector::ServerOptions {
                url: v.url.clone(),
                api_key: (!v.api_key.is_empty()).then(|| v.api_key.expose().to_owned()),
                timeout: Duration::from_millis(v.timeout_ms),
            })
            .await?,
        ),
    })
}

/// The configured embedder, loaded on the blocking pool.
pub async fn load_embedder(settings: &Settings) -> anyhow::Result<Arc<dyn Embedder>> {
    let s = settings.clone();
    tokio::task::spawn_blocking(move || embedder(&s))
        .await
        .context("loading the embedder")?
}

/// The knowledge base over `index` with `embedder`.
pub fn knowledge_base_with(
    settings: &Settings,
    index: Arc<dyn VectorIndex>,
    embedder: Arc<dyn Embedder>,
) -> crate::knowledge::KnowledgeBase {
    let k = &settings.kb;
    crate::knowledge::KnowledgeBase::new(index, Some(embedder), &k.collection)
        .with_chunking(crate::knowledge::ChunkParams {
            target_tokens: k.target_tokens,
            max_tokens: k.max_tokens,
            overlap_tokens: k.overlap_tokens,
        })
        .with_lexicon(lexicon(settings))
}

/// The configured bilingual lexicon, read once per process and path.
/// Without one (none configured, or the file missing or unreadable) the
/// knowledge base runs without cross-lingual BM25 and says so once.
pub fn lexicon(settings: &Settings) -> Option<Arc<crate::knowledge::lexicon::Lexicon>> {
    type Loaded = HashMap<std::path::PathBuf, Option<Arc<crate::knowledge::lexicon::Lexicon>>>;
    static LOADED: LazyLock<Mutex<Loaded>> = LazyLock::new(|| Mutex::new(HashMap::new()));
    let path = &settings.kb.lexicon;
    if path.as_os_str().is_empty() {
        return None;
    }
    LOADED
        .lock()
        .entry(path.clone())
        .or_insert_with(|| {
            let t = std::time::Instant::now();
            match crate::knowledge::lexicon::Lexicon::open(path) {
                Ok(lx) => {
                    let (en, ru) = lx.len();
                    tracing::info!(
                        path = %path.display(),
                        english = en,
                        russian = ru,
                        ms = t.elapsed().as_millis() as u64,
                        "bilingual lexicon loaded (cross-lingual BM25 on)"
                    );
                    Some(Arc::new(lx))
                }
                Err(e) => {
                    tracing::warn!(
                        path = %path.display(),
                        error = format!("{e:#}"),
                        "no bilingual lexicon: cross-lingual retrieval is dense only \
                         (`./run demo` installs one)"
                    );
                    None
                }
            }
        })
        .clone()
}

/// The knowledge base in the configured vector index with the configured
/// embedder (loaded on the blocking pool).
pub async fn knowledge_base(
    settings: &Settings,
    data_dir: &Path,
) -> anyhow::Result<crate::knowledge::KnowledgeBase> {
    let index = vector_index(settings, data_dir).await?;
    let embedder = load_embedder(settings).await?;
    Ok(knowledge_base_with(settings, index, embedder))
}

/// The customer history over `index`; without an embedder it is BM25 only
/// (indexing never waits for the model).
pub fn history(
    settings: &Settings,
    index: Arc<dyn VectorIndex>,
    embedder: Option<Arc<dyn Embedder>>,
) -> crate::knowledge::History {
    crate::knowledge::History::new(index, embedder, &settings.kb.history_collection)
}

/// Retrieval options from `[kb]`.
pub fn search_options(settings: &Settings) -> crate::knowledge::retrieve::SearchOptions {
    let k = &settings.kb;
    crate::knowledge::retrieve::SearchOptions {
        fusion: fusion(settings, k.fusion, k.dense_weight),
        candidates: k.candidates,
        min_dense: k.min_dense,
        agree_margin: k.agree_margin,
        min_coverage: k.min_coverage,
        doc_aggregation: crate::knowledge::retrieve::DocAggregation {
            second: k.doc_second,
        },
        ..Default::default()
    }
}

/// A fusion of `kind` with the `[kb]` constants and this dense weight.
pub fn fusion(
    settings: &Settings,
    kind: crate::config::FusionKind,
    dense_weight: f32,
) -> crate::knowledge::retrieve::Fusion {
    use crate::config::FusionKind;
    use crate::knowledge::retrieve::Fusion;
    match kind {
        FusionKind::Zscores => Fusion::ZScores {
            dense_weight,
            cross_lingual: settings.kb.cross_lingual,
            translated: settings.kb.translated,
        },
        FusionKind::Rrf => Fusion::Rrf {
            k: settings.kb.rrf_k,
            dense_weight,
        },
        FusionKind::Scores => Fusion::Scores { dense_weight },
    }
}

/// The agent's grounder: the knowledge base and the customer's history.
pub fn grounder(
    settings: &Settings,
    kb: crate::knowledge::KnowledgeBase,
    history: crate::knowledge::History,
) -> Arc<dyn crate::pipeline::grounding::Grounder> {
    Arc::new(crate::knowledge::KbGrounder {
        kb,
        options: search_options(settings),
        passages: 3,
        history: Some(history),
        history_k: settings.kb.history_k,
        history_recent: settings.kb.history_recent,
    })
}

/// The local analyser from settings (it loads the embedder and trains or
/// loads its model on first use), or none when disabled.
pub fn local_analyser(settings: &Settings) -> Option<Arc<crate::analyser::LocalAnalyser>> {
    let a = &settings.analyser;
    if !a.enabled {
        return None;
    }
    let s = settings.clone();
    let factory: crate::analyser::EmbedderFactory = Arc::new(move || embedder(&s));
    Some(Arc::new(crate::analyser::LocalAnalyser::new(
        factory,
        &a.training,
        &a.cache_dir,
    )))
}

/// The LLM from `[llm]`: none when `base_url` is empty.
pub fn llm(settings: &Settings) -> anyhow::Result<Option<Arc<dyn Llm>>> {
    let l = &settings.llm;
    if l.base_url.trim().is_empty() {
        return Ok(None);
    }
    let llm = OpenAiLlm::new(OpenAiOptions {
        base_url: l.base_url.trim().to_owned(),
        api_key: secrecy::SecretString::from(l.api_key.expose().to_owned()),
        model: l.model.clone(),
        timeout: Duration::from_secs_f64(l.timeout_secs),
        max_retries: l.max_retries,
        max_retry_after: Duration::from_secs_f64(l.max_retry_after_secs),
        backoff_base: Duration::from_millis(250),
    })
    .context("configuring the LLM ([llm])")?;
    tracing::info!(model = %llm.describe(), "LLM configured");
    Ok(Some(Arc::new(llm)))
}

/// The agent from settings and the available understanding parts.
pub fn agent(settings: &Settings) -> anyhow::Result<Agent> {
    let a = &settings.agent;
    Ok(Agent {
        classifier: local_analyser(settings)
            .map(|a| a as Arc<dyn crate::pipeline::analysis::MessageClassifier>),
        grounder: None,
        llm: llm(settings)?,
        config: AgentConfig {
            shop_name: a.shop_name.clone(),
            allowed_domains: a.allowed_domains.clone(),
            auto_send_faq: a.auto_send_faq,
            auto_send_min_confidence: a.auto_send_min_confidence,
            min_confidence: a.min_confidence,
            offer_policy: OfferPolicy {
                budget_share: a.offer_budget_share,
                holdout_pct: a.offer_holdout_pct,
                experiment: a.offer_experiment.clone(),
            },
            catalogue: Arc::new(catalogue(settings)?),
            internal_terms: Vec::new(),
            llm: LlmTuning {
                temperature: settings.llm.temperature,
                max_tokens: settings.llm.max_tokens,
            },
        },
    })
}
