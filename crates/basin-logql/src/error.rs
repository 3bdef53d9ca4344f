use thiserror::Error;

/// A syntax error, placed as Loki places them: `parse error at line 1, col 14: ...`.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("parse error at line {line}, col {col}: {msg}")]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// What was wrong.
    pub msg: String,
}

impl ParseError {
    /// An error at byte offset `pos` of `input`.
    pub fn at(input: &str, pos: usize, msg: impl Into<String>) -> Self {
        let before = input.get(..pos).unwrap_or(input);
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        Self {
            line,
            col,
            msg: msg.into(),
        }
    }
}
