//! LogQL syntax: lexer, parser and syntax tree.
//!
//! Covers, so far, log queries made of a stream selector and line filters:
//! `{app="api", env=~"prod|staging"} |= "error" != "timeout" |~ "5\\d\\d"`.
//! Depends on `basin-model` only; execution lives in `basin-query`.

mod ast;
mod error;
mod lexer;
mod parser;

pub use ast::{LineFilter, LineFilterOp, LogQuery, MatchOp, Matcher};
pub use error::ParseError;
pub use parser::parse_log_query;
