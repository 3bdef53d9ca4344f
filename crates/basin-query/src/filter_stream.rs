//! Stream selectors compiled to a predicate over label sets.

use basin_logql::{MatchOp, Matcher};
use basin_model::Labels;
use regex::Regex;

use crate::QueryError;

enum Compiled {
    Eq(String),
    Neq(String),
    Re(Regex),
    NotRe(Regex),
    /// `=~".*"` or `=~".+"` (Grafana's "any value"), without a regex: a
    /// query's regexes are compiled anew and each stream of each part is
    /// matched. `.` matches anything but a line feed.
    AnyLine {
        non_empty: bool,
        negated: bool,
    },
}

impl Compiled {
    fn regex(re: &str, negated: bool) -> Result<Self, QueryError> {
        match re {
            ".*" | ".+" => {
                return Ok(Compiled::AnyLine {
                    non_empty: re == ".+",
                    negated,
                })
            }
            _ => {}
        }
        let anchored =
            Regex::new(&format!("^(?:{re})$")).map_err(|e| QueryError::InvalidRegex {
                regex: re.to_string(),
                msg: e.to_string(),
            })?;
        Ok(match negated {
            false => Compiled::Re(anchored),
            true => Compiled::NotRe(anchored),
        })
    }
}

/// A compiled stream selector.
pub struct StreamFilter {
    matchers: Vec<(String, Compiled)>,
}

impl StreamFilter {
    /// Compiles matchers; regexes are anchored at both ends, as in Prometheus.
    pub fn new(matchers: &[Matcher]) -> Result<Self, QueryError> {
        let matchers = matchers
            .iter()
            .map(|m| {
                let compiled = match m.op {
                    MatchOp::Eq => Compiled::Eq(m.value.clone()),
                    MatchOp::Neq => Compiled::Neq(m.value.clone()),
                    MatchOp::Re => Compiled::regex(&m.value, false)?,
                    MatchOp::NotRe => Compiled::regex(&m.value, true)?,
                };
                Ok((m.name.clone(), compiled))
            })
            .collect::<Result<_, QueryError>>()?;
        Ok(Self { matchers })
    }

    /// Whether a stream with `labels` is selected (a missing label reads as "").
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matchers.iter().all(|(name, m)| {
            let value = labels.get(name).unwrap_or("");
            match m {
                Compiled::Eq(v) => value == v,
                Compiled::Neq(v) => value != v,
                Compiled::Re(re) => re.is_match(value),
                Compiled::NotRe(re) => !re.is_match(value),
                Compiled::AnyLine { non_empty, negated } => {
                    let fails = value.contains('\n') || (*non_empty && value.is_empty());
                    fails == *negated
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use basin_logql::parse_log_query;

    use super::*;

    #[test]
    fn matchers() {
        let labels = Labels::parse(r#"{app="api", env="prod"}"#).unwrap();
        let check = |q: &str, want: bool| {
            let query = parse_log_query(q).unwrap();
            let filter = StreamFilter::new(&query.matchers).unwrap();
            assert_eq!(filter.matches(&labels), want, "{q}");
        };
        check(r#"{app="api"}"#, true);
        check(r#"{app="api", env!="prod"}"#, false);
        check(r#"{app=~"a.i"}"#, true);
        check(r#"{app=~"a"}"#, false);
        check(r#"{env="prod", app!~"web|db"}"#, true);
        check(r#"{app="api", team=""}"#, true);
        check(r#"{app="api", team!=""}"#, false);
        check(r#"{app="api", env=~"prod|dev"}"#, true);
        check(r#"{app=~".+"}"#, true);
        check(r#"{app="api", team=~".+"}"#, false);
        check(r#"{app="api", team=~".*"}"#, true);
        check(r#"{app="api", env!~".+"}"#, false);
        check(r#"{app="api", team!~".+"}"#, true);
        check(r#"{app="api", team!~".*"}"#, false);
    }

    #[test]
    fn any_value_matchers_agree_with_their_regex() {
        for re in [".*", ".+"] {
            let anchored = Regex::new(&format!("^(?:{re})$")).unwrap();
            for negated in [false, true] {
                let fast = Compiled::regex(re, negated).unwrap();
                assert!(matches!(fast, Compiled::AnyLine { .. }));
                let filter = StreamFilter {
                    matchers: vec![("v".to_string(), fast)],
                };
                for value in ["", "a", "a b", "a\nb", "\n", "ünï"] {
                    let labels =
                        Labels::from_pairs([("v".to_string(), value.to_string())]).unwrap();
                    let want = anchored.is_match(value) != negated;
                    assert_eq!(filter.matches(&labels), want, "{re} {negated} {value:?}");
                }
            }
        }
    }
}
