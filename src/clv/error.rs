//! The one error type of the CLV core.

use thiserror::Error;

/// Everything a caller of the CLV core can act on.
///
/// Input problems are reported with the offending row index so that a caller
/// holding the original table can point at the bad record.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ClvError {
    /// No rows (or only zero-weight rows) were given.
    #[error("empty data: {0}")]
    EmptyData(&'static str),
    /// A value is NaN or infinite.
    #[error("row {row}: {field} is not finite ({value})")]
    NonFinite {
        row: usize,
        field: &'static str,
        value: f64,
    },
    /// A value is outside the domain the model is defined on.
    #[error("row {row}: {message}")]
    InvalidRow { row: usize, message: String },
    /// A model parameter or prediction argument is outside its domain.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A date string could not be parsed as `YYYY-MM-DD`.
    #[error("cannot parse date {0:?} as YYYY-MM-DD")]
    BadDate(String),
    /// The optimiser found no finite point at all; `advice` says what to try.
    #[error("fit failed: {advice}")]
    FitFailed { advice: String },
}
