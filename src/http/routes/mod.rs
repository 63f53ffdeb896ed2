//! One `router()` per feature.

pub mod customers;
pub mod drafts;
pub mod economics;
pub mod health;
pub mod ingest;
pub mod jobs;

use serde::Deserialize;

use crate::domain::DomainError;
use crate::http::error::ApiError;

/// `?state=…&limit=…` of the list endpoints.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub state: Option<String>,
    pub limit: Option<usize>,
}

impl ListQuery {
    /// The parsed state filter and a limit clamped to 1..=1000 (default 100).
    pub fn parse<S>(
        &self,
        parse: impl Fn(&str) -> Result<S, DomainError>,
    ) -> Result<(Option<S>, usize), ApiError> {
        let state = self
            .state
            .as_deref()
            .map(parse)
            .transpose()
            .map_err(|e| ApiError::invalid(e.to_string(), vec![e.into()]))?;
        Ok((state, self.limit.unwrap_or(100).clamp(1, 1000)))
    }
}
