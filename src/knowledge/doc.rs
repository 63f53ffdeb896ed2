//! Knowledge-base documents: markdown files that open with YAML front
//! matter (`id`, `title`, `lang`, `tags`, optional `kind`). Only the flat
//! subset of YAML those keys need is read (`key: value`, `key: [a, b]`, and
//! `key:` followed by `- item` lines); anything else is an error that names
//! the file and line.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::domain::Lang;

#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub id: String,
    pub title: String,
    pub lang: Lang,
    pub tags: Vec<String>,
    /// What sort of document this is (`policy`, `faq`, …); `doc` if unset.
    pub kind: String,
    /// The markdown after the front matter.
    pub body: String,
    pub path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {reason}")]
pub struct FrontMatterError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

/// Every `*.md` under `dir` (recursively, sorted by path), except
/// `README.md` files, which describe the folder rather than the shop.
pub fn load_dir(dir: &Path) -> anyhow::Result<Vec<Document>> {
    let mut files = Vec::new();
    collect(dir, &mut files)?;
    files.sort();
    let mut docs = Vec::with_capacity(files.len());
    let mut seen = std::collections::HashMap::new();
    for f in files {
        let text =
            std::fs::read_to_string(&f).with_context(|| format!("{}: cannot read", f.display()))?;
        let doc = parse(&f, &text)?;
        if let Some(other) = seen.insert(doc.id.clone(), f.clone()) {
            anyhow::bail!(
                "{}: id {:?} is already used by {}",
                f.display(),
                doc.id,
                other.display()
            );
        }
        docs.push(doc);
    }
    Ok(docs)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))?;
    for e in entries {
        let path = e?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "md")
            && !path
                .file_name()
                .is_some_and(|n| n.eq_ignore_ascii_case("readme.md"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Parses one file's text.
pub fn parse(path: &Path, text: &str) -> Result<Document, FrontMatterError> {
    let file = path.display().to_string();
    let err = |line: usize, reason: String| FrontMatterError {
        file: file.clone(),
        line,
        reason,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, l)) if l.trim_end() == "---" => {}
        _ => return Err(err(1, "expected front matter opening with ---".into())),
    }
    let (mut id, mut title, mut lang, mut tags, mut kind) = (None, None, None, None, None);
    let mut list_key: Option<(String, Vec<String>)> = None;
    let mut closed_at = None;
    for (i, raw) in lines.by_ref() {
        let n = i + 1;
        let line = strip_comment(raw);
        if raw.trim_end() == "---" {
            closed_at = Some(n);
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        if let Some(item) = line.trim_start().strip_prefix("- ") {
            match &mut list_key {
                Some((_, items)) if raw.starts_with([' ', '-']) => {
                    items.push(unquote(item.trim()));
                    continue;
                }
                _ => return Err(err(n, "list item outside a list".into())),
            }
        }
        if let Some((k, items)) = list_key.take() {
            set_list(&k, items, &mut tags).map_err(|r| err(n - 1, r))?;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(err(
                n,
                format!("expected `key: value`, found {:?}", raw.trim()),
            ));
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "id" | "title" | "lang" | "kind" if value.is_empty() => {
                return Err(err(n, format!("`{key}` is empty")));
            }
            "id" => id = Some((n, unquote(value))),
            "title" => title = Some(unquote(value)),
            "lang" => {
                let l = Lang::parse(&unquote(value)).map_err(|e| err(n, e.to_string()))?;
                lang = Some(l);
            }
            "kind" => kind = Some(unquote(value)),
            "tags" if value.is_empty() => list_key = Some((key.to_owned(), Vec::new())),
            "tags" => {
                let inner = value
                    .strip_prefix('[')
                    .and_then(|v| v.strip_suffix(']'))
                    .ok_or_else(|| err(n, "`tags` must be a list like [a, b]".into()))?;
                tags = Some(
                    inner
                        .split(',')
                        .map(|t| unquote(t.trim()))
                        .filter(|t| !t.is_empty())
                        .collect(),
                );
            }
            other => return Err(err(n, format!("unknown front-matter key `{other}`"))),
        }
    }
    if let Some((k, items)) = list_key.take() {
        set_list(&k, items, &mut tags).map_err(|r| err(closed_at.unwrap_or(1), r))?;
    }
    let Some(end) = closed_at else {
        return Err(err(1, "front matter is never closed with ---".into()));
    };
    let (id_line, id) = id.ok_or_else(|| err(end, "missing `id`".into()))?;
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(err(
            id_line,
            format!("id {id:?} must be ASCII letters, digits, - or _"),
        ));
    }
    let title = title.ok_or_else(|| err(end, "missing `title`".into()))?;
    let lang = lang.ok_or_else(|| err(end, "missing `lang`".into()))?;
    let body: Vec<&str> = lines.map(|(_, l)| l).collect();
    Ok(Document {
        id,
        title,
        lang,
        tags: tags.unwrap_or_default(),
        kind: kind.unwrap_or_else(|| "doc".into()),
        body: body.join("\n"),
        path: path.to_owned(),
    })
}

fn set_list(key: &str, items: Vec<String>, tags: &mut Option<Vec<String>>) -> Result<(), String> {
    match key {
        "tags" => {
            *tags = Some(items);
            Ok(())
        }
        other => Err(format!("`{other}` cannot be a list")),
    }
}

/// Drops a ` # comment` (YAML comments need a space before the `#`).
fn strip_comment(line: &str) -> &str {
    match line.find(" #") {
        Some(i) if !in_quotes(&line[..i]) => &line[..i],
        _ => line,
    }
}

fn in_quotes(prefix: &str) -> bool {
    prefix.matches('"').count() % 2 == 1 || prefix.matches('\'').count() % 2 == 1
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner.to_owned();
        }
    }
    v.to_owned()
}

#[cfg(test)]
#[path = "doc_tests.rs"]
mod tests;
