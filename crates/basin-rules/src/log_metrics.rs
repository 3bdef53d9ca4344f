//! Log metrics: counters and histograms updated as lines are accepted, not
//! by re-querying. Each rule is a LogQL log query (selector, filters,
//! parsers), a kind (lines counted, a field summed, a field's histogram),
//! and the labels to keep, with a cap on series per rule: past it, new
//! label sets go to one overflow series, and a counter says how many lines
//! went there. Exposed on `/metrics` with a `tenant` label.
//!
//! A push is measured before it is stored and the measure is applied once
//! the store accepted it, so only acknowledged lines count.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use basin_logql::{parse_bytes, parse_duration};
use basin_model::{Entry, Labels, PushBatch};
use serde::Deserialize;

use crate::gofmt::format_g;
use crate::validate::{is_label_name, is_metric_name};
use crate::RulesError;

/// A compiled log query, run on one entry at ingest.
pub trait LineMatcher: Send + Sync {
    /// Whether the selector matches a stream.
    fn matches_stream(&self, stream: &Labels) -> bool;
    /// Whether the entry passes the pipeline; if so, `values` holds the
    /// value of each of `names` after the pipeline (None: absent).
    fn extract(
        &self,
        stream: &Labels,
        entry: &Entry,
        names: &[String],
        values: &mut Vec<Option<String>>,
    ) -> bool;
    /// Whether the pipeline is line filters only: then labels are the
    /// stream's and [`LineMatcher::keeps`] decides alone.
    fn filters_only(&self) -> bool;
    /// Whether the line filters keep `line`.
    fn keeps(&self, line: &str) -> bool;
}

/// Compiles a log query whose results are read for the given names only,
/// for [`LogMetrics::new`].
pub type MatcherCompiler<'a> = &'a dyn Fn(&str, &[String]) -> Result<Box<dyn LineMatcher>, String>;

/// A rule as written under `log_metrics:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogMetricConfig {
    /// Metric name, e.g. `api_timeouts_total`.
    pub name: String,
    /// `# HELP` text.
    pub help: Option<String>,
    /// A LogQL log query: selector, filters, parsers.
    #[serde(rename = "match")]
    pub query: String,
    /// `counter` (lines, default), `sum` (of `field`) or `histogram` (of `field`).
    pub kind: Option<String>,
    /// The numeric field `sum` and `histogram` read.
    pub field: Option<String>,
    /// How the field reads: `number` (default), `duration` (seconds, from
    /// `250ms` or `1.5s`), `bytes` (from `10KB`).
    pub unit: Option<String>,
    /// Histogram bucket bounds, in the unit (`[0.1, 0.5, 1]`, `[100ms, 1s]`).
    pub buckets: Option<Vec<serde_yaml::Value>>,
    /// Label (or field) names whose values label the series.
    pub labels: Option<Vec<String>>,
    /// Most series per tenant (default 1000); the rest goes to the overflow series.
    pub max_series: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Counter,
    Sum,
    Histogram,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    Number,
    Duration,
    Bytes,
}

impl Unit {
    fn read(self, text: &str) -> Option<f64> {
        let text = text.trim();
        match self {
            Unit::Number => text.parse().ok(),
            Unit::Duration => parse_duration(text)
                .map(|ns| ns as f64 / 1e9)
                .or_else(|| text.parse().ok()),
            Unit::Bytes => parse_bytes(text)
                .map(|b| b as f64)
                .or_else(|| text.parse().ok()),
        }
    }
}

/// Label value of every kept label on the overflow series.
pub const OVERFLOW: &str = "__overflow__";
/// Default `max_series`.
const DEFAULT_MAX_SERIES: usize = 1000;

#[derive(Debug, Clone, Default)]
struct Acc {
    count: u64,
    sum: f64,
    buckets: Vec<u64>,
}

impl Acc {
    fn add(&mut self, other: &Acc) {
        self.count += other.count;
        self.sum += other.sum;
        if self.buckets.len() < other.buckets.len() {
            self.buckets.resize(other.buckets.len(), 0);
        }
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
    }
}

#[derive(Debug, Default)]
struct RuleState {
    /// (tenant, label values) → accumulated.
    series: HashMap<(String, Vec<String>), Acc>,
    /// Series per tenant, for the cap.
    per_tenant: HashMap<String, usize>,
    /// Lines that went to the overflow series, per tenant.
    overflow: HashMap<String, u64>,
    /// Lines whose field was missing or not a number, per tenant.
    unreadable: HashMap<String, u64>,
}

struct MetricRule {
    name: String,
    help: String,
    kind: Kind,
    unit: Unit,
    buckets: Vec<f64>,
    labels: Vec<String>,
    /// `labels`, then the field if any: what the matcher extracts.
    names: Vec<String>,
    max_series: usize,
    matcher: Box<dyn LineMatcher>,
    state: Mutex<RuleState>,
}

/// One series' label values and what a push adds to it.
type SeriesDelta = (Vec<String>, Acc);

/// What one push adds, per rule: series deltas in the order their lines
/// came (so the series cap admits the first ones), and unreadable fields.
#[derive(Debug, Default)]
pub struct Measure {
    rules: Vec<(Vec<SeriesDelta>, u64)>,
    tenant: String,
}

/// Every log metric rule.
#[derive(Default)]
pub struct LogMetrics {
    rules: Vec<MetricRule>,
}

impl std::fmt::Debug for LogMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LogMetrics({})", self.rules.len())
    }
}

fn bound(v: &serde_yaml::Value, unit: Unit) -> Option<f64> {
    match v {
        serde_yaml::Value::Number(n) => n.as_f64(),
        serde_yaml::Value::String(s) => unit.read(s),
        _ => None,
    }
}

impl LogMetrics {
    /// Compiles the rules; errors name the rule.
    pub fn new(configs: &[LogMetricConfig], compile: MatcherCompiler) -> Result<Self, RulesError> {
        let mut rules = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        for c in configs {
            let fail = |m: String| RulesError::Invalid(format!("log_metrics {:?}: {m}", c.name));
            if !is_metric_name(&c.name) {
                return Err(fail("invalid metric name".into()));
            }
            if !names.insert(c.name.clone()) {
                return Err(fail("the name is used twice".into()));
            }
            let kind = match c.kind.as_deref().unwrap_or("counter") {
                "counter" => Kind::Counter,
                "sum" => Kind::Sum,
                "histogram" => Kind::Histogram,
                other => {
                    return Err(fail(format!(
                        "invalid kind {other:?}: use counter, sum or histogram"
                    )))
                }
            };
            let unit = match c.unit.as_deref().unwrap_or("number") {
                "number" => Unit::Number,
                "duration" => Unit::Duration,
                "bytes" => Unit::Bytes,
                other => {
                    return Err(fail(format!(
                        "invalid unit {other:?}: use number, duration or bytes"
                    )))
                }
            };
            if kind != Kind::Counter && c.field.is_none() {
                return Err(fail("sum and histogram need a field".into()));
            }
            let mut buckets = Vec::new();
            if kind == Kind::Histogram {
                for b in c.buckets.iter().flatten() {
                    buckets
                        .push(bound(b, unit).ok_or_else(|| fail(format!("invalid bucket {b:?}")))?);
                }
                if buckets.is_empty() {
                    return Err(fail("a histogram needs buckets".into()));
                }
                if buckets.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(fail("buckets must rise".into()));
                }
            }
            let labels = c.labels.clone().unwrap_or_default();
            if let Some(bad) = labels
                .iter()
                .find(|l| !is_label_name(l) || l.as_str() == "tenant")
            {
                return Err(fail(format!(
                    "invalid label {bad:?} (tenant is added by Basin)"
                )));
            }
            let mut names = labels.clone();
            if kind != Kind::Counter {
                names.extend(c.field.clone());
            }
            let matcher = compile(&c.query, &names).map_err(|e| fail(format!("match: {e}")))?;
            rules.push(MetricRule {
                name: c.name.clone(),
                help: c
                    .help
                    .clone()
                    .unwrap_or_else(|| format!("Log metric {} ({})", c.name, c.query)),
                kind,
                unit,
                buckets,
                labels,
                names,
                max_series: c.max_series.unwrap_or(DEFAULT_MAX_SERIES).max(1),
                matcher,
                state: Mutex::new(RuleState::default()),
            });
        }
        Ok(Self { rules })
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Measures a push before it is stored.
    pub fn measure(&self, batch: &PushBatch) -> Measure {
        let mut measure = Measure {
            rules: Vec::with_capacity(self.rules.len()),
            tenant: batch.tenant.to_string(),
        };
        let mut values = Vec::new();
        for rule in &self.rules {
            let mut local: Vec<SeriesDelta> = Vec::new();
            let mut index: HashMap<Vec<String>, usize> = HashMap::new();
            let mut unreadable = 0;
            let counts_lines = rule.kind == Kind::Counter && rule.matcher.filters_only();
            for stream in &batch.streams {
                if stream.entries.is_empty() || !rule.matcher.matches_stream(&stream.labels) {
                    continue;
                }
                // Lines counted under the stream's own labels: one series
                // per stream, the lines only filtered.
                if counts_lines {
                    let key: Option<Vec<String>> = rule
                        .labels
                        .iter()
                        .map(|n| stream.labels.get(n).map(str::to_string))
                        .collect();
                    if let Some(key) = key {
                        let n = stream
                            .entries
                            .iter()
                            .filter(|e| rule.matcher.keeps(&e.line))
                            .count() as u64;
                        if n > 0 {
                            let at = *index.entry(key.clone()).or_insert_with(|| {
                                local.push((key, Acc::default()));
                                local.len() - 1
                            });
                            local[at].1.count += n;
                        }
                        continue;
                    }
                }
                for entry in &stream.entries {
                    values.clear();
                    if !rule
                        .matcher
                        .extract(&stream.labels, entry, &rule.names, &mut values)
                    {
                        continue;
                    }
                    let key: Vec<String> = values
                        .iter()
                        .take(rule.labels.len())
                        .map(|v| v.clone().unwrap_or_default())
                        .collect();
                    let x = match rule.kind {
                        Kind::Counter => None,
                        _ => match values
                            .get(rule.labels.len())
                            .cloned()
                            .flatten()
                            .and_then(|v| rule.unit.read(&v))
                        {
                            Some(x) if x.is_finite() => Some(x),
                            _ => {
                                unreadable += 1;
                                continue;
                            }
                        },
                    };
                    let at = *index.entry(key.clone()).or_insert_with(|| {
                        local.push((
                            key,
                            Acc {
                                buckets: vec![0; rule.buckets.len()],
                                ..Acc::default()
                            },
                        ));
                        local.len() - 1
                    });
                    let acc = &mut local[at].1;
                    acc.count += 1;
                    if let Some(x) = x {
                        acc.sum += x;
                        if let Some(i) = rule.buckets.iter().position(|b| x <= *b) {
                            acc.buckets[i] += 1;
                        }
                    }
                }
            }
            measure.rules.push((local, unreadable));
        }
        measure
    }

    /// Adds a measure once its push was stored.
    pub fn apply(&self, measure: Measure) {
        let tenant = measure.tenant;
        for (rule, (local, unreadable)) in self.rules.iter().zip(measure.rules) {
            if local.is_empty() && unreadable == 0 {
                continue;
            }
            let mut state = rule.state.lock().unwrap_or_else(|p| p.into_inner());
            if unreadable > 0 {
                *state.unreadable.entry(tenant.clone()).or_default() += unreadable;
            }
            for (key, acc) in local {
                let full_key = (tenant.clone(), key);
                if let Some(existing) = state.series.get_mut(&full_key) {
                    existing.add(&acc);
                    continue;
                }
                let count = state.per_tenant.get(&tenant).copied().unwrap_or(0);
                if count < rule.max_series {
                    state.per_tenant.insert(tenant.clone(), count + 1);
                    state.series.insert(full_key, acc);
                } else {
                    *state.overflow.entry(tenant.clone()).or_default() += acc.count;
                    let overflow_key = (
                        tenant.clone(),
                        vec![OVERFLOW.to_string(); rule.labels.len()],
                    );
                    state.series.entry(overflow_key).or_default().add(&acc);
                }
            }
        }
    }

    /// Every series in Prometheus' text format.
    pub fn render(&self, out: &mut String) {
        let mut overflow_rows = Vec::new();
        let mut unreadable_rows = Vec::new();
        for rule in &self.rules {
            let state = rule.state.lock().unwrap_or_else(|p| p.into_inner());
            let kind = match rule.kind {
                Kind::Histogram => "histogram",
                _ => "counter",
            };
            let _ = writeln!(out, "# HELP {} {}", rule.name, escape_help(&rule.help));
            let _ = writeln!(out, "# TYPE {} {kind}", rule.name);
            let mut keys: Vec<&(String, Vec<String>)> = state.series.keys().collect();
            keys.sort();
            for key in keys {
                let acc = &state.series[key];
                let labels = label_text(&key.0, &rule.labels, &key.1);
                match rule.kind {
                    Kind::Counter => {
                        let _ = writeln!(out, "{}{{{labels}}} {}", rule.name, acc.count);
                    }
                    Kind::Sum => {
                        let _ =
                            writeln!(out, "{}{{{labels}}} {}", rule.name, format_g(acc.sum, None));
                    }
                    Kind::Histogram => {
                        let mut cumulative = 0;
                        for (i, b) in rule.buckets.iter().enumerate() {
                            cumulative += acc.buckets.get(i).copied().unwrap_or(0);
                            let _ = writeln!(
                                out,
                                "{}_bucket{{{labels},le=\"{}\"}} {cumulative}",
                                rule.name,
                                format_g(*b, None)
                            );
                        }
                        let _ = writeln!(
                            out,
                            "{}_bucket{{{labels},le=\"+Inf\"}} {}",
                            rule.name, acc.count
                        );
                        let _ = writeln!(
                            out,
                            "{}_sum{{{labels}}} {}",
                            rule.name,
                            format_g(acc.sum, None)
                        );
                        let _ = writeln!(out, "{}_count{{{labels}}} {}", rule.name, acc.count);
                    }
                }
            }
            for (tenant, n) in &state.overflow {
                overflow_rows.push(format!(
                    "basin_log_metric_overflow_lines_total{{metric=\"{}\",tenant=\"{}\"}} {n}",
                    rule.name,
                    escape(tenant)
                ));
            }
            for (tenant, n) in &state.unreadable {
                unreadable_rows.push(format!(
                    "basin_log_metric_unreadable_lines_total{{metric=\"{}\",tenant=\"{}\"}} {n}",
                    rule.name,
                    escape(tenant)
                ));
            }
        }
        if self.rules.is_empty() {
            return;
        }
        out.push_str("# HELP basin_log_metric_overflow_lines_total Lines counted in a log metric's overflow series, past its max_series.\n# TYPE basin_log_metric_overflow_lines_total counter\n");
        overflow_rows.sort();
        for row in overflow_rows {
            let _ = writeln!(out, "{row}");
        }
        out.push_str("# HELP basin_log_metric_unreadable_lines_total Matching lines whose field was missing or not a number.\n# TYPE basin_log_metric_unreadable_lines_total counter\n");
        unreadable_rows.sort();
        for row in unreadable_rows {
            let _ = writeln!(out, "{row}");
        }
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn label_text(tenant: &str, names: &[String], values: &[String]) -> String {
    let mut parts = vec![format!("tenant=\"{}\"", escape(tenant))];
    for (n, v) in names.iter().zip(values) {
        parts.push(format!("{n}=\"{}\"", escape(v)));
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use basin_model::{StreamBatch, TenantId};

    /// Matches streams with `app=api` and lines holding the needle; fields
    /// come from `key=value` words in the line.
    struct Words(&'static str);

    impl LineMatcher for Words {
        fn matches_stream(&self, stream: &Labels) -> bool {
            stream.get("app") == Some("api")
        }
        fn filters_only(&self) -> bool {
            self.0 == "POST"
        }
        fn keeps(&self, line: &str) -> bool {
            line.contains(self.0)
        }
        fn extract(
            &self,
            _s: &Labels,
            entry: &Entry,
            names: &[String],
            values: &mut Vec<Option<String>>,
        ) -> bool {
            if !entry.line.contains(self.0) {
                return false;
            }
            for n in names {
                values.push(
                    entry
                        .line
                        .split(' ')
                        .find_map(|w| w.strip_prefix(&format!("{n}=")).map(str::to_string)),
                );
            }
            true
        }
    }

    fn config(yaml: &str) -> Vec<LogMetricConfig> {
        serde_yaml::from_str(yaml).expect("config")
    }

    fn batch(lines: &[&str]) -> PushBatch {
        PushBatch {
            tenant: TenantId::new("t1").expect("tenant"),
            streams: vec![
                StreamBatch {
                    labels: Labels::from_pairs(vec![("app".into(), "api".into())]).expect("labels"),
                    entries: lines.iter().map(|l| Entry::new(0, *l)).collect(),
                },
                StreamBatch {
                    labels: Labels::from_pairs(vec![("app".into(), "web".into())]).expect("labels"),
                    entries: lines.iter().map(|l| Entry::new(0, *l)).collect(),
                },
            ],
        }
    }

    fn metrics(yaml: &str) -> LogMetrics {
        LogMetrics::new(&config(yaml), &|_q: &str, _n: &[String]| {
            Ok(Box::new(Words("GET")) as Box<dyn LineMatcher>)
        })
        .expect("rules")
    }

    #[test]
    fn counter_sum_histogram() {
        let m = metrics(
            "- name: requests_total
  match: '{app=\"api\"} |= \"GET\"'
  labels: [status]
- name: bytes_total
  match: '{app=\"api\"}'
  kind: sum
  field: size
  unit: bytes
- name: latency_seconds
  match: '{app=\"api\"}'
  kind: histogram
  field: took
  unit: duration
  buckets: [100ms, 1s]
",
        );
        let b = batch(&[
            "GET status=200 size=1KB took=50ms",
            "GET status=500 size=10 took=2s",
            "GET status=200 size=x took=300ms",
            "POST status=200",
        ]);
        let measure = m.measure(&b);
        m.apply(measure);
        let mut out = String::new();
        m.render(&mut out);
        assert!(
            out.contains("requests_total{tenant=\"t1\",status=\"200\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("requests_total{tenant=\"t1\",status=\"500\"} 1\n"),
            "{out}"
        );
        assert!(out.contains("bytes_total{tenant=\"t1\"} 1010\n"), "{out}");
        assert!(
            out.contains(
                "basin_log_metric_unreadable_lines_total{metric=\"bytes_total\",tenant=\"t1\"} 1"
            ),
            "{out}"
        );
        assert!(
            out.contains("latency_seconds_bucket{tenant=\"t1\",le=\"0.1\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("latency_seconds_bucket{tenant=\"t1\",le=\"1\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("latency_seconds_bucket{tenant=\"t1\",le=\"+Inf\"} 3\n"),
            "{out}"
        );
        assert!(
            out.contains("latency_seconds_sum{tenant=\"t1\"} 2.3"),
            "{out}"
        );
        assert!(out.contains("# TYPE latency_seconds histogram"), "{out}");
    }

    #[test]
    fn filter_only_counters_count_per_stream() {
        // "POST" makes the test matcher a line-filter-only one: lines are
        // counted per stream under its labels, without extracting.
        let m = LogMetrics::new(
            &config("- {name: posts_total, match: '{app=\"api\"}', labels: [app]}\n- {name: by_word_total, match: '{app=\"api\"}', labels: [word]}"),
            &|_q: &str, _n: &[String]| Ok(Box::new(Words("POST")) as Box<dyn LineMatcher>),
        )
        .expect("rules");
        let b = batch(&["POST word=a", "GET word=b", "POST word=c"]);
        m.apply(m.measure(&b));
        let mut out = String::new();
        m.render(&mut out);
        assert!(
            out.contains("posts_total{tenant=\"t1\",app=\"api\"} 2\n"),
            "{out}"
        );
        // A label the stream lacks: the line-by-line path.
        assert!(
            out.contains("by_word_total{tenant=\"t1\",word=\"a\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("by_word_total{tenant=\"t1\",word=\"c\"} 1\n"),
            "{out}"
        );
    }

    #[test]
    fn series_cap_goes_to_overflow() {
        let m = metrics(
            "- name: by_user_total
  match: '{app=\"api\"}'
  labels: [user]
  max_series: 2
",
        );
        let b = batch(&[
            "GET user=a",
            "GET user=b",
            "GET user=c",
            "GET user=d",
            "GET user=a",
        ]);
        m.apply(m.measure(&b));
        let mut out = String::new();
        m.render(&mut out);
        assert_eq!(out.matches("by_user_total{").count(), 3, "{out}");
        assert!(
            out.contains("by_user_total{tenant=\"t1\",user=\"__overflow__\"} 2"),
            "{out}"
        );
        assert!(
            out.contains(
                "basin_log_metric_overflow_lines_total{metric=\"by_user_total\",tenant=\"t1\"} 2"
            ),
            "{out}"
        );
    }

    #[test]
    fn bad_rules_are_named() {
        let err = |yaml: &str| {
            LogMetrics::new(&config(yaml), &|_q: &str, _n: &[String]| {
                Ok(Box::new(Words("x")) as Box<dyn LineMatcher>)
            })
            .expect_err("invalid")
            .to_string()
        };
        assert!(err("- {name: 'a b', match: '{a=\"b\"}'}").contains("invalid metric name"));
        assert!(
            err("- {name: h, match: '{a=\"b\"}', kind: histogram, field: x}")
                .contains("needs buckets")
        );
        assert!(err("- {name: s, match: '{a=\"b\"}', kind: sum}").contains("need a field"));
        assert!(err("- {name: c, match: '{a=\"b\"}', labels: [tenant]}").contains("invalid label"));
    }
}
