//! Splits a query into tokens, each with its byte offset.

use crate::ParseError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    LBrace,
    RBrace,
    Comma,
    Ident(String),
    Str(String),
    Eq,
    Neq,
    Re,
    NotRe,
    PipeEq,
    PipeRe,
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
            b'{' => one(&mut i, Tok::LBrace),
            b'}' => one(&mut i, Tok::RBrace),
            b',' => one(&mut i, Tok::Comma),
            b'"' | b'`' => {
                let (value, end) = lex_string(input, i)?;
                i = end;
                Tok::Str(value)
            }
            _ if two == b"=~" => pair(&mut i, Tok::Re),
            _ if two == b"!=" => pair(&mut i, Tok::Neq),
            _ if two == b"!~" => pair(&mut i, Tok::NotRe),
            _ if two == b"|=" => pair(&mut i, Tok::PipeEq),
            _ if two == b"|~" => pair(&mut i, Tok::PipeRe),
            b'=' => one(&mut i, Tok::Eq),
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
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                other => {
                    return Err(ParseError::at(
                        input,
                        pos,
                        format!("invalid escape \\{other} in string (write \\\\{other} for a literal backslash)"),
                    ))
                }
            }
        } else {
            out.push(c);
        }
    }
    Err(ParseError::at(input, start, "unterminated string"))
}
