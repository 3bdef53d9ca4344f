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
}

/// A compiled stream selector.
pub struct StreamFilter {
    matchers: Vec<(String, Compiled)>,
}

impl StreamFilter {
    /// Compiles matchers; regexes are anchored at both ends, as in Prometheus.
    pub fn new(matchers: &[Matcher]) -> Result<Self, QueryError> {
        let anchored = |re: &str| {
            Regex::new(&format!("^(?:{re})$")).map_err(|e| QueryError::InvalidRegex {
                regex: re.to_string(),
                msg: e.to_string(),
            })
        };
        let matchers = matchers
            .iter()
            .map(|m| {
                let compiled = match m.op {
                    MatchOp::Eq => Compiled::Eq(m.value.clone()),
                    MatchOp::Neq => Compiled::Neq(m.value.clone()),
                    MatchOp::Re => Compiled::Re(anchored(&m.value)?),
                    MatchOp::NotRe => Compiled::NotRe(anchored(&m.value)?),
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
    }
}
