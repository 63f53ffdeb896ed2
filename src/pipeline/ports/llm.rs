//! The LLM port: a chat model behind any OpenAI-compatible endpoint.
//! Structured answers are parsed and validated against a JSON schema by the
//! adapter; a caller gets a whole valid value or an error, never half of
//! one.

use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use futures::Stream;
use serde_json::Value;

/// One request: a system prompt, a user prompt and, for structured
/// answers, the schema the answer must satisfy.
#[derive(Debug, Clone)]
pub struct LlmRequest {
    pub system: String,
    pub user: String,
    /// Names the schema (`a-z`, `0-9`, `_`, `-`; sent as the response
    /// format's name).
    pub schema_name: String,
    /// A JSON Schema object; ignored by `stream_text`.
    pub schema: Value,
    pub temperature: f32,
    pub max_tokens: u32,
}

/// Errors a caller acts on. Every one of them means "no answer": callers
/// fall back (local analyser, template drafter) and record why.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// No answer within the configured time.
    #[error("the model did not answer within {0:?}")]
    Timeout(Duration),
    /// Still rate limited after the configured retries.
    #[error("rate limited (retry after {retry_after:?})")]
    RateLimited { retry_after: Option<Duration> },
    /// The answer did not parse or did not satisfy the schema, twice.
    #[error("invalid response: {0}")]
    InvalidResponse(String),
    /// The endpoint answered with an error status.
    #[error("HTTP {status}: {message}")]
    Http { status: u16, message: String },
    /// Connection refused, reset, TLS and the like.
    #[error("transport: {0}")]
    Transport(String),
}

impl LlmError {
    /// A short, text-free label for records and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            LlmError::Timeout(_) => "timeout",
            LlmError::RateLimited { .. } => "rate_limited",
            LlmError::InvalidResponse(_) => "invalid_response",
            LlmError::Http { .. } => "http",
            LlmError::Transport(_) => "transport",
        }
    }
}

/// Text deltas as the model writes them.
pub type TextStream = Pin<Box<dyn Stream<Item = Result<String, LlmError>> + Send>>;

#[async_trait]
pub trait Llm: Send + Sync + 'static {
    /// Model and endpoint, recorded with every analysis and draft.
    fn describe(&self) -> String;
    /// A structured answer that satisfies `request.schema`.
    async fn complete_json(&self, request: &LlmRequest) -> Result<Value, LlmError>;
    /// Free text, streamed (the widget shows it as it comes).
    async fn stream_text(&self, request: &LlmRequest) -> Result<TextStream, LlmError>;
}
