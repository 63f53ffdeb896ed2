//! A strict reader for one CSV record per physical line (RFC 4180 quoting,
//! no embedded newlines). Strict on purpose: a lenient reader turns a stray
//! quote or an unquoted comma into shifted columns that then "validate".

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvLineError {
    #[error("unterminated quoted field (a quote opened at column {0} never closes)")]
    Unterminated(usize),
    #[error(
        "stray double quote inside an unquoted field at column {0}; quote the whole field and double inner quotes"
    )]
    StrayQuote(usize),
    #[error("unexpected character after a closing quote at column {0}")]
    AfterQuote(usize),
}

pub fn split(line: &str) -> Result<Vec<String>, CsvLineError> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut fields = Vec::new();
    let mut chars = line.char_indices().peekable();
    loop {
        let mut field = String::new();
        match chars.peek().copied() {
            Some((start, '"')) => {
                chars.next();
                loop {
                    match chars.next() {
                        None => return Err(CsvLineError::Unterminated(start + 1)),
                        Some((_, '"')) => match chars.peek().copied() {
                            Some((_, '"')) => {
                                chars.next();
                                field.push('"');
                            }
                            Some((_, ',')) | None => break,
                            Some((i, _)) => return Err(CsvLineError::AfterQuote(i + 1)),
                        },
                        Some((_, c)) => field.push(c),
                    }
                }
            }
            _ => {
                while let Some((i, c)) = chars.peek().copied() {
                    match c {
                        ',' => break,
                        '"' => return Err(CsvLineError::StrayQuote(i + 1)),
                        _ => {
                            field.push(c);
                            chars.next();
                        }
                    }
                }
            }
        }
        fields.push(field);
        match chars.next() {
            Some((_, ',')) => continue,
            None => return Ok(fields),
            Some((i, _)) => return Err(CsvLineError::AfterQuote(i + 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_and_quoted_fields() {
        assert_eq!(split("a,b,,c").unwrap(), vec!["a", "b", "", "c"]);
        assert_eq!(split("\"1,690\",x").unwrap(), vec!["1,690", "x"]);
        assert_eq!(
            split("\"say \"\"hi\"\"\",2").unwrap(),
            vec!["say \"hi\"", "2"]
        );
        assert_eq!(split("a,b\r").unwrap(), vec!["a", "b"]);
        assert_eq!(split("").unwrap(), vec![""]);
    }

    #[test]
    fn quoting_errors() {
        assert!(matches!(
            split("E1,8\"90,web"),
            Err(CsvLineError::StrayQuote(_))
        ));
        assert!(matches!(
            split("E1,\"order,890,web"),
            Err(CsvLineError::Unterminated(_))
        ));
        assert!(matches!(
            split("\"a\"b,c"),
            Err(CsvLineError::AfterQuote(_))
        ));
    }

    proptest! {
        #[test]
        fn quoting_round_trips(fields in proptest::collection::vec("[^\\r\\n]{0,12}", 1..6)) {
            let line = fields
                .iter()
                .map(|f| format!("\"{}\"", f.replace('"', "\"\"")))
                .collect::<Vec<_>>()
                .join(",");
            prop_assert_eq!(split(&line).unwrap(), fields);
        }

        #[test]
        fn never_panics(s in "\\PC{0,60}") {
            let _ = split(&s);
        }
    }
}
