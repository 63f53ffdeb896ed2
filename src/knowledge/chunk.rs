//! Heading-aware, token-bounded chunking. A document splits into sections
//! at its headings; small neighbouring sections under the same parent join
//! up to the target size, a long section splits between blocks (with a
//! block or two of overlap), and a block longer than the limit splits by
//! sentences, or, for a table, by rows with the header row repeated.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};
use tiktoken_rs::CoreBPE;
use uuid::Uuid;

use super::doc::Document;

/// Sizes in cl100k tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChunkParams {
    /// Sections join while the chunk stays at or below this.
    pub target_tokens: usize,
    /// No chunk body grows past this (a single sentence excepted).
    pub max_tokens: usize,
    /// Tokens repeated from the end of one window at the start of the next.
    pub overlap_tokens: usize,
}

impl Default for ChunkParams {
    fn default() -> Self {
        Self {
            target_tokens: 200,
            max_tokens: 320,
            overlap_tokens: 48,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// A stable content hash: the same document, heading and text always
    /// give the same id.
    pub id: Uuid,
    pub doc_id: String,
    /// Headings from the root to this chunk, joined with " › ".
    pub heading: String,
    pub text: String,
    pub ordinal: usize,
}

impl Chunk {
    /// What gets embedded and BM25-indexed: the title and heading path give
    /// short chunks the context a question names.
    pub fn indexed_text(&self, doc: &Document) -> String {
        if self.heading.is_empty() || self.heading == doc.title {
            format!("{}\n{}", doc.title, self.text)
        } else {
            format!("{} › {}\n{}", doc.title, self.heading, self.text)
        }
    }
}

pub fn bpe() -> &'static CoreBPE {
    static BPE: OnceLock<CoreBPE> = OnceLock::new();
    // The vocabulary is compiled into tiktoken-rs; failing to parse it is a
    // build defect, not an input error.
    BPE.get_or_init(|| tiktoken_rs::cl100k_base().expect("embedded cl100k vocabulary parses"))
}

pub fn count_tokens(text: &str) -> usize {
    bpe().encode_ordinary(text).len()
}

struct Block {
    text: String,
    tokens: usize,
}

struct Section {
    path: Vec<String>,
    blocks: Vec<Block>,
}

pub fn chunk(doc: &Document, params: ChunkParams) -> Vec<Chunk> {
    let sections = sections(&doc.body, params.max_tokens);
    let mut out: Vec<(Vec<String>, String)> = Vec::new();
    // (heading path shared by the joined sections, last section's path,
    // texts, tokens)
    type Acc = (Vec<String>, Vec<String>, Vec<String>, usize);
    let mut acc: Option<Acc> = None;
    let close = |acc: &mut Option<Acc>, out: &mut Vec<(Vec<String>, String)>| {
        if let Some((p, _, texts, _)) = acc.take() {
            out.push((p, texts.join("\n\n")));
        }
    };
    for s in sections {
        let size: usize = s.blocks.iter().map(|b| b.tokens).sum();
        if size > params.target_tokens {
            close(&mut acc, &mut out);
            for w in windows(&s.blocks, params) {
                out.push((s.path.clone(), w));
            }
            continue;
        }
        let text = s
            .blocks
            .iter()
            .map(|b| b.text.as_str())
            .collect::<Vec<_>>()
            .join("\n\n");
        match &mut acc {
            Some((common, last, texts, n))
                if *n + size <= params.target_tokens && joins(last, &s.path) =>
            {
                let title = s.path.last().map(String::as_str).unwrap_or("");
                texts.push(format!("{title}\n{text}"));
                let keep = common
                    .iter()
                    .zip(&s.path)
                    .take_while(|(a, b)| a == b)
                    .count();
                common.truncate(keep);
                *last = s.path.clone();
                *n += size;
            }
            _ => {
                close(&mut acc, &mut out);
                acc = Some((s.path.clone(), s.path.clone(), vec![text], size));
            }
        }
    }
    close(&mut acc, &mut out);
    out.into_iter()
        .filter(|(_, t)| !t.trim().is_empty())
        .enumerate()
        .map(|(i, (path, text))| {
            let heading = path.join(" › ");
            let id = content_id(&doc.id, &heading, &text);
            Chunk {
                id,
                doc_id: doc.id.clone(),
                heading,
                text,
                ordinal: i,
            }
        })
        .collect()
}

/// A section joins the previous one when they are siblings or it is the
/// previous one's first child, so a chunk never spans two topics' subtrees.
fn joins(prev: &[String], next: &[String]) -> bool {
    let parent = |p: &[String]| p[..p.len().saturating_sub(1)].to_vec();
    let pn = parent(next);
    pn == parent(prev) || pn == prev
}

pub fn content_id(doc_id: &str, heading: &str, text: &str) -> Uuid {
    let mut h = Sha256::new();
    for part in [doc_id, heading, text] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    uuid::Builder::from_custom_bytes(b).into_uuid()
}

/// Greedy windows over blocks, each ≤ max tokens, the next starting with
/// the trailing blocks of the previous that fit in the overlap.
fn windows(blocks: &[Block], p: ChunkParams) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < blocks.len() {
        let mut end = start;
        let mut n = 0;
        while end < blocks.len() && (end == start || n + blocks[end].tokens <= p.max_tokens) {
            n += blocks[end].tokens;
            end += 1;
        }
        out.push(
            blocks[start..end]
                .iter()
                .map(|b| b.text.as_str())
                .collect::<Vec<_>>()
                .join("\n\n"),
        );
        if end >= blocks.len() {
            break;
        }
        let mut back = end;
        let mut o = 0;
        while back > start + 1 && o + blocks[back - 1].tokens <= p.overlap_tokens {
            o += blocks[back - 1].tokens;
            back -= 1;
        }
        start = back;
    }
    out
}

fn sections(body: &str, max_tokens: usize) -> Vec<Section> {
    let mut out = vec![Section {
        path: Vec::new(),
        blocks: Vec::new(),
    }];
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut para: Vec<&str> = Vec::new();
    let mut in_code = false;
    let flush = |para: &mut Vec<&str>, out: &mut Vec<Section>| {
        if para.is_empty() {
            return;
        }
        let text = para.join("\n");
        para.clear();
        if let Some(s) = out.last_mut() {
            s.blocks.extend(split_block(&text, max_tokens));
        }
    };
    for line in body.lines() {
        let t = line.trim_start();
        if t.starts_with("```") {
            in_code = !in_code;
            para.push(line);
            continue;
        }
        if !in_code {
            if let Some(level) = heading_level(t) {
                flush(&mut para, &mut out);
                let title = t[level..].trim().trim_end_matches('#').trim().to_owned();
                path.retain(|(l, _)| *l < level);
                path.push((level, title));
                out.push(Section {
                    path: path.iter().map(|(_, t)| t.clone()).collect(),
                    blocks: Vec::new(),
                });
                continue;
            }
            let is_table = t.starts_with('|');
            let prev_table = para.last().is_some_and(|l| l.trim_start().starts_with('|'));
            if t.is_empty() || (!para.is_empty() && is_table != prev_table) {
                flush(&mut para, &mut out);
            }
            if t.is_empty() {
                continue;
            }
        }
        para.push(line);
    }
    flush(&mut para, &mut out);
    out.retain(|s| !s.blocks.is_empty());
    out
}

fn heading_level(t: &str) -> Option<usize> {
    let n = t.chars().take_while(|c| *c == '#').count();
    (1..=6)
        .contains(&n)
        .then_some(n)
        .filter(|&n| t[n..].starts_with(' '))
}

/// One block, or pieces of it no longer than `max` tokens.
fn split_block(text: &str, max: usize) -> Vec<Block> {
    let tokens = count_tokens(text);
    if tokens <= max {
        return vec![Block {
            text: text.to_owned(),
            tokens,
        }];
    }
    let lines: Vec<&str> = text.lines().collect();
    let table = lines.iter().all(|l| l.trim_start().starts_with('|'));
    let (header, units): (Vec<&str>, Vec<String>) = if table && lines.len() > 2 {
        (
            lines[..2].to_vec(),
            lines[2..].iter().map(|l| l.to_string()).collect(),
        )
    } else if lines.len() > 1 {
        (Vec::new(), lines.iter().map(|l| l.to_string()).collect())
    } else {
        (Vec::new(), sentences(text))
    };
    let head = header.join("\n");
    let head_tokens = if head.is_empty() {
        0
    } else {
        count_tokens(&head)
    };
    let mut out = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let mut n = head_tokens;
    let sep = if lines.len() > 1 { "\n" } else { " " };
    for u in units {
        let ut = count_tokens(&u);
        if !cur.is_empty() && n + ut > max {
            out.push(piece(&head, &cur, sep));
            cur.clear();
            n = head_tokens;
        }
        n += ut;
        cur.push(u);
    }
    if !cur.is_empty() {
        out.push(piece(&head, &cur, sep));
    }
    out.into_iter()
        .map(|text| {
            let tokens = count_tokens(&text);
            Block { text, tokens }
        })
        .collect()
}

fn piece(head: &str, units: &[String], sep: &str) -> String {
    let body = units.join(sep);
    if head.is_empty() {
        body
    } else {
        format!("{head}\n{body}")
    }
}

fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        cur.push(c);
        let end = matches!(c, '.' | '!' | '?' | ';')
            && chars.get(i + 1).is_none_or(|n| n.is_whitespace());
        if end {
            out.push(cur.trim().to_owned());
            cur.clear();
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_owned());
    }
    out
}

#[cfg(test)]
#[path = "chunk_tests.rs"]
mod tests;
