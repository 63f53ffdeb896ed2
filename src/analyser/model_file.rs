//! The analyser's file format: a magic line, a JSON header (versions,
//! sizes, calibration) and the little-endian f32/u32 arrays; written
//! atomically, refused when truncated, padded or from another version.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use super::features::{BlockWeights, CUES, HASH_DIM};
use super::model::{MODEL_VERSION, TrainedModel, UNUSED};
use super::softmax::Softmax;
use crate::domain::{Intent, Sentiment};

const MAGIC: &[u8] = b"HOLDFAST-ANALYSER\n";

#[derive(Serialize, Deserialize)]
struct Header {
    version: String,
    embedder: String,
    embed_dim: usize,
    hash_dim: usize,
    used: usize,
    blocks: [f32; 4],
    sentiment_temperature: f32,
    intent_temperature: f32,
}

fn put(out: &mut Vec<u8>, xs: &[f32]) {
    for x in xs {
        out.extend_from_slice(&x.to_le_bytes());
    }
}

fn take(bytes: &mut &[u8], n: usize) -> anyhow::Result<Vec<f32>> {
    if bytes.len() < n * 4 {
        bail!("the analyser file is truncated");
    }
    let (head, rest) = bytes.split_at(n * 4);
    *bytes = rest;
    Ok(head
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

fn take_u32(bytes: &mut &[u8], n: usize) -> anyhow::Result<Vec<u32>> {
    if bytes.len() < n * 4 {
        bail!("the analyser file is truncated");
    }
    let (head, rest) = bytes.split_at(n * 4);
    *bytes = rest;
    Ok(head
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

impl TrainedModel {
    /// Writes atomically (temp file + rename).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let b = self.blocks;
        let header = Header {
            version: MODEL_VERSION.to_owned(),
            embedder: self.embedder.clone(),
            embed_dim: self.embed_dim,
            hash_dim: HASH_DIM,
            used: self.used,
            blocks: [b.words, b.chars, b.cues, b.embedding],
            sentiment_temperature: self.sentiment.temperature,
            intent_temperature: self.intent.temperature,
        };
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(serde_json::to_string(&header)?.as_bytes());
        out.push(b'\n');
        put(&mut out, &self.idf);
        for c in &self.columns {
            out.extend_from_slice(&c.to_le_bytes());
        }
        for head in [&self.sentiment, &self.intent] {
            put(&mut out, &head.weights);
            put(&mut out, &head.bias);
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut f =
            std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(&out)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
        Ok(())
    }

    pub fn load(path: &Path) -> anyhow::Result<TrainedModel> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let rest = bytes
            .strip_prefix(MAGIC)
            .with_context(|| format!("{} is not an analyser file", path.display()))?;
        let nl = rest
            .iter()
            .position(|&c| c == b'\n')
            .context("the analyser file has no header")?;
        let h: Header = serde_json::from_slice(&rest[..nl]).context("the analyser header")?;
        if h.version != MODEL_VERSION || h.hash_dim != HASH_DIM {
            bail!("{} was written by analyser {}", path.display(), h.version);
        }
        let mut body = &rest[nl + 1..];
        let dim = h.used + CUES + h.embed_dim;
        let idf = take(&mut body, HASH_DIM)?;
        let columns = take_u32(&mut body, HASH_DIM)?;
        if columns.iter().any(|&c| c != UNUSED && c as usize >= h.used) {
            bail!("{} has a bad column map", path.display());
        }
        let mut head = |classes: usize, temperature: f32| -> anyhow::Result<Softmax> {
            Ok(Softmax {
                classes,
                dim,
                weights: take(&mut body, dim * classes)?,
                bias: take(&mut body, classes)?,
                temperature,
            })
        };
        let sentiment = head(Sentiment::ALL.len(), h.sentiment_temperature)?;
        let intent = head(Intent::ALL.len(), h.intent_temperature)?;
        if !body.is_empty() {
            bail!("{} has trailing bytes", path.display());
        }
        let [words, chars, cues, embedding] = h.blocks;
        Ok(TrainedModel {
            embedder: h.embedder,
            embed_dim: h.embed_dim,
            blocks: BlockWeights {
                words,
                chars,
                cues,
                embedding,
            },
            idf,
            columns,
            used: h.used,
            sentiment,
            intent,
        })
    }
}
