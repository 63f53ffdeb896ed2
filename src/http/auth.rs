//! Who is calling: an API token (`Authorization: Bearer …`) or an HMAC-SHA256
//! signature of the body (`X-Holdfast-Signature: t=<unix>,v1=<hex>`, signed
//! over `"<t>.<body>"`, Stripe-style, with a replay window). Extractors
//! reject; they never fall back to anonymous.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use hmac::{KeyInit, Mac};
use subtle::ConstantTimeEq;

use crate::config::AuthSettings;

use super::error::ApiError;

pub const SIGNATURE_HEADER: &str = "x-holdfast-signature";

#[derive(Clone)]
pub struct AuthConfig {
    pub settings: AuthSettings,
    pub max_body_bytes: usize,
}

impl AuthConfig {
    fn bearer(&self, headers: &HeaderMap) -> Option<Result<String, ApiError>> {
        let value = headers.get(header::AUTHORIZATION)?;
        let Some(token) = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) else {
            return Some(Err(ApiError::Unauthorized(
                "the Authorization header must be `Bearer <token>`".into(),
            )));
        };
        let token = token.trim().as_bytes();
        let mut found = None;
        // Compare against every token, in constant time, so timing says
        // nothing about which prefix matched.
        for t in &self.settings.api_tokens {
            if bool::from(t.token.expose().as_bytes().ct_eq(token)) {
                found = Some(t.name.clone());
            }
        }
        Some(found.ok_or_else(|| ApiError::Unauthorized("unknown API token".into())))
    }

    fn signature(&self, headers: &HeaderMap, body: &[u8]) -> Option<Result<String, ApiError>> {
        let value = headers.get(SIGNATURE_HEADER)?;
        Some(self.verify_signature(value.to_str().unwrap_or(""), body))
    }

    fn verify_signature(&self, header: &str, body: &[u8]) -> Result<String, ApiError> {
        let secret = &self.settings.hmac_secret;
        if secret.is_empty() {
            return Err(ApiError::Unauthorized(
                "signatures are not enabled on this server (auth.hmac_secret)".into(),
            ));
        }
        let mut t = None;
        let mut v1 = None;
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", x)) => t = x.parse::<i64>().ok(),
                Some(("v1", x)) => v1 = hex::decode(x).ok(),
                _ => {}
            }
        }
        let (Some(t), Some(v1)) = (t, v1) else {
            return Err(ApiError::Unauthorized(format!(
                "{SIGNATURE_HEADER} must be `t=<unix seconds>,v1=<hex hmac>`"
            )));
        };
        let now = chrono::Utc::now().timestamp();
        if (now - t).abs() > self.settings.signature_tolerance_secs {
            return Err(ApiError::Unauthorized(
                "the signature timestamp is outside the allowed window".into(),
            ));
        }
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.expose().as_bytes())
            .map_err(|_| ApiError::Unauthorized("signature key unusable".into()))?;
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        mac.verify_slice(&v1)
            .map_err(|_| ApiError::Unauthorized("the signature does not match the body".into()))?;
        Ok("hmac".into())
    }

    fn nothing_configured(&self) -> ApiError {
        if self.settings.api_tokens.is_empty() && self.settings.hmac_secret.is_empty() {
            ApiError::Unauthorized("no API tokens or signing secret are configured on this server; set auth.api_tokens".into())
        } else {
            ApiError::Unauthorized(
                "send `Authorization: Bearer <token>` or a signed request".into(),
            )
        }
    }
}

/// Signs a body the way the server verifies it (for clients and tests).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// The authenticated caller's name (recorded as the actor in audits).
pub struct Actor(pub String);

impl<S> FromRequestParts<S> for Actor
where
    Arc<AuthConfig>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Arc::<AuthConfig>::from_ref(state);
        if let Some(r) = auth.bearer(&parts.headers) {
            return r.map(Actor);
        }
        if let Some(r) = auth.signature(&parts.headers, b"") {
            return r.map(Actor);
        }
        Err(auth.nothing_configured())
    }
}

/// An authenticated JSON body: the raw bytes (signatures cover them) and
/// the caller.
pub struct SignedJson {
    pub actor: String,
    pub body: Bytes,
    pub headers: HeaderMap,
}

impl<S> FromRequest<S> for SignedJson
where
    Arc<AuthConfig>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Arc::<AuthConfig>::from_ref(state);
        let (parts, body) = req.into_parts();
        let is_json = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let v = v
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                v == "application/json" || v.ends_with("+json")
            })
            .unwrap_or(false);
        // Authenticate before reading a large body where a token allows it.
        let bearer = auth.bearer(&parts.headers);
        if let Some(Err(e)) = bearer {
            return Err(e);
        }
        let bytes = axum::body::to_bytes(body, auth.max_body_bytes)
            .await
            .map_err(|_| {
                ApiError::PayloadTooLarge(format!(
                    "the body is larger than {} bytes (server.max_body_bytes)",
                    auth.max_body_bytes
                ))
            })?;
        let actor = match bearer {
            Some(r) => r?,
            None => match auth.signature(&parts.headers, &bytes) {
                Some(r) => r?,
                None => return Err(auth.nothing_configured()),
            },
        };
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        Ok(SignedJson {
            actor,
            body: bytes,
            headers: parts.headers,
        })
    }
}

impl SignedJson {
    /// The body as `T`: malformed JSON is a 400, and a NUL (U+0000) in any
    /// key or string a 422 naming where (no store can keep it; the ingest
    /// records check theirs field by field in `pipeline::parse`).
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ApiError> {
        let value: T =
            serde_json::from_slice(&self.body).map_err(|e| ApiError::bad_json(e.to_string()))?;
        // A NUL can only arrive escaped; most bodies skip the walk.
        if self
            .body
            .windows(6)
            .any(|w| w.eq_ignore_ascii_case(b"\\u0000"))
        {
            let tree: serde_json::Value = serde_json::from_slice(&self.body)
                .map_err(|e| ApiError::bad_json(e.to_string()))?;
            if let Some(field) = nul_at(&tree, String::new()) {
                return Err(ApiError::invalid(
                    "the body contains a NUL character",
                    vec![crate::pipeline::records::FieldError {
                        field,
                        reason: "contains a NUL character (U+0000), which cannot be stored".into(),
                    }],
                ));
            }
        }
        Ok(value)
    }
}

/// The path of the first key or string holding U+0000, if any.
fn nul_at(v: &serde_json::Value, path: String) -> Option<String> {
    use serde_json::Value;
    let here = |p: &str| {
        if p.is_empty() {
            "body".to_owned()
        } else {
            p.to_owned()
        }
    };
    match v {
        Value::String(s) => s.contains('\0').then(|| here(&path)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| nul_at(x, format!("{path}[{i}]"))),
        Value::Object(m) => m.iter().find_map(|(k, x)| {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if k.contains('\0') {
                Some(p)
            } else {
                nul_at(x, p)
            }
        }),
        _ => None,
    }
}
