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

const GROUP: &str = "name: errors
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

/// The calls Grafana makes to list, create, read and delete data
/// source-managed rules, on both of Loki's prefixes, for two tenants.
#[test]
fn ruler_api_round_trip_as_grafana_uses_it() {
    let server = Server::start("");
    for prefix in ["/api/prom/rules", "/loki/api/v1/rules"] {
        let a = Some("team-a");
        let b = Some("team-b");
        // Feature discovery: the state API answers JSON, the probe says
        // "group does not exist", so Grafana offers editing.
        let (status, ct, body) = server.request("GET", "/prometheus/api/v1/rules", a, None);
        assert_eq!(status, 200, "{body}");
        assert!(ct.contains("json"), "{ct}");
        let (status, _, body) = server.request("GET", &format!("{prefix}/test/test"), a, None);
        assert_eq!(status, 404);
        assert!(body.contains("group does not exist"), "{body}");
        let (status, _, body) = server.request("GET", prefix, a, None);
        assert_eq!(status, 404);
        assert!(body.contains("no rule groups found"), "{body}");

        // Save: Grafana posts the whole group as YAML, with no content type.
        let ns = format!("{prefix}/team%2Fapi");
        let (status, ct, body) = server.request("POST", &ns, a, Some(GROUP));
        assert_eq!(status, 202, "{body}");
        assert!(ct.contains("json"), "{ct}");
        let envelope: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            envelope,
            serde_json::json!({"status": "success", "data": null, "errorType": "", "error": ""})
        );

        // List: namespace → groups, in YAML.
        let (status, ct, body) = server.request("GET", prefix, a, None);
        assert_eq!(status, 200, "{body}");
        assert!(ct.contains("yaml"), "{ct}");
        let listed: serde_yaml::Value = serde_yaml::from_str(&body).unwrap();
        let groups = listed["team/api"].as_sequence().unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0]["name"].as_str(), Some("errors"));
        assert_eq!(groups[0]["rules"][0]["for"].as_str(), Some("10m"));
        assert!(
            groups[0].get("limit").is_none(),
            "unset keys are not written: {body}"
        );
        let (_, _, body) = server.request("GET", &ns, a, None);
        let by_ns: serde_yaml::Value = serde_yaml::from_str(&body).unwrap();
        assert_eq!(by_ns["team/api"][0]["name"].as_str(), Some("errors"));
        let (status, _, body) = server.request("GET", &format!("{ns}/errors"), a, None);
        assert_eq!(status, 200);
        let group: serde_yaml::Value = serde_yaml::from_str(&body).unwrap();
        assert_eq!(
            group["rules"][1]["record"].as_str(),
            Some("app:errors:rate5m")
        );

        // State, in Prometheus JSON, with both filter spellings.
        let (_, _, body) = server.request("GET", "/prometheus/api/v1/rules", a, None);
        let state: serde_json::Value = serde_json::from_str(&body).unwrap();
        let g = &state["data"]["groups"][0];
        assert_eq!(g["file"], "team/api");
        assert_eq!(g["interval"], 60.0);
        assert_eq!(g["rules"][0]["type"], "alerting");
        assert_eq!(g["rules"][0]["duration"], 600.0);
        assert_eq!(g["rules"][0]["alerts"], serde_json::json!([]));
        assert_eq!(g["rules"][1]["type"], "recording");
        // The expression as parsed and printed back.
        let query = g["rules"][0]["query"].as_str().unwrap();
        assert!(
            query.starts_with("sum by (job)") && query.ends_with("> 0.05"),
            "{query}"
        );
        let (_, _, body) = server.request(
            "GET",
            "/prometheus/api/v1/rules?type=record&file[]=team/api",
            a,
            None,
        );
        let state: serde_json::Value = serde_json::from_str(&body).unwrap();
        let rules = state["data"]["groups"][0]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0]["name"], "app:errors:rate5m");
        let (status, _, _) = server.request("GET", "/prometheus/api/v1/rules?type=foo", a, None);
        assert_eq!(status, 400);

        // Tenant isolation.
        let (status, _, _) = server.request("GET", prefix, b, None);
        assert_eq!(status, 404);
        let (_, _, body) = server.request("GET", "/prometheus/api/v1/rules", b, None);
        let state: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(state["data"]["groups"], serde_json::json!([]));
        let (status, _, _) = server.request("DELETE", &format!("{ns}/errors"), b, None);
        assert_eq!(status, 404);

        // A bad group is refused with the reason.
        let (status, _, body) = server.request(
            "POST",
            &ns,
            a,
            Some("name: bad\nrules:\n  - alert: X\n    expr: 'sum(('\n"),
        );
        assert_eq!(status, 400);
        assert!(
            body.contains("could not parse expression for alert 'X'"),
            "{body}"
        );

        // Delete the group: gone from the config and the state API.
        let (status, _, _) = server.request("DELETE", &format!("{ns}/errors"), a, None);
        assert_eq!(status, 202);
        let (status, _, body) = server.request("GET", &format!("{ns}/errors"), a, None);
        assert_eq!(status, 404);
        assert!(body.contains("group does not exist"));
        let (_, _, body) = server.request("GET", "/prometheus/api/v1/rules", a, None);
        let state: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(state["data"]["groups"], serde_json::json!([]));
        let (status, _, body) = server.request("DELETE", &ns, a, None);
        assert_eq!(status, 404);
        assert!(body.contains("group namespace does not exist"));
    }
}

/// Waits up to `secs` for `done`, polling.
fn wait_for(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if done() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

fn alert_states(server: &Server) -> Vec<String> {
    let (_, _, body) = server.request("GET", "/prometheus/api/v1/alerts", Some("shop"), None);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["data"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["state"].as_str().unwrap().to_string())
        .collect()
}

/// An alert on the real binary: errors in the logs make it pending, then
/// firing; the webhook and the Slack stand-in each get one firing message
/// with the error lines in it; Basin restarts while it fires, which sends
/// nothing new; the errors stop and both get the resolution.
#[test]
fn alert_fires_with_lines_survives_restart_and_resolves() {
    let hook = crate::capture::Capture::start(200, "");
    let slack = crate::capture::Capture::start(200, "ok");
    let mut server = Server::start(&format!(
        "ruler:
  evaluation_interval: 1s
  resend_delay: 1s
  external_url: http://basin.example
  sample_lines: 3
  receivers:
    - name: team-hook
      webhook_url: {}/hook
      group_wait: 0s
      group_interval: 1s
    - name: team-slack
      slack_webhook_url: {}/services/T0/B0/X0
      group_wait: 0s
      group_interval: 1s
",
        hook.url, slack.url
    ));
    let (status, _, body) = server.request(
        "POST",
        "/loki/api/v1/rules/payments",
        Some("shop"),
        Some(
            "name: payments
interval: 1s
rules:
  - alert: PaymentErrors
    expr: sum by (app) (count_over_time({app=\"pay\"} |= \"ERROR\" [3s])) > 0
    for: 2s
    labels:
      severity: page
    annotations:
      summary: '{{ $value }} payment errors in {{ $labels.app }}'
",
        ),
    );
    assert_eq!(status, 202, "{body}");
    // Errors from now to 20 s ahead, four a second, among normal lines: the
    // condition holds until about 23 s from now, across the restart, even
    // on a busy machine.
    let t0 = now_ns();
    let mut values = Vec::new();
    for i in 0..84i64 {
        let ts = t0 - 1_000_000_000 + i * 250_000_000;
        values.push(serde_json::json!([
            ts.to_string(),
            format!("ERROR card declined order={i}")
        ]));
        values.push(serde_json::json!([
            (ts + 1).to_string(),
            format!("INFO order={i} accepted")
        ]));
    }
    server.push_json(
        Some("shop"),
        &json_body(serde_json::json!({"app": "pay"}), values),
    );

    let mut seen_pending = false;
    wait_for(20, "the alert to fire", || {
        let states = alert_states(&server);
        seen_pending |= states.iter().any(|s| s == "pending");
        states.iter().any(|s| s == "firing")
    });
    assert!(seen_pending, "pending before firing (for: 2s)");
    wait_for(10, "the firing notifications", || {
        hook.json().len() == 1 && slack.json().len() == 1
    });

    let firing = &hook.json()[0];
    assert_eq!(firing["status"], "firing");
    assert_eq!(firing["receiver"], "team-hook");
    let alert = &firing["alerts"][0];
    assert_eq!(alert["labels"]["alertname"], "PaymentErrors");
    assert_eq!(alert["labels"]["app"], "pay");
    assert!(alert["annotations"]["summary"]
        .as_str()
        .unwrap()
        .ends_with("payment errors in pay"));
    let lines = alert["sampleLines"].as_array().unwrap();
    assert!(!lines.is_empty() && lines.len() <= 3, "{lines:?}");
    assert!(lines.iter().all(|l| l["line"]
        .as_str()
        .unwrap()
        .starts_with("ERROR card declined")));
    assert!(alert["generatorURL"]
        .as_str()
        .unwrap()
        .starts_with("http://basin.example/loki/api/v1/query_range?query="));
    let message = &slack.json()[0];
    let text = message["text"].as_str().unwrap();
    assert!(
        text.starts_with("[FIRING:1] PaymentErrors: ERROR card declined"),
        "{text}"
    );
    let section = message["blocks"][1]["text"]["text"].as_str().unwrap();
    assert!(section.contains("```ERROR card declined"), "{section}");
    let posted = slack.requests.lock().unwrap()[0].clone();
    assert_eq!(posted.path, "/services/T0/B0/X0");
    assert_eq!(posted.content_type, "application/json");

    // Restart while it fires: the alert is still firing afterwards and
    // nobody is told again.
    let (code, _) = server.terminate();
    assert_eq!(code, Some(0));
    server.spawn();
    wait_for(10, "the ruler to evaluate after the restart", || {
        alert_states(&server) == ["firing"]
    });
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(hook.json().len(), 1, "no second firing after the restart");

    // The errors end: both receivers hear it.
    wait_for(40, "the resolution", || {
        hook.json().len() == 2 && slack.json().len() == 2
    });
    let resolved = &hook.json()[1];
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["alerts"][0]["status"], "resolved");
    assert!(slack.json()[1]["text"]
        .as_str()
        .unwrap()
        .starts_with("[RESOLVED] PaymentErrors"));
    assert!(alert_states(&server).is_empty());
    let metrics = server.metrics();
    assert!(
        metrics.contains(
            "basin_ruler_notifications_total{receiver=\"team-hook\",integration=\"webhook\"} 1"
        ),
        "{metrics}"
    );
}

/// A new-pattern rule on the real binary: a new kind of error line raises
/// one alert with its pattern and lines; known patterns and new patterns
/// below warn raise none.
#[test]
fn new_error_pattern_alerts_once() {
    let hook = crate::capture::Capture::start(200, "");
    let server = Server::start(&format!(
        "ruler:
  evaluation_interval: 1s
  resend_delay: 1s
  receivers:
    - name: team-hook
      webhook_url: {}/hook
      group_wait: 0s
      group_interval: 1s
      group_by: [alertname, pattern_id]
",
        hook.url
    ));
    let push = |values: Vec<serde_json::Value>| {
        server.push_json(None, &json_body(serde_json::json!({"app": "api"}), values));
    };
    // A known error pattern, first seen an hour ago.
    let hour_ago = now_ns() - 3_600_000_000_000;
    push(
        (0..5i64)
            .map(|i| {
                serde_json::json!([
                    (hour_ago + i).to_string(),
                    format!("ERROR connection reset by peer 10.0.0.{i}")
                ])
            })
            .collect(),
    );
    let (status, _, body) = server.request(
        "POST",
        "/loki/api/v1/rules/patterns",
        None,
        Some(
            "name: new-errors
interval: 2s
rules:
  - alert: NewErrorPattern
    expr: new_patterns({app=\"api\"})
    annotations:
      summary: 'new {{ $labels.level }} pattern: {{ $labels.pattern }} ({{ $value }} lines)'
",
        ),
    );
    assert_eq!(status, 202, "{body}");

    // Now: the known error again, and a new pattern that is only info.
    let now = now_ns();
    push(
        (0..5i64)
            .flat_map(|i| {
                [
                    serde_json::json!([
                        (now + 2 * i).to_string(),
                        format!("ERROR connection reset by peer 10.0.1.{i}")
                    ]),
                    serde_json::json!([
                        (now + 2 * i + 1).to_string(),
                        format!("INFO cache warmed in {} ms", 10 + i)
                    ]),
                ]
            })
            .collect(),
    );
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert!(hook.json().is_empty(), "{:?}", hook.json());
    assert!(alert_states_of(&server, None).is_empty());

    // A new kind of error.
    let now = now_ns();
    push(
        (0..3i64)
            .map(|i| {
                serde_json::json!([
                    (now + i).to_string(),
                    format!("ERROR disk quota exceeded on volume {}", 7 + i)
                ])
            })
            .collect(),
    );
    wait_for(20, "the new-pattern alert", || !hook.json().is_empty());
    let firing = &hook.json()[0];
    assert_eq!(firing["status"], "firing");
    let alerts = firing["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let labels = &alerts[0]["labels"];
    assert_eq!(labels["alertname"], "NewErrorPattern");
    assert_eq!(labels["level"], "error");
    assert!(
        labels["pattern"]
            .as_str()
            .unwrap()
            .starts_with("ERROR disk quota exceeded on volume"),
        "{labels}"
    );
    assert!(
        alerts[0]["annotations"]["summary"]
            .as_str()
            .unwrap()
            .ends_with("(3 lines)"),
        "{alerts:?}"
    );
    let lines = alerts[0]["sampleLines"].as_array().unwrap();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines
        .iter()
        .all(|l| l["line"].as_str().unwrap().starts_with("ERROR disk quota")));

    // It resolves once the pattern is no longer new; the known error
    // pushed again meanwhile raises nothing.
    let now = now_ns();
    push(vec![serde_json::json!([
        now.to_string(),
        "ERROR connection reset by peer 10.0.2.9"
    ])]);
    wait_for(20, "the resolution", || hook.json().len() >= 2);
    std::thread::sleep(std::time::Duration::from_secs(3));
    let statuses: Vec<String> = hook
        .json()
        .iter()
        .map(|m| m["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(statuses, ["firing", "resolved"]);
}

fn alert_states_of(server: &Server, tenant: Option<&str>) -> Vec<serde_json::Value> {
    let (_, _, body) = server.request("GET", "/prometheus/api/v1/alerts", tenant, None);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["data"]["alerts"].as_array().unwrap().clone()
}
