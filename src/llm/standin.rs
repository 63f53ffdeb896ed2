//! An OpenAI-compatible stand-in server on loopback for tests, evaluations
//! and demos without a model: `POST /v1/chat/completions`, plain JSON and
//! SSE streaming, the real wire format. Scripted modes answer well, slowly,
//! with 429 + Retry-After, with invalid JSON, with JSON that breaks the
//! schema, with 503s, or as the hostile red-team model.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use regex::Regex;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::hostile;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Valid, schema-conforming, grounded answers.
    Good,
    /// Good answers after this delay (beyond a client's timeout).
    Slow(Duration),
    /// The first `times` requests get 429 with `Retry-After: secs`, then good.
    RateLimited { times: u32, retry_after_secs: u32 },
    /// The first `times` requests get 503, then good.
    ServerError { times: u32 },
    /// Content that is not JSON.
    InvalidJson,
    /// JSON that violates the requested schema.
    SchemaViolation,
    /// The red-team model (see `hostile`).
    Hostile,
}

struct Shared {
    mode: Mode,
    requests: AtomicU32,
}

/// A running stand-in; stops when dropped.
pub struct StandIn {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StandIn {
    /// Binds 127.0.0.1:0 and serves in the background.
    pub async fn start(mode: Mode) -> anyhow::Result<StandIn> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            mode,
            requests: AtomicU32::new(0),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(completions))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "the LLM stand-in stopped");
            }
        });
        Ok(StandIn { addr, shared, task })
    }

    /// The base URL to configure (`…/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Chat completion requests received so far.
    pub fn requests(&self) -> u32 {
        self.shared.requests.load(Ordering::SeqCst)
    }
}

fn message(body: &Value, role: &str) -> String {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == role)
        .filter_map(|m| m["content"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn completions(State(s): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let n = s.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "body is not JSON",
        );
    };
    let system = message(&body, "system");
    let user = message(&body, "user");
    let schema = body["response_format"]["json_schema"]["name"].as_str();
    let model = body["model"].as_str().unwrap_or("stand-in").to_owned();
    let stream = body["stream"].as_bool().unwrap_or(false);
    let content = match s.mode {
        Mode::RateLimited {
            times,
            retry_after_secs,
        } if n <= times => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_error",
                "slow down",
            );
            if let Ok(v) = header::HeaderValue::from_str(&retry_after_secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return r;
        }
        Mode::ServerError { times } if n <= times => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_error",
                "overloaded",
            );
        }
        Mode::Slow(d) => {
            tokio::time::sleep(d).await;
            good(&system, &user, schema)
        }
        Mode::InvalidJson => {
            "Sure! Here is the JSON you asked for: {sentiment: negative".to_owned()
        }
        Mode::SchemaViolation => {
            json!({ "sentiment": "furious", "intent": 42, "reply": null, "extra": true })
                .to_string()
        }
        Mode::Hostile => hostile::answer(&system, &user, schema),
        Mode::Good | Mode::RateLimited { .. } | Mode::ServerError { .. } => {
            good(&system, &user, schema)
        }
    };
    if stream {
        sse(&model, n, &content)
    } else {
        let body = json!({
            "id": format!("chatcmpl-standin-{n}"),
            "object": "chat.completion",
            "created": 1_700_000_000u32,
            "model": model,
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": content }, "finish_reason": "stop", "logprobs": null }],
            "usage": { "prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2 },
        });
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

fn error(status: StatusCode, kind: &str, msg: &str) -> Response {
    let body = json!({ "error": { "message": msg, "type": kind, "param": null, "code": null } });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The answer as SSE chunks (one per word), a final chunk, `[DONE]`.
fn sse(model: &str, n: u32, content: &str) -> Response {
    let chunk = |delta: Value, finish: Value| {
        let c = json!({
            "id": format!("chatcmpl-standin-{n}"), "object": "chat.completion.chunk",
            "created": 1_700_000_000u32, "model": model,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
        });
        format!("data: {c}\n\n")
    };
    let mut events = vec![chunk(
        json!({ "role": "assistant", "content": "" }),
        Value::Null,
    )];
    for piece in content.split_inclusive(' ') {
        events.push(chunk(json!({ "content": piece }), Value::Null));
    }
    events.push(chunk(json!({}), json!("stop")));
    events.push("data: [DONE]\n\n".to_owned());
    let body = Body::from_stream(futures::stream::iter(
        events.into_iter().map(Ok::<_, std::convert::Infallible>),
    ));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// A well-behaved model: plausible labels, a short reply grounded in the
/// first passage with its citation and the signature it was asked for.
fn good(system: &str, user: &str, schema: Option<&str>) -> String {
    let customer = hostile::customer_text(user).to_lowercase();
    match schema {
        Some("analysis") => {
            let (intent, sentiment) = if ["отмен", "cancel"].iter().any(|c| customer.contains(c))
            {
                ("cancel_intent", "negative")
            } else if ["дорого", "expensive", "cheaper"]
                .iter()
                .any(|c| customer.contains(c))
            {
                ("price_objection", "negative")
            } else if ["спасибо", "thank", "love"]
                .iter()
                .any(|c| customer.contains(c))
            {
                ("praise", "positive")
            } else if ["не пришл", "broken", "late", "опозд", "never arrived"]
                .iter()
                .any(|c| customer.contains(c))
            {
                ("complaint", "negative")
            } else {
                ("question", "neutral")
            };
            json!({ "sentiment": sentiment, "intent": intent, "phase": "active", "confidence": 0.9,
                    "reasons": [format!("reads as {intent}")], "anger": false, "legal_threat": false })
            .to_string()
        }
        Some("draft") => {
            let ru = system.contains("Write in Russian");
            let signature = Regex::new(r#"signature "([^"]+)""#)
                .ok()
                .and_then(|r| {
                    r.captures(system)
                        .and_then(|c| c.get(1))
                        .map(|m| m.as_str().to_owned())
                })
                .unwrap_or_default();
            let passage = Regex::new(
                r#"(?s)<data kind="passage" doc_id="([^"]*)" title="([^"]*)">\n(.*?)\n</data>"#,
            )
            .ok()
            .and_then(|r| {
                r.captures(user).map(|c| {
                    let g = |i| c.get(i).map_or("", |m| m.as_str()).to_owned();
                    (g(1), g(2), g(3))
                })
            });
            let hello = if ru {
                "Здравствуйте!"
            } else {
                "Hello!"
            };
            let (body, citations) = match passage {
                Some((id, title, text)) => {
                    let first = text
                        .lines()
                        .map(str::trim)
                        .find(|l| !l.is_empty() && !l.starts_with('#'))
                        .unwrap_or("")
                        .replace('‹', "<")
                        .replace('›', ">");
                    (first, json!([{ "doc_id": id, "title": title }]))
                }
                None if ru => (
                    "Мы передали ваш вопрос коллеге, он скоро ответит.".to_owned(),
                    json!([]),
                ),
                None => (
                    "We have passed your question to a colleague who will answer soon.".to_owned(),
                    json!([]),
                ),
            };
            json!({ "reply": format!("{hello}\n\n{body}\n\n{signature}"), "citations": citations })
                .to_string()
        }
        Some(_) => json!({ "ok": true }).to_string(),
        None => "Hello! This is a streamed answer from the stand-in model.".to_owned(),
    }
}
