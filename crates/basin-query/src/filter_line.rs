//! Line filters (`|=`, `!=`, `|~`, `!~`, `|>`, `!>`, with `or` alternatives
//! and `ip(...)`) compiled for fast matching.

use basin_logql::{LineFilter, LineFilterOp, LineFilterValue};
use memchr::memmem::Finder;
use regex::Regex;

use crate::ip::IpPattern;
use crate::QueryError;

enum Matcher {
    Text(Box<Finder<'static>>),
    Regex(Regex),
    Pattern(LinePattern),
    Ip(IpPattern),
}

impl Matcher {
    fn is_match(&self, line: &str) -> bool {
        match self {
            Matcher::Text(f) => f.find(line.as_bytes()).is_some(),
            Matcher::Regex(re) => re.is_match(line),
            Matcher::Pattern(p) => p.is_match(line),
            Matcher::Ip(ip) => ip.matches_in(line),
        }
    }
}

/// One compiled filter: its alternatives and whether it is negated.
struct Compiled {
    negate: bool,
    any_of: Vec<Matcher>,
}

/// A chain of line filters, all of which a line must pass.
pub struct LineFilters {
    filters: Vec<Compiled>,
}

pub(crate) fn compile_regex(re: &str) -> Result<Regex, QueryError> {
    Regex::new(re).map_err(|e| QueryError::InvalidRegex {
        regex: re.to_string(),
        msg: e.to_string(),
    })
}

impl LineFilters {
    /// Compiles the filters.
    pub fn new<'a>(filters: impl IntoIterator<Item = &'a LineFilter>) -> Result<Self, QueryError> {
        let filters = filters
            .into_iter()
            .map(|f| {
                let negate = matches!(
                    f.op,
                    LineFilterOp::NotContains | LineFilterOp::NotRe | LineFilterOp::NotPattern
                );
                let any_of = f
                    .values
                    .iter()
                    .map(|v| {
                        Ok(match (f.op, v) {
                            (_, LineFilterValue::Ip(p)) => {
                                Matcher::Ip(IpPattern::new(p).map_err(QueryError::Plan)?)
                            }
                            (
                                LineFilterOp::Contains | LineFilterOp::NotContains,
                                LineFilterValue::Text(t),
                            ) => Matcher::Text(Box::new(Finder::new(t.as_bytes()).into_owned())),
                            (LineFilterOp::Re | LineFilterOp::NotRe, LineFilterValue::Text(t)) => {
                                Matcher::Regex(compile_regex(t)?)
                            }
                            (_, LineFilterValue::Text(t)) => Matcher::Pattern(LinePattern::new(t)?),
                        })
                    })
                    .collect::<Result<_, QueryError>>()?;
                Ok(Compiled { negate, any_of })
            })
            .collect::<Result<_, QueryError>>()?;
        Ok(Self { filters })
    }

    /// Whether `line` passes every filter.
    pub fn matches(&self, line: &str) -> bool {
        self.filters.iter().all(|f| {
            let any = f.any_of.iter().any(|m| m.is_match(line));
            any != f.negate
        })
    }
}

/// A `|>` pattern: literal pieces separated by `<_>` wildcards. A leading
/// literal must start the line; the others must follow in order.
pub struct LinePattern {
    anchored: bool,
    pieces: Vec<Finder<'static>>,
}

impl LinePattern {
    fn new(pattern: &str) -> Result<Self, QueryError> {
        if !pattern.contains("<_>") {
            return Err(QueryError::Plan(format!(
                "line filter pattern {pattern:?} has no <_> wildcard"
            )));
        }
        let pieces: Vec<&str> = pattern.split("<_>").collect();
        Ok(Self {
            anchored: !pieces[0].is_empty(),
            pieces: pieces
                .iter()
                .filter(|p| !p.is_empty())
                .map(|p| Finder::new(p.as_bytes()).into_owned())
                .collect(),
        })
    }

    fn is_match(&self, line: &str) -> bool {
        let mut rest = line.as_bytes();
        for (i, piece) in self.pieces.iter().enumerate() {
            match piece.find(rest) {
                Some(at) if i == 0 && self.anchored && at != 0 => return false,
                Some(at) => rest = &rest[at + piece.needle().len()..],
                None => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use basin_logql::{parse_log_query, Stage};

    use super::*;

    #[test]
    fn filters() {
        let check = |q: &str, line: &str, want: bool| {
            let query = parse_log_query(q).unwrap();
            let filters = LineFilters::new(query.stages.iter().filter_map(|s| match s {
                Stage::LineFilter(f) => Some(f),
                _ => None,
            }))
            .unwrap();
            assert_eq!(filters.matches(line), want, "{q} on {line}");
        };
        let line = "GET /api 500 took 12ms from 10.1.2.3";
        check(r#"{a="b"} |= "500""#, line, true);
        check(r#"{a="b"} |= "500" != "took""#, line, false);
        check(r#"{a="b"} |~ "5\\d\\d""#, line, true);
        check(r#"{a="b"} !~ "^GET""#, line, false);
        check(r#"{a="b"} |= "get""#, line, false);
        check(r#"{a="b"} |= "get" or "GET""#, line, true);
        check(r#"{a="b"} != "x" or "500""#, line, false);
        check(r#"{a="b"} |> "GET <_> 500 <_>""#, line, true);
        check(r#"{a="b"} |> "<_> 500 <_>""#, line, true);
        check(r#"{a="b"} |> "POST <_>""#, line, false);
        check(r#"{a="b"} !> "<_> 404 <_>""#, line, true);
        check(r#"{a="b"} |= ip("10.0.0.0/8")"#, line, true);
        check(r#"{a="b"} != ip("10.0.0.0/8")"#, line, false);
    }
}
