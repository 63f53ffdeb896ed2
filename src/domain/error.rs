//! The one error type domain parsers return: which field, and why.

use std::fmt;

/// A value from outside failed validation. `field` names the input field as
/// the caller knows it (`phone`, `occurred_at`, ...) so that an HTTP problem
/// or a CSV line report can point at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DomainError {
    pub field: &'static str,
    pub reason: String,
}

impl DomainError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}
