//! Text features beyond the embedding: hashed word uni/bigrams, hashed
//! character n-grams within words, and a few cue counts (question and
//! exclamation marks, negation, money, Russian smileys, shouting). Weighted
//! by sublinear tf × idf learned from the training texts; each block is
//! L2-normalised, scaled, and the e5 embedding is appended as the last block.

use std::collections::HashMap;

/// Buckets of the hashed n-gram space.
pub const HASH_DIM: usize = 1 << 17;
/// Cue features live right after the hashed space.
pub const CUES: usize = 12;

/// Block weights (chosen by cross-validation on the training set).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockWeights {
    pub words: f32,
    pub chars: f32,
    pub cues: f32,
    pub embedding: f32,
}

impl Default for BlockWeights {
    fn default() -> Self {
        BlockWeights {
            words: 1.0,
            chars: 1.0,
            cues: 0.5,
            embedding: 1.5,
        }
    }
}

/// Raw counts of one text: (bucket, count) per block, plus cue values.
#[derive(Debug, Clone, Default)]
pub struct RawFeatures {
    pub words: HashMap<u32, f32>,
    pub chars: HashMap<u32, f32>,
    pub cues: [f32; CUES],
    /// Each word token with its unigram bucket (for reasons).
    pub tokens: Vec<(String, u32)>,
}

/// One row of the design matrix: sorted (index, value) pairs.
pub type Row = Vec<(u32, f32)>;

fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0x1f;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in p.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn bucket(parts: &[&str]) -> u32 {
    (fnv1a(parts) % HASH_DIM as u64) as u32
}

const NEGATIONS: &[&str] = &[
    "не",
    "нет",
    "ни",
    "никогда",
    "ничего",
    "никак",
    "not",
    "no",
    "never",
    "nothing",
    "dont",
    "don't",
    "didn't",
    "didnt",
    "isn't",
    "isnt",
    "wasn't",
    "wasnt",
    "can't",
    "cant",
    "won't",
    "wont",
    "doesn't",
    "doesnt",
    "nobody",
];

fn normalise(text: &str) -> String {
    text.to_lowercase().replace('ё', "е").replace('’', "'")
}

fn words_of(norm: &str) -> Vec<String> {
    norm.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Counts the features of one text (no weighting yet).
pub fn raw(text: &str) -> RawFeatures {
    let norm = normalise(text);
    let words = words_of(&norm);
    let mut f = RawFeatures::default();
    for (i, w) in words.iter().enumerate() {
        let b = bucket(&["w", w]);
        *f.words.entry(b).or_default() += 1.0;
        f.tokens.push((w.clone(), b));
        if let Some(next) = words.get(i + 1) {
            *f.words.entry(bucket(&["b", w, next])).or_default() += 1.0;
        }
        // Character n-grams of the word with boundary marks: catch
        // inflections (опоздал/опоздали) and typos.
        let chars: Vec<char> = format!("<{w}>").chars().collect();
        for n in 3..=5 {
            for g in chars.windows(n) {
                let g: String = g.iter().collect();
                *f.chars.entry(bucket(&["c", &g])).or_default() += 1.0;
            }
        }
    }
    let c = &mut f.cues;
    c[0] = f32::from(text.contains('?'));
    c[1] = (text.matches('!').count() as f32).min(3.0) / 3.0;
    c[2] = f32::from(words.iter().any(|w| NEGATIONS.contains(&w.as_str())));
    c[3] = f32::from(text.contains(['₽', '$', '€', '%']) || norm.contains("руб"));
    c[4] = f32::from(text.contains("))") || text.contains(":)") || text.contains(":-)"));
    c[5] = f32::from(text.contains("((") || text.contains(":("));
    c[6] = f32::from(text.split_whitespace().any(|w| {
        w.chars().filter(|c| c.is_alphabetic()).count() >= 3 && w.chars().all(|c| !c.is_lowercase())
    }));
    c[7] = f32::from(text.chars().any(|c| c.is_ascii_digit()));
    c[8] = (words.len() as f32 / 30.0).min(1.0);
    c[9] = f32::from(words.len() <= 3);
    c[10] = f32::from(text.chars().any(|c| (c as u32) >= 0x1F300));
    c[11] = 1.0;
    f
}

/// Document frequencies → idf per hashed bucket.
pub fn idf(docs: &[RawFeatures]) -> Vec<f32> {
    let mut df = vec![0u32; HASH_DIM];
    for d in docs {
        for b in d.words.keys().chain(d.chars.keys()) {
            df[*b as usize] += 1;
        }
    }
    let n = docs.len() as f32;
    df.into_iter()
        .map(|c| ((1.0 + n) / (1.0 + c as f32)).ln() + 1.0)
        .collect()
}

fn block(counts: &HashMap<u32, f32>, idf: &[f32], weight: f32, out: &mut Row) {
    let mut part: Vec<(u32, f32)> = counts
        .iter()
        .map(|(&b, &c)| (b, (1.0 + c.ln()) * idf[b as usize]))
        .collect();
    // Hash-map order varies between runs; sum in index order so the norm,
    // and so the model, is the same bit for bit every time.
    part.sort_unstable_by_key(|(b, _)| *b);
    let norm = part.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        part.iter_mut().for_each(|(_, v)| *v *= weight / norm);
    }
    out.extend(part);
}

/// The weighted feature row of a text with its (unit) embedding.
pub fn row(f: &RawFeatures, embedding: &[f32], idf: &[f32], w: BlockWeights) -> Row {
    let mut r = Row::with_capacity(f.words.len() + f.chars.len() + CUES + embedding.len());
    block(&f.words, idf, w.words, &mut r);
    block(&f.chars, idf, w.chars, &mut r);
    // Words and char n-grams share the hashed space: merge equal indices.
    r.sort_unstable_by_key(|(i, _)| *i);
    r.dedup_by(|a, b| {
        if a.0 == b.0 {
            b.1 += a.1;
            true
        } else {
            false
        }
    });
    for (k, v) in f.cues.iter().enumerate() {
        if *v != 0.0 {
            r.push(((HASH_DIM + k) as u32, v * w.cues));
        }
    }
    for (k, v) in embedding.iter().enumerate() {
        r.push(((HASH_DIM + CUES + k) as u32, v * w.embedding));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflections_share_character_ngrams_and_cues_fire() {
        let a = raw("Курьер опоздал!!");
        let b = raw("курьеры опоздали?");
        let shared = a.chars.keys().filter(|k| b.chars.contains_key(k)).count();
        assert!(shared >= 4, "{shared}");
        assert_eq!(a.cues[1], 2.0 / 3.0);
        assert_eq!(b.cues[0], 1.0);
        assert_eq!(raw("I don't want it").cues[2], 1.0);
    }

    #[test]
    fn rows_are_sorted_unique_and_blocks_unit_scaled() {
        let docs = vec![raw("hello world"), raw("hello there")];
        let idf = idf(&docs);
        let w = BlockWeights::default();
        let r = row(&docs[0], &[0.6, 0.8], &idf, w);
        assert!(r.windows(2).all(|p| p[0].0 < p[1].0));
        let emb: f32 = r
            .iter()
            .filter(|(i, _)| *i as usize >= HASH_DIM + CUES)
            .map(|(_, v)| v * v)
            .sum();
        assert!((emb.sqrt() - w.embedding).abs() < 1e-5);
    }
}
