//! One error type for the HTTP API, rendered as RFC 9457
//! `application/problem+json`. Internal detail is logged in the request's
//! span and never sent to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::pipeline::ingest::IngestError;
use crate::pipeline::ports::StoreError;
use crate::pipeline::records::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{detail}")]
    BadRequest { title: &'static str, detail: String },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// 422: the request is well-formed but its content is invalid.
    #[error("{detail}")]
    Invalid {
        title: &'static str,
        detail: String,
        errors: Vec<FieldError>,
        /// Boxed: keeps every `Result<_, ApiError>` small.
        extra: Option<Box<Value>>,
    },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("send JSON with Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad_json(detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            title: "Malformed JSON",
            detail: detail.into(),
        }
    }

    pub fn invalid(detail: impl Into<String>, errors: Vec<FieldError>) -> Self {
        ApiError::Invalid {
            title: "Invalid input",
            detail: detail.into(),
            errors,
            extra: None,
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::BadRequest { title, .. } => (StatusCode::BAD_REQUEST, "bad-request", title),
            ApiError::Unauthorized(_) => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication required",
            ),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::Invalid { title, .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid", title),
            ApiError::PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Request too large",
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "media-type",
                "Unsupported media type",
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
            ),
            ApiError::Internal(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "internal",
                "Temporarily unable to process the request",
            ),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::NotFound(format!("{what} does not exist")),
            StoreError::InvalidTransition(t) => ApiError::Conflict(t.to_string()),
            StoreError::Conflict(m) => ApiError::Conflict(m),
            StoreError::Other(e) => ApiError::Internal(e),
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::ShuttingDown => {
                ApiError::Unavailable("the server is shutting down; retry".into())
            }
            IngestError::Store(e) => ApiError::Internal(anyhow::anyhow!("{e}")),
        }
    }
}

pub fn problem(
    status: StatusCode,
    slug: &str,
    title: &str,
    detail: &str,
    extra: Option<Value>,
) -> Response {
    let mut body = json!({
        "type": format!("https://holdfast.dev/problems/{slug}"),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    if let (Some(Value::Object(extra)), Value::Object(map)) = (extra, &mut body) {
        map.extend(extra);
    }
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.parts();
        let detail = match &self {
            ApiError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "request failed");
                "an internal error occurred; it was logged. Retry later.".to_owned()
            }
            other => other.to_string(),
        };
        let extra = match self {
            ApiError::Invalid { errors, extra, .. } => {
                let mut m = serde_json::Map::new();
                m.insert(
                    "errors".into(),
                    serde_json::to_value(errors).unwrap_or(Value::Null),
                );
                if let Some(x) = extra
                    && let Value::Object(x) = *x
                {
                    m.extend(x);
                }
                Some(Value::Object(m))
            }
            ApiError::Unauthorized(_) => None,
            _ => None,
        };
        let mut resp = problem(status, slug, title, &detail, extra);
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"holdfast\""),
            );
        }
        resp
    }
}
