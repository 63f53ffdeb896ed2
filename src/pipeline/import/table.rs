//! Lines to rows: the header names the columns, unknown columns are noted
//! once, each later line becomes a row or a reason it is not one.

use std::collections::HashMap;
use std::io::BufRead;

use super::ImportError;
use super::csv_line::split;

pub struct Table<R> {
    reader: R,
    columns: HashMap<String, usize>,
    width: usize,
    line: u64,
    /// The last column, when it is one this import ignores: a row with
    /// extra fields may be read with the extras folded into it.
    ignored_tail: Option<String>,
    pub unknown: Vec<String>,
}

pub struct Row {
    pub line: u64,
    pub bytes: u64,
    pub fields: Result<Vec<String>, String>,
    /// Set when the row had extra fields that were folded into the ignored
    /// last column: the explanation to give if the row does not validate.
    pub overflow: Option<String>,
}

impl Row {
    /// An error for this row, prefixed by the field-count problem when the
    /// row was only readable by folding extra fields into the ignored column.
    pub fn explain(&self, error: &str) -> String {
        match &self.overflow {
            Some(o) => format!("{o}; read that way it is still invalid: {error}"),
            None => error.to_owned(),
        }
    }
}

impl<R: BufRead> Table<R> {
    /// Reads the header; `known` are the column names this import uses.
    pub fn open(mut reader: R, known: &[&str]) -> Result<(Self, u64), ImportError> {
        let mut first = String::new();
        let n = reader
            .read_line(&mut first)
            .map_err(|source| ImportError::Read { line: 1, source })?;
        if n == 0 || first.trim().is_empty() {
            return Err(ImportError::Empty);
        }
        let first = first
            .trim_end_matches(['\n', '\r'])
            .trim_start_matches('\u{feff}');
        let names = split(first).map_err(|e| ImportError::BadHeader(e.to_string()))?;
        let mut columns = HashMap::new();
        let mut unknown: Vec<String> = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let name = name.trim().to_ascii_lowercase();
            if !known.contains(&name.as_str()) {
                unknown.push(name.clone());
            }
            columns.insert(name, i);
        }
        let ignored_tail = names
            .last()
            .map(|n| n.trim().to_ascii_lowercase())
            .filter(|n| unknown.contains(n));
        Ok((
            Table {
                reader,
                columns,
                width: names.len(),
                line: 1,
                ignored_tail,
                unknown,
            },
            n as u64,
        ))
    }

    pub fn has(&self, column: &str) -> bool {
        self.columns.contains_key(column)
    }

    pub fn get<'a>(&self, fields: &'a [String], column: &str) -> Option<&'a str> {
        self.columns
            .get(column)
            .and_then(|i| fields.get(*i))
            .map(|s| s.as_str())
    }

    /// The next non-blank line, or `None` at the end of the file.
    pub fn next_row(&mut self) -> Result<Option<Row>, ImportError> {
        loop {
            let mut buf = Vec::new();
            self.line += 1;
            let n =
                self.reader
                    .read_until(b'\n', &mut buf)
                    .map_err(|source| ImportError::Read {
                        line: self.line,
                        source,
                    })?;
            if n == 0 {
                return Ok(None);
            }
            let text = match String::from_utf8(buf) {
                Ok(t) => t,
                Err(_) => {
                    return Ok(Some(Row {
                        line: self.line,
                        bytes: n as u64,
                        fields: Err("the line is not valid UTF-8".into()),
                        overflow: None,
                    }));
                }
            };
            let text = text.trim_end_matches(['\n', '\r']);
            if text.trim().is_empty() {
                continue;
            }
            let mut overflow = None;
            let fields = match split(text) {
                Err(e) => Err(format!("CSV: {e}")),
                Ok(f) if f.len() != self.width => {
                    let problem = format!(
                        "CSV: the row has {} fields but the header has {} (an unquoted comma inside a value?)",
                        f.len(),
                        self.width
                    );
                    match &self.ignored_tail {
                        // Extra commas in an ignored trailing column (free
                        // text such as notes) leave the known columns in
                        // place; the row is still checked field by field.
                        Some(tail) if f.len() > self.width => {
                            let mut f = f;
                            let rest = f.split_off(self.width - 1).join(",");
                            f.push(rest);
                            overflow = Some(format!(
                                "{problem}; the extra fields were read as part of the ignored column {tail:?}"
                            ));
                            Ok(f)
                        }
                        _ => Err(problem),
                    }
                }
                Ok(f) => Ok(f),
            };
            return Ok(Some(Row {
                line: self.line,
                bytes: n as u64,
                fields,
                overflow,
            }));
        }
    }
}
