//! CSV import of events and customer profiles. Streams the file one line at
//! a time, imports every good row, rejects every bad one with its line and
//! reason, and is safe to run again on the same file.

mod csv_line;
mod events;
mod profiles;
mod spend;
mod table;

pub use csv_line::{CsvLineError, split};
pub use events::import_events;
pub use profiles::import_customers;
pub use spend::import_spend;

use serde::Serialize;

/// One rejected (or noted) row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    pub line: u64,
    pub error: String,
}

/// What an import did. `errors` lists rejected rows in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub imported: u64,
    /// Rows already imported before (an exact copy): not imported twice.
    pub skipped: u64,
    pub rejected: u64,
    pub errors: Vec<LineError>,
    /// Rows imported with a note (e.g. an identifier conflict recorded).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<LineError>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_columns: Vec<String>,
    pub dry_run: bool,
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub dry_run: bool,
    /// Rows per transaction.
    pub batch: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            dry_run: false,
            batch: 500,
        }
    }
}

/// Errors that stop an import as a whole (a bad row never does).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("line {line}: {source}")]
    Read { line: u64, source: std::io::Error },
    #[error("the file is empty: the first line must name the columns")]
    Empty,
    #[error("line 1: the header cannot be read: {0}")]
    BadHeader(String),
    #[error("line 1: required column {0:?} is missing (columns are named in the first line)")]
    MissingColumn(&'static str),
    #[error("storage failed: {0}")]
    Store(#[from] super::ports::StoreError),
}
