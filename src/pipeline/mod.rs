//! Use-cases and the ports they need. Depends on `domain` (and the leaf
//! `metrics` registry); adapters implement the ports, `app` wires them.

pub mod agent;
pub mod analysis;
pub mod drafting;
pub mod drafts;
pub mod economics;
pub mod grounding;
pub mod guardrails;
pub mod handlers;
pub mod import;
pub mod ingest;
pub mod offers;
pub mod parse;
pub mod ports;
pub mod queue;
pub mod records;
pub mod routing;
pub mod value;
pub mod views;
pub mod worker;
