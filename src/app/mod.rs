//! Wiring: the only place that names concrete adapters. Builds the store,
//! the ingest lanes, the job handlers and the HTTP server from settings.
//!
//! `components` builds the spine's parts, `understanding` the agent's
//! (embedder, knowledge base, analyser, LLM), `server` the running whole.

mod components;
mod server;
mod understanding;

pub use components::*;
pub use server::*;
pub use understanding::*;
