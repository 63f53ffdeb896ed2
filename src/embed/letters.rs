//! A bag-of-letters embedder: deterministic, instant, no model. Equal texts
//! embed equally and texts sharing words are close, which is all tests of
//! the retrieval plumbing need (and all it is good for).

use async_trait::async_trait;

use crate::pipeline::ports::{EmbedRole, Embedder};

#[derive(Debug, Clone, Copy)]
pub struct LetterEmbedder {
    dim: usize,
}

impl LetterEmbedder {
    pub fn new(dim: usize) -> Self {
        LetterEmbedder { dim: dim.max(1) }
    }
}

#[async_trait]
impl Embedder for LetterEmbedder {
    fn describe(&self) -> String {
        format!("letters-v1-{}", self.dim)
    }
    fn dim(&self) -> usize {
        self.dim
    }
    async fn embed(&self, _role: EmbedRole, texts: Vec<String>) -> anyhow::Result<Vec<Vec<f32>>> {
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0f32; self.dim];
                for c in t.to_lowercase().chars().filter(|c| c.is_alphanumeric()) {
                    v[(c as usize) % self.dim] += 1.0;
                }
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
                v.iter().map(|x| x / n).collect()
            })
            .collect())
    }
}
