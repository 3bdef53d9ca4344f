//! Label filters (`| status >= 500 and method="GET"`), typed as Loki types
//! them: strings and regexes, numbers, durations, byte sizes, IPs.

use basin_logql::{parse_bytes, parse_duration, CmpOp, LabelFilter, MatchOp};
use regex::Regex;

use crate::ip::IpPattern;
use crate::label_set::{LabelSet, ERROR_LABEL};
use crate::QueryError;

/// A compiled label filter.
pub enum CompiledFilter {
    And(Box<CompiledFilter>, Box<CompiledFilter>),
    Or(Box<CompiledFilter>, Box<CompiledFilter>),
    Str {
        name: String,
        op: MatchOp,
        value: String,
        re: Option<Regex>,
    },
    Num {
        name: String,
        op: CmpOp,
        value: f64,
    },
    Duration {
        name: String,
        op: CmpOp,
        value: i64,
    },
    Bytes {
        name: String,
        op: CmpOp,
        value: u64,
    },
    Ip {
        name: String,
        negate: bool,
        pattern: IpPattern,
    },
}

impl CompiledFilter {
    /// Compiles a filter; regexes are anchored, as label matchers are.
    pub fn new(f: &LabelFilter) -> Result<Self, QueryError> {
        Ok(match f {
            LabelFilter::And(a, b) => Self::And(Box::new(Self::new(a)?), Box::new(Self::new(b)?)),
            LabelFilter::Or(a, b) => Self::Or(Box::new(Self::new(a)?), Box::new(Self::new(b)?)),
            LabelFilter::Str { name, op, value } => Self::Str {
                name: name.clone(),
                op: *op,
                value: value.clone(),
                re: match op {
                    MatchOp::Re | MatchOp::NotRe => Some(crate::filter_line::compile_regex(
                        &format!("^(?s:{value})$"),
                    )?),
                    _ => None,
                },
            },
            LabelFilter::Num { name, op, value } => Self::Num {
                name: name.clone(),
                op: *op,
                value: *value,
            },
            LabelFilter::Duration { name, op, value } => Self::Duration {
                name: name.clone(),
                op: *op,
                value: *value,
            },
            LabelFilter::Bytes { name, op, value } => Self::Bytes {
                name: name.clone(),
                op: *op,
                value: *value,
            },
            LabelFilter::Ip {
                name,
                negate,
                pattern,
            } => Self::Ip {
                name: name.clone(),
                negate: *negate,
                pattern: IpPattern::new(pattern).map_err(QueryError::Plan)?,
            },
        })
    }

    /// The label names the filter reads, pushed onto `out`.
    pub fn names<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Self::And(a, b) | Self::Or(a, b) => {
                a.names(out);
                b.names(out);
            }
            Self::Str { name, .. }
            | Self::Num { name, .. }
            | Self::Duration { name, .. }
            | Self::Bytes { name, .. }
            | Self::Ip { name, .. } => out.push(name),
        }
    }

    /// Whether the line is kept. A value that does not convert keeps the line
    /// and marks it with `__error__="LabelFilterErr"`, as Loki does, so the
    /// problem shows instead of lines silently vanishing.
    pub fn keep(&self, labels: &mut LabelSet) -> bool {
        match self {
            Self::And(a, b) => a.keep(labels) && b.keep(labels),
            Self::Or(a, b) => a.keep(labels) || b.keep(labels),
            Self::Str {
                name,
                op,
                value,
                re,
            } => {
                let v = labels.get(name).unwrap_or("");
                match (op, re) {
                    (MatchOp::Eq, _) => v == value,
                    (MatchOp::Neq, _) => v != value,
                    (MatchOp::Re, Some(re)) => re.is_match(v),
                    (MatchOp::NotRe, Some(re)) => !re.is_match(v),
                    _ => false,
                }
            }
            Self::Num { name, op, value } => {
                typed(labels, name, *op, |v| v.trim().parse::<f64>().ok(), *value)
            }
            Self::Duration { name, op, value } => {
                typed(labels, name, *op, parse_go_duration, *value)
            }
            Self::Bytes { name, op, value } => typed(
                labels,
                name,
                *op,
                |v| parse_bytes(&v.replace(' ', "")),
                *value,
            ),
            Self::Ip {
                name,
                negate,
                pattern,
            } => {
                let hit = labels
                    .get(name)
                    .is_some_and(|v| pattern.matches_addr(v.trim()));
                hit != *negate
            }
        }
    }
}

fn typed<T: PartialOrd>(
    labels: &mut LabelSet,
    name: &str,
    op: CmpOp,
    parse: impl Fn(&str) -> Option<T>,
    want: T,
) -> bool {
    if labels.has_error() && name != ERROR_LABEL {
        // Only string matchers filter lines that already failed a stage.
        return true;
    }
    let Some(raw) = labels.get(name) else {
        return false;
    };
    match parse(raw) {
        Some(v) => op.holds(v, want),
        None => {
            let details = format!("cannot convert label {name}={raw:?} for comparison");
            labels.set_error("LabelFilterErr", details);
            true
        }
    }
}

/// A Go duration (`1.5s`, `250ms`, `1h2m3s`), or plain seconds.
pub fn parse_go_duration(text: &str) -> Option<i64> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let ns = parse_duration(t).or_else(|| t.parse::<f64>().ok().map(|s| (s * 1e9) as i64))?;
    Some(if neg { -ns } else { ns })
}

#[cfg(test)]
mod tests {
    use basin_logql::{parse_log_query, Stage};
    use basin_model::Labels;

    use super::*;

    fn keep(filter: &str, labels: &str) -> (bool, Option<String>) {
        let q = parse_log_query(&format!("{{a=\"b\"}} | {filter}")).unwrap();
        let Stage::LabelFilter(f) = &q.stages[0] else {
            panic!("not a label filter: {filter}");
        };
        let mut set = LabelSet::new(&Labels::parse(labels).unwrap(), &[]);
        let kept = CompiledFilter::new(f).unwrap().keep(&mut set);
        (kept, set.get("__error__").map(str::to_string))
    }

    #[test]
    fn typed_filters() {
        let l = r#"{status="503", took="1.5s", size="2KB", method="GET", ip="10.1.1.1", bad="x"}"#;
        let check = |f: &str, want: bool| assert_eq!(keep(f, l).0, want, "{f}");
        check("status >= 500", true);
        check("status == 503", true);
        check("status = 503", true);
        check("status < 500", false);
        check("took > 1s", true);
        check("took > 2s", false);
        check("size > 1KB", true);
        check("size <= 1999B", false);
        check(r#"method="GET""#, true);
        check(r#"method=~"G.*""#, true);
        check(r#"method=~"E""#, false);
        check(r#"method!~"POST|PUT""#, true);
        check(r#"status >= 500 and method="POST""#, false);
        check(r#"status >= 500 or method="POST""#, true);
        check(r#"ip = ip("10.0.0.0/8")"#, true);
        check(r#"ip != ip("10.0.0.0/8")"#, false);
        check("missing > 1", false);
        check(r#"missing="""#, true);
        assert_eq!(keep("bad > 1", l), (true, Some("LabelFilterErr".into())));
    }
}
