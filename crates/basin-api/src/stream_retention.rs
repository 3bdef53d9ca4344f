//! Retention per stream selector (`retention_stream:`, as Loki configures
//! it): streams a selector matches keep their lines for that rule's period
//! instead of `retention_period`. The compactor removes what expired every
//! `compaction_interval`, rewriting the parts that hold it.

use basin_logql::parse_log_query;
use basin_model::{Labels, TimestampNs};
use basin_query::StreamFilter;
use serde::Deserialize;

use crate::ApiError;

/// One rule as the config file writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamRetentionRule {
    /// A stream selector, e.g. `{env="dev"}`.
    pub selector: String,
    /// Where rules overlap, the highest priority wins.
    #[serde(default)]
    pub priority: i64,
    /// How long matching streams keep their lines, e.g. `24h`.
    pub period: String,
}

struct Compiled {
    streams: StreamFilter,
    priority: i64,
    period_ns: i64,
}

/// The rules, compiled.
#[derive(Default)]
pub struct StreamRetention {
    rules: Vec<Compiled>,
}

impl StreamRetention {
    /// Compiles rules; `global_ns` is `retention_period`, if set. A rule
    /// may only shorten it: parts past `retention_period` go whole.
    pub fn new(rules: &[StreamRetentionRule], global_ns: Option<i64>) -> Result<Self, ApiError> {
        let rules = rules
            .iter()
            .map(|r| {
                let bad = |msg: String| {
                    ApiError::BadRequest(format!("retention_stream {:?}: {msg}", r.selector))
                };
                let query = parse_log_query(&r.selector).map_err(|e| bad(e.to_string()))?;
                if !query.stages.is_empty() {
                    return Err(bad("a stream selector only, without pipeline stages".into()));
                }
                let period = humantime::parse_duration(r.period.trim())
                    .map_err(|e| bad(format!("invalid period {:?}: {e}", r.period)))?;
                let period_ns = i64::try_from(period.as_nanos()).unwrap_or(i64::MAX);
                if period_ns <= 0 {
                    return Err(bad("the period must be positive".into()));
                }
                if global_ns.is_some_and(|g| period_ns > g) {
                    return Err(bad(
                        "the period is longer than retention_period, which removes whole parts first"
                            .into(),
                    ));
                }
                Ok(Compiled {
                    streams: StreamFilter::new(&query.matchers)?,
                    priority: r.priority,
                    period_ns,
                })
            })
            .collect::<Result<_, ApiError>>()?;
        Ok(Self { rules })
    }

    /// Whether there are rules at all.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The newest time a rule could expire at `now`: nothing newer needs
    /// reading.
    pub fn oldest_cutoff(&self, now: TimestampNs) -> TimestampNs {
        self.rules
            .iter()
            .map(|r| now.saturating_sub(r.period_ns))
            .max()
            .unwrap_or(i64::MIN)
    }

    /// Whether a line of `labels` written at `ts` has expired at `now`,
    /// by the highest-priority rule matching its stream (the shortest
    /// period among equals).
    pub fn expired(&self, labels: &Labels, ts: TimestampNs, now: TimestampNs) -> bool {
        self.rules
            .iter()
            .filter(|r| r.streams.matches(labels))
            .max_by_key(|r| (r.priority, std::cmp::Reverse(r.period_ns)))
            .is_some_and(|r| ts < now.saturating_sub(r.period_ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000_000_000;

    fn rule(selector: &str, priority: i64, period: &str) -> StreamRetentionRule {
        StreamRetentionRule {
            selector: selector.into(),
            priority,
            period: period.into(),
        }
    }

    #[test]
    fn the_highest_priority_rule_decides() {
        let r = StreamRetention::new(
            &[
                rule(r#"{env="dev"}"#, 1, "1h"),
                rule(r#"{env="dev", app="audit"}"#, 5, "10h"),
            ],
            None,
        )
        .unwrap();
        let now = 100 * HOUR;
        let dev = Labels::parse(r#"{env="dev", app="web"}"#).unwrap();
        let audit = Labels::parse(r#"{env="dev", app="audit"}"#).unwrap();
        let prod = Labels::parse(r#"{env="prod"}"#).unwrap();
        assert!(r.expired(&dev, now - 2 * HOUR, now));
        assert!(!r.expired(&dev, now - HOUR / 2, now));
        assert!(!r.expired(&audit, now - 2 * HOUR, now));
        assert!(r.expired(&audit, now - 11 * HOUR, now));
        assert!(!r.expired(&prod, 0, now));
        assert_eq!(r.oldest_cutoff(now), now - HOUR);
    }

    #[test]
    fn bad_rules_are_refused_naming_the_selector() {
        for (rules, global) in [
            (vec![rule("{env=", 1, "1h")], None),
            (vec![rule(r#"{env="dev"} |= "x""#, 1, "1h")], None),
            (vec![rule(r#"{env="dev"}"#, 1, "soon")], None),
            (vec![rule(r#"{env="dev"}"#, 1, "48h")], Some(24 * HOUR)),
        ] {
            let err = StreamRetention::new(&rules, global).err().expect("refused");
            assert!(err.to_string().contains("retention_stream"), "{err}");
        }
    }
}
