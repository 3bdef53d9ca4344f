//! The ruler: rule files checked offline, and Loki's ruler API as Grafana
//! and lokitool use it.

use std::process::Command;

use crate::common::*;

const GOOD: &str = "groups:
  - name: errors
    interval: 1m
    rules:
      - alert: HighErrorRate
        expr: sum by (job) (rate({app=\"api\"} |= \"error\" [5m])) > 0.05
        for: 10m
        labels:
          severity: page
        annotations:
          summary: High error rate on {{ $labels.job }} ({{ $value | humanizePercentage }})
      - record: app:errors:rate5m
        expr: sum by (job) (rate({app=\"api\"} |= \"error\" [5m]))
";

#[test]
fn rules_check_names_the_rule_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    std::fs::write(&good, GOOD).unwrap();
    let out = Command::new(BIN)
        .args(["rules", "check"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 groups, 2 rules: ok"));

    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        GOOD.replace("> 0.05", "> > 0.05")
            .replace("$labels.job }}", "$labels.job }"),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["rules", "check"])
        .arg(&good)
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.yaml"), "{err}");
    assert!(err.contains("alert 'HighErrorRate' (line 5)"), "{err}");
    assert!(err.contains("could not parse expression"), "{err}");
    assert!(err.contains("annotation \"summary\""), "{err}");
    assert!(err.contains("1 of 2 rule files are invalid"), "{err}");
}
