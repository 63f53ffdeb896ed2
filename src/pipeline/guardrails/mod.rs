//! The policy check every draft passes after whatever wrote it (LLM or
//! template): only grounded numbers and catalogue terms, no foreign links
//! or contact data, no claims of completed actions, no adopted personas, no
//! internal or prompt text, the customer's language.

mod lexicon;
mod rules;

pub use rules::{Grounding, Violation, check};
