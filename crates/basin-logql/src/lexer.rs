//! Splits a query into tokens, each with its byte offset.
//!
//! Words are returned as identifiers; the parser decides by position whether
//! `count` is a function or a label name, so label names never collide with
//! keywords.

use crate::ParseError;

/// A token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    LBrace,
    RBrace,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Ident(String),
    Str(String),
    /// A number, with its text (for printing as written).
    Num(f64),
    /// A duration such as `5m` or `1h30m`, in nanoseconds.
    Duration(i64),
    /// A byte size such as `10KB` or `5MiB`, in bytes.
    Bytes(u64),
    /// `=`
    Eq,
    /// `==`
    EqEq,
    /// `!=`
    Neq,
    /// `=~`
    Re,
    /// `!~`
    NotRe,
    /// `|=`
    PipeEq,
    /// `|~`
    PipeRe,
    /// `|>`
    PipePattern,
    /// `!>`
    NotPattern,
    Pipe,
    Gt,
    Gte,
    Lt,
    Lte,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Caret,
    /// `--strict`, `--keep-empty`: logfmt flags.
    Flag(String),
}

pub(crate) fn lex(input: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let bytes = input.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let two = bytes.get(i..i + 2).unwrap_or(&[]);
        let start = i;
        let tok = match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'#' => {
                // A comment runs to the end of the line.
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' | b'`' => {
                let (value, end) = lex_string(input, i)?;
                i = end;
                Tok::Str(value)
            }
            _ if two == b"=~" => pair(&mut i, Tok::Re),
            _ if two == b"==" => pair(&mut i, Tok::EqEq),
            _ if two == b"!=" => pair(&mut i, Tok::Neq),
            _ if two == b"!~" => pair(&mut i, Tok::NotRe),
            _ if two == b"!>" => pair(&mut i, Tok::NotPattern),
            _ if two == b"|=" => pair(&mut i, Tok::PipeEq),
            _ if two == b"|~" => pair(&mut i, Tok::PipeRe),
            _ if two == b"|>" => pair(&mut i, Tok::PipePattern),
            _ if two == b">=" => pair(&mut i, Tok::Gte),
            _ if two == b"<=" => pair(&mut i, Tok::Lte),
            b'-' if two == b"--" => {
                i += 2;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'-') {
                    i += 1;
                }
                Tok::Flag(input[start + 2..i].to_string())
            }
            b'{' => one(&mut i, Tok::LBrace),
            b'}' => one(&mut i, Tok::RBrace),
            b'(' => one(&mut i, Tok::LParen),
            b')' => one(&mut i, Tok::RParen),
            b'[' => one(&mut i, Tok::LBracket),
            b']' => one(&mut i, Tok::RBracket),
            b',' => one(&mut i, Tok::Comma),
            b'=' => one(&mut i, Tok::Eq),
            b'|' => one(&mut i, Tok::Pipe),
            b'>' => one(&mut i, Tok::Gt),
            b'<' => one(&mut i, Tok::Lt),
            b'+' => one(&mut i, Tok::Plus),
            b'-' => one(&mut i, Tok::Minus),
            b'*' => one(&mut i, Tok::Star),
            b'/' => one(&mut i, Tok::Slash),
            b'%' => one(&mut i, Tok::Percent),
            b'^' => one(&mut i, Tok::Caret),
            b'0'..=b'9' | b'.' => {
                let (tok, end) = lex_number(input, i)?;
                i = end;
                tok
            }
            _ if b.is_ascii_alphabetic() || b == b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                Tok::Ident(input[start..i].to_string())
            }
            _ => {
                let c = input[i..].chars().next().unwrap_or('?');
                return Err(ParseError::at(
                    input,
                    i,
                    format!("unexpected character {c:?}"),
                ));
            }
        };
        out.push((start, tok));
    }
    Ok(out)
}

fn one(i: &mut usize, tok: Tok) -> Tok {
    *i += 1;
    tok
}

fn pair(i: &mut usize, tok: Tok) -> Tok {
    *i += 2;
    tok
}

/// A number, a duration (`5m`, `1h30m`, `500ms`) or a byte size (`10KB`).
fn lex_number(input: &str, start: usize) -> Result<(Tok, usize), ParseError> {
    let bytes = input.as_bytes();
    let mut i = start;
    while i < bytes.len() {
        if bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.' {
            i += 1;
            // An exponent's sign belongs to the number: 1e-3.
            if i < bytes.len()
                && (bytes[i] == b'-' || bytes[i] == b'+')
                && matches!(bytes[i - 1], b'e' | b'E')
                && input[start..i - 1]
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b'.')
            {
                i += 1;
            }
        } else if input[i..].starts_with('µ') {
            i += 'µ'.len_utf8();
        } else {
            break;
        }
    }
    let text = &input[start..i];
    if let Ok(n) = text.parse::<f64>() {
        // An overflowing literal would become an infinity that prints as
        // `inf`, which no query can spell: refuse it where it was written.
        if !n.is_finite() {
            return Err(ParseError::at(
                input,
                start,
                format!("number {text:?} is out of range"),
            ));
        }
        return Ok((Tok::Num(n), i));
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(n) = i64::from_str_radix(hex, 16) {
            return Ok((Tok::Num(n as f64), i));
        }
    }
    if let Some(ns) = parse_duration(text) {
        return Ok((Tok::Duration(ns), i));
    }
    if let Some(b) = parse_bytes(text) {
        return Ok((Tok::Bytes(b), i));
    }
    Err(ParseError::at(
        input,
        start,
        format!("invalid number, duration or byte size {text:?}"),
    ))
}

/// `1h30m`, `500ms`, `2d`: Prometheus durations, as nanoseconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let mut rest = text;
    let mut total: f64 = 0.0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit: f64 = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "d" => 86_400e9,
            "w" => 604_800e9,
            "y" => 31_536_000e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += n * unit;
    }
    Some(total as i64)
}

/// `10KB`, `5MiB`, `3b`: byte sizes (humanize's units, as Loki reads them).
pub fn parse_bytes(text: &str) -> Option<u64> {
    let num_len = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let n: f64 = text[..num_len].parse().ok()?;
    let unit = match text[num_len..].to_ascii_lowercase().as_str() {
        "b" => 1.0,
        "kb" => 1e3,
        "kib" => 1024.0,
        "mb" => 1e6,
        "mib" => 1_048_576.0,
        "gb" => 1e9,
        "gib" => 1_073_741_824.0,
        "tb" => 1e12,
        "tib" => 1_099_511_627_776.0,
        "pb" => 1e15,
        "pib" => 1_125_899_906_842_624.0,
        _ => return None,
    };
    Some((n * unit) as u64)
}

/// Reads a `"..."` (Go escapes) or `` `...` `` (raw) string starting at `start`.
fn lex_string(input: &str, start: usize) -> Result<(String, usize), ParseError> {
    let quote = input.as_bytes()[start];
    let mut out = String::new();
    let mut chars = input[start + 1..].char_indices();
    while let Some((off, c)) = chars.next() {
        let pos = start + 1 + off;
        if c as u32 == u32::from(quote) {
            return Ok((out, pos + 1));
        }
        if c == '\\' && quote == b'"' {
            let Some((_, e)) = chars.next() else { break };
            match e {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'a' => out.push('\u{7}'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'v' => out.push('\u{b}'),
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                '\'' => out.push('\''),
                'x' | 'u' | 'U' => {
                    let len = match e {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let hex: String = (0..len).filter_map(|_| chars.next().map(|c| c.1)).collect();
                    let ch = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                    match ch {
                        Some(ch) if hex.len() == len => out.push(ch),
                        _ => {
                            return Err(ParseError::at(
                                input,
                                pos,
                                format!("invalid escape \\{e}{hex} in string"),
                            ))
                        }
                    }
                }
                other => {
                    return Err(ParseError::at(
                        input,
                        pos,
                        format!(
                            "invalid escape \\{other} in string (write \\\\{other} for a backslash)"
                        ),
                    ))
                }
            }
        } else {
            out.push(c);
        }
    }
    Err(ParseError::at(input, start, "unterminated string"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(input: &str) -> Vec<Tok> {
        lex(input).unwrap().into_iter().map(|(_, t)| t).collect()
    }

    #[test]
    fn numbers_durations_bytes() {
        assert_eq!(toks("5m"), [Tok::Duration(300_000_000_000)]);
        assert_eq!(toks("1h30m"), [Tok::Duration(5_400_000_000_000)]);
        assert_eq!(toks("250ms"), [Tok::Duration(250_000_000)]);
        assert_eq!(toks("10KB"), [Tok::Bytes(10_000)]);
        assert_eq!(toks("1MiB"), [Tok::Bytes(1_048_576)]);
        assert_eq!(toks("0.99"), [Tok::Num(0.99)]);
        assert_eq!(toks("1e3"), [Tok::Num(1000.0)]);
        assert_eq!(toks("1e-3"), [Tok::Num(0.001)]);
        assert!(lex("-6666666E+66666").is_err());
        assert_eq!(toks("3 - 1"), [Tok::Num(3.0), Tok::Minus, Tok::Num(1.0)]);
        assert!(lex("5x").is_err());
    }

    #[test]
    fn operators_and_strings() {
        assert_eq!(
            toks(r#"|= "a\"b" |> `<_> x` != !> | --strict"#),
            [
                Tok::PipeEq,
                Tok::Str("a\"b".into()),
                Tok::PipePattern,
                Tok::Str("<_> x".into()),
                Tok::Neq,
                Tok::NotPattern,
                Tok::Pipe,
                Tok::Flag("strict".into()),
            ]
        );
        assert_eq!(toks(r#""\u00e9\x41""#), [Tok::Str("éA".into())]);
        assert_eq!(
            toks("a # comment\nb"),
            [Tok::Ident("a".into()), Tok::Ident("b".into())]
        );
    }
}
