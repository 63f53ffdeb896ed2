//! Holdfast: a self-hosted customer-retention agent.
//!
//! Dependencies point one way: `domain` ← `pipeline` ← adapters (`store`,
//! `http`, `channels`) ← `app`. See ARCHITECTURE.md.

pub mod analyser;
pub mod app;
pub mod bench;
pub mod channels;
pub mod cli;
pub mod clv;
pub mod config;
pub mod demo;
pub mod domain;
pub mod embed;
pub mod http;
pub mod knowledge;
pub mod llm;
pub mod metrics;
pub mod pipeline;
pub mod store;
pub mod telemetry;
pub mod vector;
