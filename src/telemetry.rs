//! Logging setup. Personal data (phones, emails, message text) is never
//! logged at info or above: use the `redacted()` forms in `domain` when an
//! identifier must appear in a log line.

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, TelemetrySettings};

/// Installs the global subscriber. `RUST_LOG` overrides the configured level.
/// Safe to call more than once (later calls are ignored), which tests need.
pub fn init(settings: &TelemetrySettings) {
    let mut filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{},sqlx=warn,hyper=warn", settings.level)));
    // qdrant-edge warns on every shard open that Qdrant's server-wide
    // feature flags were never set (an embedded shard has none); its
    // defaults are what we want, so the line is noise.
    if let Ok(quiet) = "qdrant_edge::common::flags=error".parse() {
        filter = filter.add_directive(quiet);
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}
