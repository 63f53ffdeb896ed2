//! A bilingual lexicon for cross-lingual BM25: English ↔ Russian stems read
//! from a dictionary in the dictd format (an English–Russian one such as
//! Mueller's, which `./run` installs from Debian's `mueller7-dict`; Russian
//! → English is its inverse). A question's terms become a weighted BM25
//! query in the other language, so a document written in Russian can match
//! an English question word for word, not only through the dense vectors.
//!
//! Translations are stems as `bm25::terms` makes them, weighted by the rank
//! of the sense they come from (a word's first sense counts most).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use anyhow::Context;

use super::bm25;
use crate::pipeline::ports::SparseVec;

/// Stem → (other language's term id, weight), best first.
type Table = HashMap<String, Vec<(u32, f32)>>;

#[derive(Debug, Default)]
pub struct Lexicon {
    en_ru: Table,
    ru_en: Table,
}

/// One source term of a question and its translations.
#[derive(Debug, Clone, PartialEq)]
pub struct Translated {
    pub term: String,
    /// (term id in the other language, weight), best first.
    pub targets: Vec<(u32, f32)>,
}

fn is_cyrillic(c: char) -> bool {
    ('\u{400}'..='\u{4ff}').contains(&c)
}

/// Strips `(…)` groups (also nested) from a line.
fn without_parens(s: &str) -> String {
    let mut depth = 0usize;
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// A sense marker at the start of a line: "1)", "2.", "а)"; the sense's
/// number when it is a numbered one.
fn sense_marker(line: &str) -> (Option<usize>, &str) {
    let digits: String = line.chars().take_while(char::is_ascii_digit).collect();
    if !digits.is_empty() {
        let rest = &line[digits.len()..];
        if let Some(r) = rest.strip_prefix(')').or_else(|| rest.strip_prefix('.')) {
            return (digits.parse().ok(), r);
        }
    }
    let mut cs = line.chars();
    if let (Some(c), Some(')')) = (cs.next(), cs.next())
        && is_cyrillic(c)
    {
        return (None, cs.as_str());
    }
    (None, line)
}

/// The Russian translations of one dictionary entry (its lines after the
/// headword) as (stem, sense number from 1).
fn entry_translations(lines: &[&str]) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut sense = 1usize;
    for raw in lines {
        let mut line = raw.trim();
        // Transcription, numbered senses, part-of-speech and usage labels.
        loop {
            let before = line;
            if line.starts_with('[') {
                line = line.find(']').map_or("", |i| &line[i + 1..]).trim_start();
            }
            let (n, rest) = sense_marker(line);
            if let Some(n) = n {
                sense = n.max(1);
            }
            line = rest.trim_start();
            while let Some(r) = line.strip_prefix('_') {
                line = r.find('.').map_or("", |i| &r[i + 1..]).trim_start();
            }
            if line == before {
                break;
            }
        }
        let line = without_parens(line);
        // Usage examples start with English words: keep what comes before.
        let head = line
            .find(|c: char| c.is_ascii_alphabetic())
            .map_or(line.as_str(), |i| &line[..i]);
        for seg in head.split([';', ',']) {
            let words: Vec<&str> = seg.split_whitespace().collect();
            if words.is_empty()
                || words.len() > 2
                || !words.iter().all(|w| w.chars().any(is_cyrillic))
            {
                continue;
            }
            for t in bm25::terms(seg) {
                if t.chars().count() >= 3 {
                    out.push((t, sense));
                }
            }
        }
    }
    out
}

impl Lexicon {
    /// Reads `<prefix>.index` and `<prefix>.dict.dz` (or `<prefix>.dict`).
    pub fn open(prefix: &Path) -> anyhow::Result<Self> {
        let with = |ext: &str| {
            let mut p = prefix.as_os_str().to_owned();
            p.push(ext);
            std::path::PathBuf::from(p)
        };
        let index = std::fs::read_to_string(with(".index"))
            .with_context(|| format!("reading {}", with(".index").display()))?;
        let dz = with(".dict.dz");
        let mut dict = Vec::new();
        if dz.exists() {
            flate2::read::MultiGzDecoder::new(
                std::fs::File::open(&dz).with_context(|| format!("opening {}", dz.display()))?,
            )
            .read_to_end(&mut dict)
            .with_context(|| format!("decompressing {}", dz.display()))?;
        } else {
            dict = std::fs::read(with(".dict"))
                .with_context(|| format!("reading {}", with(".dict").display()))?;
        }
        Self::from_dictd(&index, &dict)
            .with_context(|| format!("parsing the dictionary {}", prefix.display()))
    }

    /// Parses a dictd index (headword, base64 offset, base64 length per
    /// line) over the dictionary's bytes. Only single-word English
    /// headwords are read; entries whose bounds fall outside `dict` are an
    /// error.
    pub fn from_dictd(index: &str, dict: &[u8]) -> anyhow::Result<Self> {
        let mut en_ru: HashMap<String, BTreeMap<u32, f32>> = HashMap::new();
        // Russian stems by term id, for the inverse table.
        let mut ru_stems: HashMap<u32, String> = HashMap::new();
        for (n, line) in index.lines().enumerate() {
            let mut f = line.split('\t');
            let (Some(word), Some(off), Some(len)) = (f.next(), f.next(), f.next()) else {
                anyhow::bail!("index line {}: expected three tab-separated fields", n + 1);
            };
            if word.is_empty()
                || word.starts_with("00")
                || !word.chars().all(|c| c.is_ascii_alphabetic())
            {
                continue;
            }
            let (off, len) = (b64(off)?, b64(len)?);
            let body = dict
                .get(off..off.saturating_add(len))
                .with_context(|| format!("index line {}: entry outside the dictionary", n + 1))?;
            let body = String::from_utf8_lossy(body);
            let mut lines = body.lines();
            lines.next(); // the headword
            let rest: Vec<&str> = lines.collect();
            let src = bm25::terms(word);
            let [src] = src.as_slice() else { continue };
            let slot = en_ru.entry(src.clone()).or_default();
            for (t, sense) in entry_translations(&rest) {
                let w = 1.0 / sense as f32;
                let e = slot.entry(bm25::term_id(&t)).or_insert(0.0);
                *e = e.max(w);
                ru_stems.insert(bm25::term_id(&t), t);
            }
        }
        let mut ru_en: HashMap<String, BTreeMap<u32, f32>> = HashMap::new();
        for (src, ts) in &en_ru {
            let sid = bm25::term_id(src);
            for (tid, w) in ts {
                if let Some(ru) = ru_stems.get(tid) {
                    let e = ru_en
                        .entry(ru.clone())
                        .or_default()
                        .entry(sid)
                        .or_insert(0.0);
                    *e = e.max(*w);
                }
            }
        }
        let finish = |t: HashMap<String, BTreeMap<u32, f32>>| -> Table {
            t.into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| {
                    let mut v: Vec<(u32, f32)> = v.into_iter().collect();
                    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                    (k, v)
                })
                .collect()
        };
        Ok(Self {
            en_ru: finish(en_ru),
            ru_en: finish(ru_en),
        })
    }

    /// Source words with at least one translation, per direction.
    pub fn len(&self) -> (usize, usize) {
        (self.en_ru.len(), self.ru_en.len())
    }

    pub fn is_empty(&self) -> bool {
        self.en_ru.is_empty()
    }

    /// The question's terms with their translations into the other
    /// language (each term by its own script; terms without any are left
    /// out).
    pub fn translate(&self, query: &str) -> Vec<Translated> {
        let mut seen = HashSet::new();
        bm25::terms(query)
            .into_iter()
            .filter(|t| seen.insert(t.clone()))
            .filter_map(|t| {
                let table = if t.chars().any(is_cyrillic) {
                    &self.ru_en
                } else {
                    &self.en_ru
                };
                let targets = table.get(&t)?.clone();
                Some(Translated { term: t, targets })
            })
            .collect()
    }
}

/// dictd's base64 numbers (`A`–`Z`, `a`–`z`, `0`–`9`, `+`, `/`).
fn b64(s: &str) -> anyhow::Result<usize> {
    let mut n: usize = 0;
    for c in s.bytes() {
        let d = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => anyhow::bail!("{s:?} is not a dictd number"),
        };
        n = n
            .checked_mul(64)
            .and_then(|n| n.checked_add(usize::from(d)))
            .with_context(|| format!("{s:?} is too large"))?;
    }
    Ok(n)
}

/// The cross-lingual BM25 query: each translated term's weight (one per
/// source term) split over the translations that `present` admits, in
/// proportion to their sense weights.
pub fn query_vector(tr: &[Translated], present: &dyn Fn(u32) -> bool) -> SparseVec {
    let mut w: BTreeMap<u32, f32> = BTreeMap::new();
    for t in tr {
        let kept: Vec<&(u32, f32)> = t.targets.iter().filter(|(id, _)| present(*id)).collect();
        let total: f32 = kept.iter().map(|(_, w)| w).sum();
        if total <= 0.0 {
            continue;
        }
        for (id, x) in kept {
            *w.entry(*id).or_default() += x / total;
        }
    }
    let (indices, values) = w.into_iter().unzip();
    SparseVec { indices, values }
}

/// A dictd pair (index text, uncompressed dictionary) from (headword,
/// body) entries, in the order given: for small dictionaries of one's own
/// (and the tests).
pub fn encode_dictd(entries: &[(&str, &str)]) -> (String, Vec<u8>) {
    const DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let enc = |mut n: usize| {
        let mut s = Vec::new();
        loop {
            s.push(char::from(DIGITS[n % 64]));
            n /= 64;
            if n == 0 {
                break;
            }
        }
        s.iter().rev().collect::<String>()
    };
    let (mut index, mut dict) = (String::new(), Vec::new());
    for (word, body) in entries {
        let text = format!("{word}\n{body}\n");
        index.push_str(&format!(
            "{word}\t{}\t{}\n",
            enc(dict.len()),
            enc(text.len())
        ));
        dict.extend_from_slice(text.as_bytes());
    }
    (index, dict)
}

#[cfg(test)]
#[path = "lexicon_tests.rs"]
mod tests;
