//! JSON shapes of the API. Domain and view types convert into these; nothing
//! else in the crate derives Serialize for the wire.

mod customers;
mod ingest;
mod work;

use serde_json::Value;

use crate::pipeline::records::FieldError;

pub use customers::*;
pub use ingest::*;
pub use work::*;

/// A JSON scalar that may arrive as a string or a number (amounts, ids).
fn scalar(v: Option<Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Turns a serde error on one item into the field-level form.
pub fn json_error(e: &serde_json::Error) -> FieldError {
    let msg = e.to_string();
    let field = msg
        .split('`')
        .nth(1)
        .filter(|_| msg.starts_with("unknown field") || msg.starts_with("missing field"))
        .unwrap_or("body")
        .to_owned();
    FieldError { field, reason: msg }
}
