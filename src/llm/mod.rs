//! LLM adapters: the OpenAI-compatible client (async-openai), the
//! stand-in server that speaks its wire format on loopback, and the
//! hostile red-team model used to test the guardrails.

pub mod hostile;
pub mod openai;
pub mod standin;

pub use openai::{OpenAiLlm, OpenAiOptions};
pub use standin::{Mode, StandIn};
