//! Checks a group as Loki's ruler does, with its messages, and a little
//! more: durations must parse, expressions must be metric queries, and
//! templates must be ones Basin can render.

use std::collections::BTreeSet;

use basin_logql::{parse_duration, parse_expr, Expr};

use crate::group::{Rule, RuleGroup};
use crate::new_patterns::is_new_patterns;
use crate::template::{AlertData, Template};

/// Validates a file's groups: each group, and names unique in the file.
pub fn validate_groups(groups: &[RuleGroup]) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, group) in groups.iter().enumerate() {
        if group.name.is_empty() {
            errors.push(format!("group {}: Groupname must not be empty", i + 1));
            continue;
        }
        if !seen.insert(group.name.as_str()) {
            errors.push(format!(
                "groupname: \"{}\" is repeated in the same file",
                group.name
            ));
        }
        if let Err(e) = validate_group(group) {
            errors.extend(e);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Validates one group and its rules; every problem is listed.
pub fn validate_group(group: &RuleGroup) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    if group.name.is_empty() {
        errors.push("group 1: Groupname must not be empty".to_string());
    }
    if let Some(interval) = &group.interval {
        if parse_duration(interval).is_none_or(|d| d <= 0) {
            errors.push(format!(
                "group {:?}: invalid interval {interval:?}: use a positive duration like 30s or 1m",
                group.name
            ));
        }
    }
    for rule in &group.rules {
        validate_rule(&group.name, rule, &mut errors);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn validate_rule(group: &str, rule: &Rule, errors: &mut Vec<String>) {
    let (kind, name) = match (&rule.record, &rule.alert) {
        (Some(_), Some(_)) => {
            errors.push(format!(
                "group {group:?}: only one of 'record' and 'alert' must be set"
            ));
            return;
        }
        (None, None) => {
            errors.push(format!(
                "group {group:?}: one of 'record' or 'alert' must be set"
            ));
            return;
        }
        (Some(r), None) => ("record", r.as_str()),
        (None, Some(a)) => ("alert", a.as_str()),
    };
    let mut fail =
        |message: String| errors.push(format!("group {group:?}, {kind} '{name}': {message}"));
    if rule.expr.trim().is_empty() {
        fail("field 'expr' must be set in rule".into());
    } else if is_new_patterns(&rule.expr) {
        if kind == "record" {
            fail("new_patterns() raises alerts; a recording rule needs a metric query".into());
        } else if let Err(e) = crate::new_patterns::parse(&rule.expr) {
            fail(format!(
                "could not parse expression for {kind} '{name}' in group '{group}': {e}"
            ));
        }
    } else {
        match parse_expr(&rule.expr) {
            Err(e) => fail(format!(
                "could not parse expression for {kind} '{name}' in group '{group}': {e}"
            )),
            Ok(Expr::Log(_)) => fail(
                "the expression is a log query; a rule needs a metric query such as count_over_time({...} |= \"error\" [5m])".into(),
            ),
            Ok(Expr::Metric(_)) => {}
        }
    }
    for (key, value) in [
        ("for", &rule.for_),
        ("keep_firing_for", &rule.keep_firing_for),
    ] {
        if let Some(v) = value {
            if parse_duration(v).is_none() {
                fail(format!("invalid {key} {v:?}: use a duration like 5m"));
            }
        }
    }
    if kind == "record" {
        if !rule.annotations.is_empty() {
            fail("invalid field 'annotations' in recording rule".into());
        }
        if rule.for_.is_some() {
            fail("invalid field 'for' in recording rule".into());
        }
        if !is_metric_name(name) {
            fail(format!("invalid recording rule name: {name}"));
        }
    }
    for (key, value) in &rule.labels {
        if !is_label_name(key) || key == "__name__" {
            fail(format!("invalid label name: {key}"));
        }
        if kind == "alert" {
            if let Err(e) = try_render(value, rule) {
                fail(format!("label {key:?}: {e}"));
            }
        }
    }
    for (key, value) in &rule.annotations {
        if !is_label_name(key) {
            fail(format!("invalid annotation name: {key}"));
        }
        if let Err(e) = try_render(value, rule) {
            fail(format!("annotation {key:?}: {e}"));
        }
    }
}

/// Parses a template and renders it once with the rule's own labels and a
/// value of 1, so errors that only show when rendering show at save time.
fn try_render(text: &str, rule: &Rule) -> Result<(), crate::template::TemplateError> {
    let data = AlertData {
        labels: rule.labels.clone(),
        value: 1.0,
        ..AlertData::default()
    };
    Template::parse(text)?.render(&data).map(|_| ())
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`: what Alertmanager 0.25 accepts.
pub fn is_label_name(name: &str) -> bool {
    basin_model::is_valid_label_name(name)
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::parse_group;

    fn errors(yaml: &str) -> String {
        parse_group(yaml).expect_err("invalid").to_string()
    }

    #[test]
    fn loki_messages() {
        assert!(errors("name: g\nrules:\n  - expr: x\n")
            .contains("one of 'record' or 'alert' must be set"));
        assert!(
            errors("name: g\nrules:\n  - alert: a\n    record: b\n    expr: x\n")
                .contains("only one of 'record' and 'alert' must be set")
        );
        assert!(
            errors("name: g\nrules:\n  - alert: a\n").contains("field 'expr' must be set in rule")
        );
        assert!(errors(
            "name: g\nrules:\n  - record: 'bad name'\n    expr: count_over_time({a=\"b\"}[1m])\n"
        )
        .contains("invalid recording rule name: bad name"));
        assert!(errors("name: g\nrules:\n  - record: r\n    for: 1m\n    expr: count_over_time({a=\"b\"}[1m])\n")
            .contains("invalid field 'for' in recording rule"));
        assert!(errors("name: g\nrules:\n  - alert: a\n    expr: count_over_time({a=\"b\"}[1m])\n    labels:\n      __name__: x\n")
            .contains("invalid label name: __name__"));
        assert!(errors("name: g\nrules:\n  - alert: a\n    expr: count_over_time({a=\"b\"}[1m])\n    annotations:\n      s: '{{ $labels.x '\n")
            .contains("annotation \"s\""));
        assert!(
            errors("name: g\nrules:\n  - alert: a\n    expr: '{a=\"b\"}'\n").contains("log query")
        );
        assert!(errors("name: ''\nrules: []\n").contains("Groupname must not be empty"));
        assert!(errors("name: g\ninterval: soon\nrules: []\n").contains("invalid interval"));
    }

    #[test]
    fn repeated_group_names() {
        let groups = vec![
            RuleGroup {
                name: "g".into(),
                ..Default::default()
            };
            2
        ];
        let err = validate_groups(&groups).expect_err("repeated");
        assert_eq!(err, vec!["groupname: \"g\" is repeated in the same file"]);
    }
}
