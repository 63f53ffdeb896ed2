//! Job handlers, one per job kind. Each is idempotent.

mod agent;
mod clv_refit;
mod customer_value;
mod deliver;

pub use agent::{AUTO_ACTOR, AgentHandler};
pub use clv_refit::ClvRefitHandler;
pub use customer_value::CustomerValueHandler;
pub use deliver::{Channels, DeliverHandler};

use anyhow::Context;

use super::queue::Job;
use super::worker::JobError;

/// Reads a UUID field of a job's payload; a malformed payload is permanent.
pub(crate) fn payload_id<T: From<uuid::Uuid>>(job: &Job, field: &str) -> Result<T, JobError> {
    job.payload
        .get(field)
        .and_then(|v| v.as_str())
        .context("missing")
        .and_then(|s| uuid::Uuid::parse_str(s).context("not a UUID"))
        .map(T::from)
        .map_err(|e| JobError::Permanent(e.context(format!("payload field {field:?}"))))
}
