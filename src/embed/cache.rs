//! `DiskCache`: an `Embedder` that remembers vectors on disk, keyed by the
//! model's `describe()`, the role and the SHA-256 of the text. Re-indexing a
//! knowledge base after a chunking change embeds only the texts it has not
//! seen; evaluation runs over the same corpus embed nothing at all.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::pipeline::ports::{EmbedRole, Embedder};

pub struct DiskCache {
    inner: Arc<dyn Embedder>,
    dir: PathBuf,
}

impl DiskCache {
    /// Vectors live under `dir` (created on first write).
    pub fn new(inner: Arc<dyn Embedder>, dir: &Path) -> Self {
        Self {
            inner,
            dir: dir.to_owned(),
        }
    }

    fn path(&self, role: EmbedRole, text: &str) -> PathBuf {
        let mut h = Sha256::new();
        for part in [self.inner.describe().as_str(), role_name(role), text] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(&hex[..2]).join(format!("{}.f32", &hex[2..]))
    }

    fn read(&self, path: &Path) -> Option<Vec<f32>> {
        let bytes = std::fs::read(path).ok()?;
        if bytes.len() != self.inner.dim() * 4 {
            return None;
        }
        Some(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        )
    }

    fn write(path: &Path, v: &[f32]) -> anyhow::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        // Write then rename, so a reader never sees half a vector.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
    }
}

fn role_name(role: EmbedRole) -> &'static str {
    match role {
        EmbedRole::Query => "query",
        EmbedRole::Passage => "passage",
    }
}

#[async_trait]
impl Embedder for DiskCache {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn dim(&self) -> usize {
        self.inner.dim()
    }

    async fn embed(&self, role: EmbedRole, texts: Vec<String>) -> anyhow::Result<Vec<Vec<f32>>> {
        let paths: Vec<PathBuf> = texts.iter().map(|t| self.path(role, t)).collect();
        let mut out: Vec<Option<Vec<f32>>> = paths.iter().map(|p| self.read(p)).collect();
        let missing: Vec<usize> = (0..texts.len()).filter(|&i| out[i].is_none()).collect();
        if !missing.is_empty() {
            let todo = missing.iter().map(|&i| texts[i].clone()).collect();
            let fresh = self.inner.embed(role, todo).await?;
            anyhow::ensure!(
                fresh.len() == missing.len(),
                "the embedder returned {} vectors for {} texts",
                fresh.len(),
                missing.len()
            );
            for (i, v) in missing.into_iter().zip(fresh) {
                Self::write(&paths[i], &v)?;
                out[i] = Some(v);
            }
        }
        out.into_iter()
            .map(|v| v.context("an embedding is missing"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    struct Counting(AtomicUsize);

    #[async_trait]
    impl Embedder for Counting {
        fn describe(&self) -> String {
            "counting".into()
        }
        fn dim(&self) -> usize {
            2
        }
        async fn embed(&self, _: EmbedRole, texts: Vec<String>) -> anyhow::Result<Vec<Vec<f32>>> {
            self.0.fetch_add(texts.len(), Ordering::SeqCst);
            Ok(texts.iter().map(|t| vec![t.len() as f32, 1.0]).collect())
        }
    }

    #[tokio::test]
    async fn embeds_each_text_once_per_role_and_keeps_the_order() {
        let dir = std::env::temp_dir().join(format!("holdfast-ecache-{}", uuid::Uuid::new_v4()));
        let inner = Arc::new(Counting(AtomicUsize::new(0)));
        let c = DiskCache::new(inner.clone(), &dir);
        let a = c
            .embed(EmbedRole::Passage, vec!["ab".into(), "abc".into()])
            .await
            .unwrap();
        let b = c
            .embed(
                EmbedRole::Passage,
                vec!["abc".into(), "x".into(), "ab".into()],
            )
            .await
            .unwrap();
        assert_eq!(inner.0.load(Ordering::SeqCst), 3, "only \"x\" was new");
        assert_eq!(b, vec![a[1].clone(), vec![1.0, 1.0], a[0].clone()]);
        c.embed(EmbedRole::Query, vec!["ab".into()]).await.unwrap();
        assert_eq!(inner.0.load(Ordering::SeqCst), 4, "roles are cached apart");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
