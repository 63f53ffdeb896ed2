//! Embedders (adapters for `pipeline::ports::Embedder`): the in-process
//! multilingual-e5-small engine and any OpenAI-compatible endpoint.

mod cache;
mod engine;
mod letters;
mod local;
mod openai;

pub use cache::DiskCache;
pub use engine::{E5Engine, MODEL_FILE, MODEL_NAME, MODEL_SHA256};
pub use letters::LetterEmbedder;
pub use local::{LocalE5, LocalOptions};
pub use openai::{OpenAiEmbedder, OpenAiOptions};

/// Cosine similarity of two vectors (dot product of unit vectors).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na < 1e-12 || nb < 1e-12 {
        0.0
    } else {
        dot / (na * nb)
    }
}
