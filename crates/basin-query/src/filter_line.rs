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

/// A text every line `re` matches contains, if the regex says one: the
/// longest common prefix of the literals every match starts with, or the
/// longest common suffix of those every match ends with, whichever is
/// longer (`[0-9]{4}ms` gives `ms`). Storage then skips lines without it
/// before rebuilding them.
pub(crate) fn required_text(re: &str) -> Option<String> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::parse(re).ok()?;
    let common = |kind: ExtractKind| -> Option<Vec<u8>> {
        let prefix = matches!(kind, ExtractKind::Prefix);
        let mut extractor = Extractor::new();
        extractor.kind(kind);
        let seq = extractor.extract(&hir);
        let literals = seq.literals()?;
        let (first, rest) = literals.split_first()?;
        let mut common: &[u8] = first.as_bytes();
        for lit in rest {
            let lit = lit.as_bytes();
            let n = if prefix {
                common.iter().zip(lit).take_while(|(a, b)| a == b).count()
            } else {
                common
                    .iter()
                    .rev()
                    .zip(lit.iter().rev())
                    .take_while(|(a, b)| a == b)
                    .count()
            };
            common = if prefix {
                &common[..n]
            } else {
                &common[common.len() - n..]
            };
        }
        Some(common.to_vec())
    };
    let prefix = common(ExtractKind::Prefix).unwrap_or_default();
    let suffix = common(ExtractKind::Suffix).unwrap_or_default();
    let best = if suffix.len() > prefix.len() {
        suffix
    } else {
        prefix
    };
    // A cut inside a character is no text to look for.
    String::from_utf8(best).ok().filter(|t| !t.is_empty())
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
    #[test]
    fn regexes_give_the_text_every_match_holds() {
        let check = |re: &str, want: Option<&str>| {
            assert_eq!(required_text(re).as_deref(), want, "{re}");
            // What is required is in every line the regex matches.
            if let Some(text) = want {
                for line in [
                    "x 1234ms y",
                    "timeout after 30s",
                    "GET /api/v1",
                    "user 7 failed",
                ] {
                    if regex::Regex::new(re).unwrap().is_match(line) {
                        assert!(line.contains(text), "{re} matched {line:?}");
                    }
                }
            }
        };
        check("[0-9]{4}ms", Some("ms"));
        check(r"timeout after \d+s", Some("timeout after "));
        check("^GET /api", Some("GET /api"));
        check(r"user \d+ failed", Some(" failed"));
        check("error|warn", None);
        check("(?i)error", None);
        check(".*", None);
        check("[", None);
    }

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
