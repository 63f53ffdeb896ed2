//! The `Llm` port over any OpenAI-compatible `/v1/chat/completions`
//! endpoint through async-openai.
//!
//! Retries are ours, not the library's: its default stack retries 429s for
//! as long as the server's Retry-After says, which would stall a queue
//! worker. Here a thin tower service turns a 429 into an error that keeps
//! the Retry-After value; the call loop waits that long when it is within
//! `max_retry_after` (and gives up otherwise), retries 5xx and connection
//! errors with exponential backoff, and bounds every attempt by `timeout`.
//! A timeout is not retried: a model that is slow now is slow on the next
//! attempt too, and the caller has a local path to fall back on.

use std::future::Future;
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestSystemMessageContent, ChatCompletionRequestUserMessage,
    ChatCompletionRequestUserMessageContent, CreateChatCompletionRequest,
    CreateChatCompletionResponse, ResponseFormat, ResponseFormatJsonSchema,
};
use async_trait::async_trait;
use futures::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::pipeline::ports::{Llm, LlmError, LlmRequest, TextStream};

#[derive(Debug, Clone)]
pub struct OpenAiOptions {
    /// e.g. `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    pub api_key: SecretString,
    pub model: String,
    pub timeout: Duration,
    pub max_retries: u32,
    pub max_retry_after: Duration,
    /// First backoff delay after a transient error (doubles each retry).
    pub backoff_base: Duration,
}

pub struct OpenAiLlm {
    client: Client<OpenAIConfig>,
    options: OpenAiOptions,
}

/// A 429 seen by the transport, with the server's Retry-After.
#[derive(Debug, thiserror::Error)]
#[error("rate limited")]
struct RateLimitSignal(Option<Duration>);

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs: f64 = v.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

impl OpenAiLlm {
    pub fn new(options: OpenAiOptions) -> anyhow::Result<OpenAiLlm> {
        let http = reqwest::Client::builder()
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| anyhow::anyhow!("building the HTTP client: {e}"))?;
        let service = tower::service_fn(move |factory: HttpRequestFactory| {
            let http = http.clone();
            async move {
                let request = factory.build().await?;
                let response = http.execute(request).await.map_err(OpenAIError::Reqwest)?;
                if response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
                    let after = retry_after(response.headers());
                    return Err(OpenAIError::Boxed(Box::new(RateLimitSignal(after))));
                }
                Ok::<_, OpenAIError>(response)
            }
        });
        let config = OpenAIConfig::new()
            .with_api_base(options.base_url.trim_end_matches('/'))
            .with_api_key(options.api_key.expose_secret());
        let client = Client::with_config(config).with_http_service(service);
        Ok(OpenAiLlm { client, options })
    }

    fn request(&self, r: &LlmRequest, structured: bool) -> CreateChatCompletionRequest {
        let messages = vec![
            ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage {
                content: ChatCompletionRequestSystemMessageContent::Text(r.system.clone()),
                name: None,
            }),
            ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage {
                content: ChatCompletionRequestUserMessageContent::Text(r.user.clone()),
                name: None,
            }),
        ];
        CreateChatCompletionRequest {
            messages,
            model: self.options.model.clone(),
            temperature: Some(r.temperature),
            max_completion_tokens: Some(r.max_tokens),
            response_format: structured.then(|| ResponseFormat::JsonSchema {
                json_schema: ResponseFormatJsonSchema {
                    description: None,
                    name: r.schema_name.clone(),
                    schema: r.schema.clone(),
                    strict: Some(true),
                },
            }),
            ..Default::default()
        }
    }

    /// Runs one call with the timeout, Retry-After and backoff policy.
    async fn with_retries<T, F, Fut>(&self, mut call: F) -> Result<T, LlmError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, OpenAIError>>,
    {
        let o = &self.options;
        let mut attempt = 0u32;
        loop {
            let err = match tokio::time::timeout(o.timeout, call()).await {
                Err(_) => return Err(LlmError::Timeout(o.timeout)),
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => classify(e, o.timeout),
            };
            let backoff = o.backoff_base.saturating_mul(1 << attempt.min(10));
            let wait = match &err {
                LlmError::RateLimited { retry_after } => match retry_after {
                    Some(d) if *d > o.max_retry_after => return Err(err),
                    Some(d) => *d,
                    None => backoff,
                },
                LlmError::Http { status, .. } if *status >= 500 => backoff,
                LlmError::Transport(_) => backoff,
                _ => return Err(err),
            };
            if attempt >= o.max_retries {
                return Err(err);
            }
            attempt += 1;
            tracing::debug!(
                attempt,
                kind = err.kind(),
                wait_ms = wait.as_millis() as u64,
                "retrying the model call"
            );
            tokio::time::sleep(wait).await;
        }
    }

    async fn complete_once(&self, r: &LlmRequest) -> Result<Value, LlmError> {
        let req = self.request(r, true);
        let resp: CreateChatCompletionResponse = self
            .with_retries(|| {
                let req = req.clone();
                async move { self.client.chat().create(req).await }
            })
            .await?;
        let choice = resp
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| LlmError::InvalidResponse("no choices".into()))?;
        if choice.message.refusal.is_some() {
            return Err(LlmError::InvalidResponse("the model refused".into()));
        }
        let content = choice
            .message
            .content
            .ok_or_else(|| LlmError::InvalidResponse("no content".into()))?;
        let value: Value = serde_json::from_str(strip_code_fence(&content))
            .map_err(|e| LlmError::InvalidResponse(format!("not JSON ({e})")))?;
        validate(&r.schema, &value)?;
        Ok(value)
    }
}

/// Some local servers wrap JSON in a markdown code fence.
fn strip_code_fence(s: &str) -> &str {
    let t = s.trim();
    let Some(rest) = t.strip_prefix("```") else {
        return t;
    };
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    rest.strip_suffix("```").unwrap_or(rest).trim()
}

/// Validates against the schema; the error names where, not what (the
/// value may hold customer text).
pub fn validate(schema: &Value, value: &Value) -> Result<(), LlmError> {
    let validator = jsonschema::validator_for(schema)
        .map_err(|e| LlmError::InvalidResponse(format!("the request's schema is invalid: {e}")))?;
    let paths: Vec<String> = validator
        .iter_errors(value)
        .take(3)
        .map(|e| {
            let p = e.instance_path().to_string();
            if p.is_empty() { "/".to_owned() } else { p }
        })
        .collect();
    if paths.is_empty() {
        Ok(())
    } else {
        Err(LlmError::InvalidResponse(format!(
            "does not satisfy the schema at {}",
            paths.join(", ")
        )))
    }
}

fn classify(e: OpenAIError, timeout: Duration) -> LlmError {
    match e {
        OpenAIError::Boxed(b) => match b.downcast::<RateLimitSignal>() {
            Ok(s) => LlmError::RateLimited { retry_after: s.0 },
            Err(b) => LlmError::Transport(b.to_string()),
        },
        OpenAIError::ApiError(r) if r.status_code.as_u16() == 429 => {
            LlmError::RateLimited { retry_after: None }
        }
        OpenAIError::ApiError(r) => LlmError::Http {
            status: r.status_code.as_u16(),
            message: r.api_error.message.chars().take(200).collect(),
        },
        OpenAIError::Reqwest(r) if r.is_timeout() => LlmError::Timeout(timeout),
        OpenAIError::Reqwest(r) => LlmError::Transport(r.to_string()),
        OpenAIError::JSONDeserialize(e, _) => {
            LlmError::InvalidResponse(format!("the response envelope is not valid ({e})"))
        }
        OpenAIError::StreamError(e) => LlmError::Transport(format!("stream: {e}")),
        other => LlmError::Transport(other.to_string()),
    }
}

#[async_trait]
impl Llm for OpenAiLlm {
    fn describe(&self) -> String {
        format!("{} at {}", self.options.model, self.options.base_url)
    }

    /// One retry for an answer that does not parse or validate, then an
    /// error; a half-valid answer is never returned.
    async fn complete_json(&self, request: &LlmRequest) -> Result<Value, LlmError> {
        match self.complete_once(request).await {
            Err(LlmError::InvalidResponse(first)) => {
                tracing::debug!(error = %first, "invalid structured answer; asking once more");
                self.complete_once(request).await
            }
            other => other,
        }
    }

    async fn stream_text(&self, request: &LlmRequest) -> Result<TextStream, LlmError> {
        let req = self.request(request, false);
        let stream = self
            .with_retries(|| {
                let req = req.clone();
                async move { self.client.chat().create_stream(req).await }
            })
            .await?;
        let idle = self.options.timeout;
        // Each chunk must arrive within the timeout; the first error ends
        // the stream.
        let deltas = futures::stream::unfold(Some(stream), move |state| async move {
            let mut s = state?;
            loop {
                match tokio::time::timeout(idle, s.next()).await {
                    Err(_) => return Some((Err(LlmError::Timeout(idle)), None)),
                    Ok(None) => return None,
                    Ok(Some(Err(e))) => return Some((Err(classify(e, idle)), None)),
                    Ok(Some(Ok(chunk))) => {
                        let text: String = chunk
                            .choices
                            .iter()
                            .filter_map(|c| c.delta.content.as_deref())
                            .collect();
                        if !text.is_empty() {
                            return Some((Ok(text), Some(s)));
                        }
                    }
                }
            }
        });
        Ok(Box::pin(deltas))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fences_are_stripped_and_schemas_enforced() {
        assert_eq!(strip_code_fence("```json\n{\"a\":1}\n```"), "{\"a\":1}");
        assert_eq!(strip_code_fence(" {\"a\":1} "), "{\"a\":1}");
        let schema = json!({"type":"object","required":["a"],"properties":{"a":{"type":"integer"}},"additionalProperties":false});
        assert!(validate(&schema, &json!({"a": 1})).is_ok());
        let e = validate(&schema, &json!({"a": "secret text"})).unwrap_err();
        assert!(
            e.to_string().contains("/a") && !e.to_string().contains("secret"),
            "{e}"
        );
    }
}
