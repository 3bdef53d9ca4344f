//! LogQL syntax: lexer, parser, syntax tree and printer.
//!
//! Parses the whole language of Grafana Loki: stream selectors, line filters,
//! parsers, label filters, formatting stages, range and vector aggregations,
//! binary operators with vector matching. Errors name the line and column.
//! Depends on nothing but `thiserror`; execution lives in `basin-query`.

mod ast;
mod error;
mod lexer;
mod parser;
mod printer;

pub use ast::*;
pub use error::ParseError;
pub use lexer::{parse_bytes, parse_duration};
pub use parser::{parse_expr, parse_log_query, MAX_SUBEXPRESSIONS};
pub use printer::{format_duration, quote};

#[cfg(test)]
mod tests;
