//! New-pattern alerts: `expr: new_patterns({app="api"})` fires for each
//! pattern first seen in the group's last interval among the selected
//! streams' lines at level warn or above (or the level given second,
//! `new_patterns({app="api"} |= "pay", "error")`), with its template, level,
//! count and lines. So "a new kind of error appeared" reaches people
//! without anyone writing a query for it.
//!
//! It is written as a rule's `expr` so that rule files keep Loki's shape
//! and Grafana lists and edits these rules like any other.

use basin_logql::{parse_log_query, LogExpr};
use basin_model::level::level_from_value;

/// The function name that marks a new-pattern rule.
const FUNCTION: &str = "new_patterns";

/// A new-pattern rule: which lines, from which level up.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPatterns {
    /// The streams and filters whose lines count.
    pub log: LogExpr,
    /// The lowest level that alerts (normalised: `warn`, `error`, ...).
    pub min_level: &'static str,
}

/// A pattern first seen in a window, as the query engine reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPattern {
    /// Its id (`| pattern_id="..."` selects its lines).
    pub id: u64,
    /// The template, `<_>` for variable parts.
    pub pattern: String,
    /// The level most of its lines in the window have (`unknown` if none).
    pub level: String,
    /// Its lines in the window.
    pub count: u64,
}

/// Rank of a normalised level; unknown levels rank below every other.
pub fn level_rank(level: &str) -> u8 {
    match level {
        "trace" => 1,
        "debug" => 2,
        "info" => 3,
        "warn" => 4,
        "error" => 5,
        "fatal" => 6,
        _ => 0,
    }
}

/// Whether `expr` is written as a new-pattern rule (whether or not it is
/// a valid one).
pub fn is_new_patterns(expr: &str) -> bool {
    expr.trim_start().starts_with(&format!("{FUNCTION}("))
}

/// Parses `new_patterns(<log query>[, "<level>"])`.
pub fn parse(expr: &str) -> Result<NewPatterns, String> {
    let inner = expr
        .trim()
        .strip_prefix(FUNCTION)
        .map(str::trim_start)
        .and_then(|s| s.strip_prefix('('))
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| {
            format!("write {FUNCTION}({{app=\"api\"}}) or {FUNCTION}({{app=\"api\"}}, \"error\")")
        })?;
    let (query, level) = split_level(inner);
    let log = parse_log_query(query.trim()).map_err(|e| format!("{FUNCTION}: {e}"))?;
    let min_level = match level {
        None => "warn",
        Some(text) => level_from_value(text)
            .filter(|l| level_rank(l) > 0)
            .ok_or_else(|| {
                format!("{FUNCTION}: unknown level {text:?}: use debug, info, warn, error or fatal")
            })?,
    };
    Ok(NewPatterns { log, min_level })
}

/// Splits a trailing `, "level"` off the arguments.
fn split_level(inner: &str) -> (&str, Option<&str>) {
    let trimmed = inner.trim_end();
    if let Some(without_quote) = trimmed.strip_suffix('"') {
        if let Some(open) = without_quote.rfind('"') {
            let before = without_quote[..open].trim_end();
            if let Some(query) = before.strip_suffix(',') {
                return (query, Some(&without_quote[open + 1..]));
            }
        }
    }
    (inner, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let p = parse("new_patterns({app=\"api\"})").expect("plain");
        assert_eq!(p.min_level, "warn");
        assert_eq!(p.log.to_string(), "{app=\"api\"}");
        let p = parse("new_patterns({app=\"api\", env=\"prod\"} |= \"a, \\\"b\\\"\", \"ERROR\")")
            .expect("level");
        assert_eq!(p.min_level, "error");
        assert_eq!(p.log.stages.len(), 1);
        let p = parse("new_patterns({app=\"api\"} |= \"x\")").expect("filter");
        assert_eq!(p.min_level, "warn");
        assert!(parse("new_patterns({app=\"api\"}, \"loud\")").is_err());
        assert!(parse("new_patterns(nope)").is_err());
        assert!(is_new_patterns(" new_patterns({a=\"b\"})"));
        assert!(!is_new_patterns("count_over_time({a=\"b\"}[1m])"));
    }
}
