//! The rules' state as the Prometheus API shows it (`/prometheus/api/v1/rules`
//! and `/alerts`), in the shape Loki's ruler answers, which Grafana reads.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use basin_logql::parse_expr;
use basin_model::TenantId;

use crate::alerting::{Alert, AlertState};
use crate::gofmt::format_e;
use crate::ruler::{RuleBody, RuleRun, Ruler};

/// Filters of `GET /prometheus/api/v1/rules`, in either spelling
/// (`rule_name` and `rule_name[]`).
#[derive(Debug, Default)]
pub struct RulesFilter {
    /// `alert` or `record`.
    pub kind: Option<String>,
    /// Rule names to keep.
    pub rule_names: Vec<String>,
    /// Group names to keep.
    pub rule_groups: Vec<String>,
    /// Namespaces to keep.
    pub files: Vec<String>,
    /// Leave out each rule's alerts.
    pub exclude_alerts: bool,
}

impl RulesFilter {
    /// Reads the filters from query pairs; a bad `type` is an error.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Self, String> {
        let mut f = Self::default();
        for (k, v) in pairs {
            match k.trim_end_matches("[]") {
                "type" => {
                    let kind = v.to_ascii_lowercase();
                    if kind != "alert" && kind != "record" {
                        return Err(format!("not supported value {v:?}"));
                    }
                    f.kind = Some(kind);
                }
                "rule_name" => f.rule_names.push(v.clone()),
                "rule_group" => f.rule_groups.push(v.clone()),
                "file" => f.files.push(v.clone()),
                "exclude_alerts" => f.exclude_alerts = v == "true",
                _ => {}
            }
        }
        Ok(f)
    }
}

fn time(ns: Option<i64>) -> String {
    match ns {
        Some(ns) => {
            DateTime::<Utc>::from_timestamp_nanos(ns).to_rfc3339_opts(SecondsFormat::AutoSi, true)
        }
        None => "0001-01-01T00:00:00Z".into(),
    }
}

/// The expression as the ruler parsed it, printed back.
fn canonical(text: &str) -> String {
    if crate::new_patterns::is_new_patterns(text) {
        return text.trim().to_string();
    }
    match parse_expr(text) {
        Ok(e) => e.to_string(),
        Err(_) => text.to_string(),
    }
}

fn alert_json(a: &Alert) -> Value {
    json!({
        "labels": a.labels,
        "annotations": a.annotations,
        "state": a.state.as_str(),
        "activeAt": time(Some(a.active_at)),
        "value": format_e(a.value),
        // Basin's own: the lines that matched at the last notification.
        "sampleLines": a.sample_lines.iter().map(|l| json!({
            "ts": l.ts.to_string(),
            "labels": l.labels,
            "line": l.line,
        })).collect::<Vec<_>>(),
    })
}

fn active(alerts: &[&Alert]) -> Vec<Value> {
    alerts
        .iter()
        .filter(|a| a.state != AlertState::Inactive)
        .map(|a| alert_json(a))
        .collect()
}

fn rule_json(rule: &RuleRun, exclude_alerts: bool) -> Value {
    let common = |v: &mut Value| {
        v["health"] = json!(rule.health.as_str());
        v["lastError"] = json!(rule.last_error);
        v["lastEvaluation"] = json!(time(rule.last_evaluation));
        v["evaluationTime"] = json!(rule.evaluation_time);
    };
    let secs = |d: &Option<String>| {
        d.as_deref()
            .and_then(basin_logql::parse_duration)
            .map_or(0.0, |ns| ns as f64 / 1e9)
    };
    let mut v = if rule.def.alert.is_some() {
        let alerts: Vec<&Alert> = match &rule.body {
            RuleBody::Alerting(a) => a.alerts.values().collect(),
            _ => Vec::new(),
        };
        let state = alerts
            .iter()
            .map(|a| a.state)
            .max()
            .unwrap_or(AlertState::Inactive);
        json!({
            "state": state.as_str(),
            "name": rule.def.name(),
            "query": canonical(&rule.def.expr),
            "duration": secs(&rule.def.for_),
            "keepFiringFor": secs(&rule.def.keep_firing_for),
            "labels": rule.def.labels,
            "annotations": rule.def.annotations,
            "alerts": if exclude_alerts { Vec::new() } else { active(&alerts) },
            "type": "alerting",
        })
    } else {
        json!({
            "name": rule.def.name(),
            "query": canonical(&rule.def.expr),
            "labels": rule.def.labels,
            "type": "recording",
        })
    };
    common(&mut v);
    v
}

/// `GET /prometheus/api/v1/rules` for `tenant`.
pub fn prometheus_rules(ruler: &Ruler, tenant: &TenantId, filter: &RulesFilter) -> Value {
    let mut groups = Vec::new();
    for (key, g) in ruler.groups(tenant) {
        if !filter.files.is_empty() && !filter.files.contains(&key.namespace) {
            continue;
        }
        if !filter.rule_groups.is_empty() && !filter.rule_groups.contains(&key.name) {
            continue;
        }
        let rules: Vec<Value> = g
            .rules
            .iter()
            .filter(|r| match filter.kind.as_deref() {
                Some("alert") => r.def.alert.is_some(),
                Some("record") => r.def.record.is_some(),
                _ => true,
            })
            .filter(|r| {
                filter.rule_names.is_empty() || filter.rule_names.iter().any(|n| n == r.def.name())
            })
            .map(|r| rule_json(r, filter.exclude_alerts))
            .collect();
        if rules.is_empty() {
            continue;
        }
        groups.push(json!({
            "name": key.name,
            "file": key.namespace,
            "rules": rules,
            "interval": g.interval_ns as f64 / 1e9,
            "limit": g.def.limit,
            "lastEvaluation": time(g.last_evaluation),
            "evaluationTime": g.evaluation_time,
        }));
    }
    json!({"status": "success", "data": {"groups": groups}, "errorType": "", "error": ""})
}

/// `GET /prometheus/api/v1/alerts` for `tenant`: pending and firing alerts.
pub fn prometheus_alerts(ruler: &Ruler, tenant: &TenantId) -> Value {
    let mut alerts = Vec::new();
    for (_, g) in ruler.groups(tenant) {
        for r in &g.rules {
            if let RuleBody::Alerting(a) = &r.body {
                let list: Vec<&Alert> = a.alerts.values().collect();
                alerts.extend(active(&list));
            }
        }
    }
    json!({"status": "success", "data": {"alerts": alerts}, "errorType": "", "error": ""})
}
