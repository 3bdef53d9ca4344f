//! One alerting rule's alerts and Prometheus' state machine over them:
//! a labelset that appears is pending, fires once it has held for `for`,
//! keeps firing for `keep_firing_for` after it clears, then is resolved and
//! kept 15 minutes so the resolution is re-sent.

use std::collections::{BTreeMap, BTreeSet};

use basin_logql::{LogRange, MetricExpr};
use serde::{Deserialize, Serialize};

use crate::new_patterns::NewPatterns;
use crate::querier::{Sample, SampleLine};
use crate::template::{expand, AlertData};

/// An alert instance's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Resolved (kept for a while to re-send the resolution).
    Inactive,
    /// True, but not yet for `for`.
    Pending,
    /// True for `for` or longer.
    Firing,
}

impl AlertState {
    /// As the Prometheus API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One alert: a rule's result for one labelset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Result labels, rule labels and `alertname`.
    pub labels: BTreeMap<String, String>,
    /// Rendered annotations.
    pub annotations: BTreeMap<String, String>,
    /// Where it stands.
    pub state: AlertState,
    /// The value of the last evaluation that held.
    pub value: f64,
    /// When it became pending (ns).
    pub active_at: i64,
    /// When it began firing.
    pub fired_at: Option<i64>,
    /// When it was resolved.
    pub resolved_at: Option<i64>,
    /// When it was last sent to Alertmanagers and receivers.
    pub last_sent_at: Option<i64>,
    /// The `endsAt` of the last send: receivers resolve it by themselves after.
    pub valid_until: Option<i64>,
    /// First evaluation that no longer held, while `keep_firing_for` runs.
    pub keep_firing_since: Option<i64>,
    /// Log lines that matched when it was last sent.
    #[serde(default)]
    pub sample_lines: Vec<SampleLine>,
}

/// How long a resolved alert is kept to re-send its resolution (Prometheus').
pub const RESOLVED_RETENTION_NS: i64 = 15 * 60 * 1_000_000_000;

/// What templates see besides the alert itself.
#[derive(Debug, Clone, Default)]
pub struct TemplateEnv {
    /// Labels added to every alert.
    pub external_labels: BTreeMap<String, String>,
    /// Where Basin is reached.
    pub external_url: String,
}

/// One result of an evaluation: labels, rendered annotations, value.
type Instance = (BTreeMap<String, String>, BTreeMap<String, String>, f64);

/// What an alerting rule evaluates.
#[derive(Debug, Clone)]
pub enum AlertSource {
    /// A LogQL metric query: each series is an alert.
    Metric(MetricExpr),
    /// `new_patterns(...)`: each pattern new in the interval is an alert.
    NewPatterns(NewPatterns),
}

/// An alerting rule with its alerts.
#[derive(Debug, Clone)]
pub struct AlertingRule {
    /// `alert:`.
    pub name: String,
    /// What raises its alerts.
    pub source: AlertSource,
    /// `for`, ns.
    pub for_ns: i64,
    /// `keep_firing_for`, ns.
    pub keep_firing_for_ns: i64,
    /// Label templates.
    pub labels: BTreeMap<String, String>,
    /// Annotation templates.
    pub annotations: BTreeMap<String, String>,
    /// Alerts by fingerprint of their labels.
    pub alerts: BTreeMap<u64, Alert>,
}

impl AlertingRule {
    /// Applies one evaluation at `ts`. On error (too many alerts, clashing
    /// labelsets) the alerts are left as they were, except for `limit`,
    /// which clears them as Prometheus does.
    pub fn apply(
        &mut self,
        ts: i64,
        samples: &[Sample],
        env: &TemplateEnv,
        limit: u64,
    ) -> Result<(), String> {
        let mut current: BTreeMap<u64, Instance> = BTreeMap::new();
        for sample in samples {
            let mut result = sample.labels.clone();
            result.remove("__name__");
            let data = AlertData {
                labels: result.clone(),
                value: sample.value,
                external_labels: env.external_labels.clone(),
                external_url: env.external_url.clone(),
            };
            let mut labels = result;
            for (k, v) in &self.labels {
                labels.insert(k.clone(), expand(v, &data));
            }
            labels.insert("alertname".into(), self.name.clone());
            let annotations = self
                .annotations
                .iter()
                .map(|(k, v)| (k.clone(), expand(v, &data)))
                .collect();
            let fp = fingerprint(&labels);
            if current
                .insert(fp, (labels, annotations, sample.value))
                .is_some()
            {
                return Err(
                    "vector contains metrics with the same labelset after applying alert labels"
                        .into(),
                );
            }
        }
        let active = current.len() as u64;
        if limit > 0 && active > limit {
            self.alerts.clear();
            return Err(format!("exceeded limit of {limit} with {active} alerts"));
        }
        let seen: BTreeSet<u64> = current.keys().copied().collect();
        for (fp, (labels, annotations, value)) in current {
            match self.alerts.get_mut(&fp) {
                Some(alert) if alert.state != AlertState::Inactive => {
                    alert.value = value;
                    alert.annotations = annotations;
                    alert.keep_firing_since = None;
                }
                _ => {
                    self.alerts.insert(
                        fp,
                        Alert {
                            labels,
                            annotations,
                            state: AlertState::Pending,
                            value,
                            active_at: ts,
                            fired_at: None,
                            resolved_at: None,
                            last_sent_at: None,
                            valid_until: None,
                            keep_firing_since: None,
                            sample_lines: Vec::new(),
                        },
                    );
                }
            }
        }
        let (for_ns, keep_ns) = (self.for_ns, self.keep_firing_for_ns);
        self.alerts.retain(|fp, alert| {
            if seen.contains(fp) {
                if alert.state == AlertState::Pending && ts - alert.active_at >= for_ns {
                    alert.state = AlertState::Firing;
                    alert.fired_at = Some(ts);
                }
                return true;
            }
            match alert.state {
                AlertState::Pending => false,
                AlertState::Firing => {
                    if keep_ns > 0 {
                        let since = *alert.keep_firing_since.get_or_insert(ts);
                        if ts - since < keep_ns {
                            return true;
                        }
                    }
                    alert.state = AlertState::Inactive;
                    alert.resolved_at = Some(ts);
                    true
                }
                AlertState::Inactive => alert
                    .resolved_at
                    .is_some_and(|r| ts - r < RESOLVED_RETENTION_NS),
            }
        });
        Ok(())
    }

    /// The rule's state: the highest of its alerts'.
    pub fn state(&self) -> AlertState {
        self.alerts
            .values()
            .map(|a| a.state)
            .max()
            .unwrap_or(AlertState::Inactive)
    }
}

/// Whether an alert is due to be sent at `ts` (Prometheus' rule): never
/// while pending; at once when resolved since the last send; otherwise
/// once `resend_delay` has passed.
pub fn needs_sending(alert: &Alert, ts: i64, resend_delay_ns: i64) -> bool {
    if alert.state == AlertState::Pending {
        return false;
    }
    if let Some(resolved) = alert.resolved_at {
        if alert.last_sent_at.is_none_or(|sent| resolved > sent) {
            return true;
        }
    }
    alert
        .last_sent_at
        .is_none_or(|sent| sent + resend_delay_ns < ts)
}

/// The first window an expression reads: where its sample lines come from.
pub fn first_range(expr: &MetricExpr) -> Option<&LogRange> {
    match expr {
        MetricExpr::Range { range, .. } => Some(range),
        MetricExpr::Vector { expr, .. } => first_range(expr),
        MetricExpr::Binary { lhs, rhs, .. } => first_range(lhs).or_else(|| first_range(rhs)),
        MetricExpr::LabelReplace { expr, .. } | MetricExpr::Paren(expr) => first_range(expr),
        MetricExpr::Number(_) | MetricExpr::VectorLit(_) => None,
    }
}

/// Alertmanager's fingerprint of a label set: FNV-1a 64 over each name and
/// value, sorted by name, each followed by 0xFF.
pub fn fingerprint(labels: &BTreeMap<String, String>) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for (name, value) in labels {
        for b in name
            .bytes()
            .chain([0xFF])
            .chain(value.bytes())
            .chain([0xFF])
        {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    fn rule(for_s: i64, keep_s: i64) -> AlertingRule {
        AlertingRule {
            name: "Errors".into(),
            source: match basin_logql::parse_expr("count_over_time({a=\"b\"}[1m]) > 0") {
                Ok(basin_logql::Expr::Metric(m)) => AlertSource::Metric(m),
                other => panic!("{other:?}"),
            },
            for_ns: for_s * S,
            keep_firing_for_ns: keep_s * S,
            labels: BTreeMap::from([("severity".to_string(), "page".to_string())]),
            annotations: BTreeMap::from([(
                "summary".to_string(),
                "{{ $labels.job }} has {{ $value }}".to_string(),
            )]),
            alerts: BTreeMap::new(),
        }
    }

    fn sample(job: &str, v: f64) -> Sample {
        Sample {
            labels: BTreeMap::from([("job".to_string(), job.to_string())]),
            value: v,
        }
    }

    #[test]
    fn pending_firing_resolved() {
        let env = TemplateEnv::default();
        let mut r = rule(120, 0);
        r.apply(0, &[sample("api", 3.0)], &env, 0).expect("eval");
        assert_eq!(r.state(), AlertState::Pending);
        r.apply(60 * S, &[sample("api", 4.0)], &env, 0)
            .expect("eval");
        assert_eq!(r.state(), AlertState::Pending);
        r.apply(120 * S, &[sample("api", 5.0)], &env, 0)
            .expect("eval");
        assert_eq!(r.state(), AlertState::Firing);
        let alert = r.alerts.values().next().expect("one alert");
        assert_eq!(alert.fired_at, Some(120 * S));
        assert_eq!(alert.annotations["summary"], "api has 5");
        assert_eq!(alert.labels["alertname"], "Errors");
        assert_eq!(alert.labels["severity"], "page");
        r.apply(180 * S, &[], &env, 0).expect("eval");
        assert_eq!(r.state(), AlertState::Inactive);
        assert_eq!(
            r.alerts.values().next().and_then(|a| a.resolved_at),
            Some(180 * S)
        );
        r.apply(180 * S + RESOLVED_RETENTION_NS, &[], &env, 0)
            .expect("eval");
        assert!(r.alerts.is_empty());
    }

    #[test]
    fn pending_that_clears_is_forgotten_and_for_zero_fires_at_once() {
        let env = TemplateEnv::default();
        let mut r = rule(60, 0);
        r.apply(0, &[sample("api", 1.0)], &env, 0).expect("eval");
        r.apply(30 * S, &[], &env, 0).expect("eval");
        assert!(r.alerts.is_empty());
        let mut r = rule(0, 0);
        r.apply(0, &[sample("api", 1.0)], &env, 0).expect("eval");
        assert_eq!(r.state(), AlertState::Firing);
    }

    #[test]
    fn keep_firing_for_holds_then_resolves() {
        let env = TemplateEnv::default();
        let mut r = rule(0, 90);
        r.apply(0, &[sample("api", 1.0)], &env, 0).expect("eval");
        r.apply(60 * S, &[], &env, 0).expect("eval");
        assert_eq!(r.state(), AlertState::Firing);
        r.apply(120 * S, &[], &env, 0).expect("eval");
        assert_eq!(r.state(), AlertState::Firing);
        r.apply(180 * S, &[], &env, 0).expect("eval");
        assert_eq!(r.state(), AlertState::Inactive);
    }

    #[test]
    fn limit_clears_and_errors() {
        let env = TemplateEnv::default();
        let mut r = rule(0, 0);
        let err = r
            .apply(0, &[sample("a", 1.0), sample("b", 1.0)], &env, 1)
            .expect_err("over limit");
        assert_eq!(err, "exceeded limit of 1 with 2 alerts");
        assert!(r.alerts.is_empty());
    }

    #[test]
    fn sending_follows_prometheus() {
        let env = TemplateEnv::default();
        let mut r = rule(0, 0);
        r.apply(0, &[sample("api", 1.0)], &env, 0).expect("eval");
        let a = r.alerts.values_mut().next().expect("alert");
        assert!(needs_sending(a, 0, 60 * S));
        a.last_sent_at = Some(0);
        assert!(!needs_sending(a, 60 * S, 60 * S));
        assert!(needs_sending(a, 61 * S, 60 * S));
        a.resolved_at = Some(30 * S);
        a.state = AlertState::Inactive;
        assert!(needs_sending(a, 30 * S, 60 * S));
    }

    #[test]
    fn alertmanager_fingerprint() {
        // The webhook example of the alerting reference notes.
        let labels = BTreeMap::from([
            ("alertname".to_string(), "HighErrorRate".to_string()),
            ("job".to_string(), "api".to_string()),
            ("severity".to_string(), "page".to_string()),
        ]);
        assert_eq!(format!("{:016x}", fingerprint(&labels)), "8e6582a18bc324d3");
        assert_eq!(
            format!("{:016x}", fingerprint(&BTreeMap::new())),
            "cbf29ce484222325"
        );
    }
}
