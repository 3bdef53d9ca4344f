//! Rule groups as Loki's ruler reads and writes them: a rule file holds
//! `groups:`; the ruler API posts and returns one group. Only keys that are
//! set are written back, because Grafana decodes the answer strictly and an
//! unknown key fails its whole rule list.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::validate::{validate_group, validate_groups};
use crate::RulesError;

/// A rule group: rules evaluated in order at one timestamp, every `interval`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RuleGroup {
    /// Unique within its namespace.
    #[serde(default)]
    pub name: String,
    /// How often the group runs (Prometheus duration); absent: the ruler's
    /// `evaluation_interval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Most series (recording) or alerts (alerting) per rule; 0: no limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub limit: u64,
    /// The rules, evaluated in this order.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// One recording or alerting rule, as written.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Rule {
    /// The metric name a recording rule writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// The alert name of an alerting rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    /// A LogQL metric query.
    #[serde(default)]
    pub expr: String,
    /// How long a condition must hold before the alert fires.
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    /// How long a firing alert keeps firing after its condition clears.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_firing_for: Option<String>,
    /// Labels added to each result (templated for alerts).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations of each alert (templated).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// Whether a rule records a series or raises alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// `record:`.
    Recording,
    /// `alert:`.
    Alerting,
}

impl Rule {
    /// The rule's name: its record or alert name.
    pub fn name(&self) -> &str {
        self.alert
            .as_deref()
            .or(self.record.as_deref())
            .unwrap_or("")
    }

    /// Recording or alerting (alerting when both are set; validation
    /// refuses that).
    pub fn kind(&self) -> RuleKind {
        if self.alert.is_some() {
            RuleKind::Alerting
        } else {
            RuleKind::Recording
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A rule file: `groups:` at the top.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RuleFile {
    /// The file's groups.
    #[serde(default)]
    pub groups: Vec<RuleGroup>,
}

/// Keys a group may have. Grafana may send the ones Basin does not use
/// (`source_tenants`, `query_offset`, ...); they are accepted and ignored.
const GROUP_KEYS: &[&str] = &[
    "name",
    "interval",
    "limit",
    "rules",
    "query_offset",
    "evaluation_delay",
    "align_evaluation_time_on_interval",
    "source_tenants",
    "labels",
];

/// Keys a rule may have.
const RULE_KEYS: &[&str] = &[
    "record",
    "alert",
    "expr",
    "for",
    "keep_firing_for",
    "labels",
    "annotations",
];

/// Parses and validates a rule file (`groups:`). Unknown keys are errors,
/// so a typo does not silently drop a setting; errors name the group, the
/// rule and the line.
pub fn parse_file(text: &str) -> Result<RuleFile, RulesError> {
    let value: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| RulesError::Invalid(format!("not YAML: {e}")))?;
    if value.is_null() {
        return Ok(RuleFile::default());
    }
    let top = value
        .as_mapping()
        .ok_or_else(|| RulesError::Invalid("a rule file is a mapping with `groups:`".into()))?;
    for key in top.keys() {
        if key.as_str() != Some("groups") {
            return Err(RulesError::Invalid(format!(
                "unknown key {} at the top of the file: a rule file holds `groups:` (one group alone is what the ruler API takes)",
                key_text(key)
            )));
        }
    }
    if let Some(groups) = top.get("groups").and_then(|g| g.as_sequence()) {
        for (i, group) in groups.iter().enumerate() {
            check_group_keys(group, i, text)?;
        }
    }
    let file: RuleFile = serde_yaml::from_value(value)
        .map_err(|e| RulesError::Invalid(format!("not a rule file: {e}")))?;
    validate_groups(&file.groups).map_err(|errors| located(errors, text))?;
    Ok(file)
}

/// Parses and validates one group as the ruler API receives it: leniently,
/// unknown keys ignored, as Grafana may send newer ones.
pub fn parse_group(text: &str) -> Result<RuleGroup, RulesError> {
    let group: RuleGroup = serde_yaml::from_str(text)
        .map_err(|e| RulesError::Invalid(format!("unable to decode rule group: {e}")))?;
    validate_group(&group).map_err(|errors| RulesError::Invalid(errors.join(", ")))?;
    Ok(group)
}

/// A group as YAML, the shape `GET /loki/api/v1/rules/{ns}/{group}` answers.
pub fn group_yaml(group: &RuleGroup) -> String {
    serde_yaml::to_string(group).unwrap_or_default()
}

/// Groups by namespace as YAML, the shape of `GET /loki/api/v1/rules`.
pub fn namespaces_yaml(namespaces: &BTreeMap<String, Vec<RuleGroup>>) -> String {
    serde_yaml::to_string(namespaces).unwrap_or_default()
}

/// A rule file's text for `groups`.
pub fn file_yaml(groups: &[RuleGroup]) -> String {
    serde_yaml::to_string(&RuleFile {
        groups: groups.to_vec(),
    })
    .unwrap_or_default()
}

fn key_text(key: &serde_yaml::Value) -> String {
    match key.as_str() {
        Some(s) => format!("{s:?}"),
        None => format!("{key:?}"),
    }
}

fn check_group_keys(group: &serde_yaml::Value, index: usize, text: &str) -> Result<(), RulesError> {
    let Some(map) = group.as_mapping() else {
        return Err(RulesError::Invalid(format!(
            "group {}: a group is a mapping with name, interval and rules",
            index + 1
        )));
    };
    let name = map.get("name").and_then(|v| v.as_str()).unwrap_or("");
    for key in map.keys() {
        if !key.as_str().is_some_and(|k| GROUP_KEYS.contains(&k)) {
            return Err(RulesError::Invalid(format!(
                "group {:?}{}: unknown key {}",
                name,
                line_of(text, "name", name),
                key_text(key)
            )));
        }
    }
    for rule in map
        .get("rules")
        .and_then(|r| r.as_sequence())
        .into_iter()
        .flatten()
    {
        let Some(rule) = rule.as_mapping() else {
            continue;
        };
        let (kind, rule_name) = ["alert", "record"]
            .iter()
            .find_map(|k| rule.get(*k).and_then(|v| v.as_str()).map(|v| (*k, v)))
            .unwrap_or(("alert", ""));
        for key in rule.keys() {
            if !key.as_str().is_some_and(|k| RULE_KEYS.contains(&k)) {
                return Err(RulesError::Invalid(format!(
                    "group {name:?}, rule {rule_name:?}{}: unknown key {}",
                    line_of(text, kind, rule_name),
                    key_text(key)
                )));
            }
        }
    }
    Ok(())
}

/// Adds the line of each rule an error names (`rule "X"` → `rule "X" (line 12)`).
fn located(errors: Vec<String>, text: &str) -> RulesError {
    let messages: Vec<String> = errors
        .into_iter()
        .map(|message| {
            for kind in ["alert", "record"] {
                let marker = format!("{kind} '");
                if let Some(start) = message.find(&marker) {
                    let rest = &message[start + marker.len()..];
                    if let Some(end) = rest.find('\'') {
                        let at = line_of(text, kind, &rest[..end]);
                        if !at.is_empty() {
                            return format!(
                                "{}{at}: {}",
                                &message[..start + marker.len() + end + 1],
                                &rest[end + 1..].trim_start_matches(':').trim_start()
                            );
                        }
                    }
                }
            }
            message
        })
        .collect();
    RulesError::Invalid(messages.join("\n"))
}

/// ` (line N)` for the first line that reads `key: value`, or empty.
fn line_of(text: &str, key: &str, value: &str) -> String {
    if value.is_empty() {
        return String::new();
    }
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_start().trim_start_matches("- ").trim_start();
        if let Some(rest) = line.strip_prefix(key).and_then(|r| r.strip_prefix(':')) {
            let rest = rest.trim().trim_matches(|c| c == '"' || c == '\'');
            if rest == value {
                return format!(" (line {})", n + 1);
            }
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "groups:
  - name: errors
    interval: 1m
    rules:
      - alert: HighErrorRate
        expr: sum by (job) (rate({app=\"api\"} |= \"error\" [5m])) > 0.05
        for: 10m
        labels:
          severity: page
        annotations:
          summary: High error rate on {{ $labels.job }}
      - record: app:errors:rate5m
        expr: sum by (job) (rate({app=\"api\"} |= \"error\" [5m]))
";

    #[test]
    fn file_parses_and_writes_back_only_set_keys() {
        let file = parse_file(FILE).expect("valid");
        assert_eq!(file.groups.len(), 1);
        let group = &file.groups[0];
        assert_eq!(group.rules[0].kind(), RuleKind::Alerting);
        assert_eq!(group.rules[1].name(), "app:errors:rate5m");
        let yaml = group_yaml(group);
        assert!(!yaml.contains("limit"), "{yaml}");
        assert!(!yaml.contains("keep_firing_for"), "{yaml}");
        assert_eq!(parse_group(&yaml).expect("round trip"), *group);
    }

    #[test]
    fn unknown_keys_in_files_name_rule_and_line() {
        let text = FILE.replace("        for: 10m", "        fore: 10m");
        let err = parse_file(&text).expect_err("typo").to_string();
        assert!(
            err.contains("HighErrorRate") && err.contains("line 5") && err.contains("fore"),
            "{err}"
        );
    }

    #[test]
    fn a_single_group_is_not_a_file() {
        let err = parse_file("name: x\nrules: []\n")
            .expect_err("not a file")
            .to_string();
        assert!(err.contains("groups"), "{err}");
    }

    #[test]
    fn bad_expression_names_rule_and_line() {
        let text = FILE.replace("> 0.05", "> > 0.05");
        let err = parse_file(&text).expect_err("bad").to_string();
        assert!(err.contains("'HighErrorRate' (line 5)"), "{err}");
    }

    #[test]
    fn api_groups_ignore_keys_grafana_adds() {
        let group = parse_group("name: g\nsource_tenants: [a]\nquery_offset: 1m\nrules:\n  - record: x\n    expr: count_over_time({a=\"b\"}[1m])\n").expect("lenient");
        assert_eq!(group.rules.len(), 1);
    }
}
