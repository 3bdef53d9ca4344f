//! Line filters (`|=`, `!=`, `|~`, `!~`) compiled for fast matching.

use basin_logql::{LineFilter, LineFilterOp};
use memchr::memmem::Finder;
use regex::Regex;

use crate::QueryError;

enum Compiled {
    Contains(Finder<'static>),
    NotContains(Finder<'static>),
    Re(Regex),
    NotRe(Regex),
}

/// A chain of line filters, all of which a line must pass.
pub struct LineFilters {
    filters: Vec<Compiled>,
}

impl LineFilters {
    /// Compiles the filters.
    pub fn new(filters: &[LineFilter]) -> Result<Self, QueryError> {
        let regex = |re: &str| {
            Regex::new(re).map_err(|e| QueryError::InvalidRegex {
                regex: re.to_string(),
                msg: e.to_string(),
            })
        };
        let filters = filters
            .iter()
            .map(|f| {
                Ok(match f.op {
                    LineFilterOp::Contains => {
                        Compiled::Contains(Finder::new(f.value.as_bytes()).into_owned())
                    }
                    LineFilterOp::NotContains => {
                        Compiled::NotContains(Finder::new(f.value.as_bytes()).into_owned())
                    }
                    LineFilterOp::Re => Compiled::Re(regex(&f.value)?),
                    LineFilterOp::NotRe => Compiled::NotRe(regex(&f.value)?),
                })
            })
            .collect::<Result<_, QueryError>>()?;
        Ok(Self { filters })
    }

    /// Whether `line` passes every filter.
    pub fn matches(&self, line: &str) -> bool {
        self.filters.iter().all(|f| match f {
            Compiled::Contains(finder) => finder.find(line.as_bytes()).is_some(),
            Compiled::NotContains(finder) => finder.find(line.as_bytes()).is_none(),
            Compiled::Re(re) => re.is_match(line),
            Compiled::NotRe(re) => !re.is_match(line),
        })
    }
}

#[cfg(test)]
mod tests {
    use basin_logql::parse_log_query;

    use super::*;

    #[test]
    fn filters() {
        let check = |q: &str, line: &str, want: bool| {
            let query = parse_log_query(q).unwrap();
            let filters = LineFilters::new(&query.filters).unwrap();
            assert_eq!(filters.matches(line), want, "{q} on {line}");
        };
        let line = "GET /api 500 took 12ms";
        check(r#"{a="b"} |= "500""#, line, true);
        check(r#"{a="b"} |= "500" != "took""#, line, false);
        check(r#"{a="b"} |~ "5\\d\\d""#, line, true);
        check(r#"{a="b"} !~ "^GET""#, line, false);
        check(r#"{a="b"} |= "get""#, line, false);
    }
}
