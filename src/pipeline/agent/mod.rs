//! The agent: for one inbound message, understand it, find the facts,
//! choose an offer when the phase calls for one, write a reply, check it
//! against policy, and decide whether it may go out or needs a manager.
//! Store-free, so evaluations can run it on any text.

mod llm_path;
pub mod prompts;
mod respond;
mod route;
mod situation;

pub use llm_path::LlmTuning;
pub use prompts::fence;
pub use respond::{Agent, AgentConfig, LlmRecord, Reply, Route};
pub use situation::{Situation, situation_for};
