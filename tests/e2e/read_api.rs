//! The read API as Grafana and logcli call it: instant and range metric
//! queries, the label browser, format_query, drilldown limits, and
//! `basin query`.

use std::process::Command;

use serde_json::{json, Value};

use crate::common::{json_body, now_ns, Server, BIN};

fn get(server: &Server, path: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let mut req = crate::common::agent().get(format!("{}{path}", server.url));
    for (k, v) in params {
        req = req.query(*k, *v);
    }
    let mut resp = req.call().unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn seed(server: &Server) -> i64 {
    // Whole seconds, so steps line up with the entries.
    let base = (now_ns() / 1_000_000_000 - 600) * 1_000_000_000;
    for (app, env, n) in [("api", "prod", 6), ("api", "dev", 2), ("web", "prod", 3)] {
        let values = (0..n)
            .map(|i| {
                json!([
                    (base + i * 10_000_000_000).to_string(),
                    format!(
                        r#"{{"level":"{}","n":{i}}}"#,
                        if i % 2 == 0 { "info" } else { "error" }
                    )
                ])
            })
            .collect();
        server.push_json(None, &json_body(json!({"app": app, "env": env}), values));
    }
    base
}

#[test]
fn grafana_health_check_and_metric_queries() {
    let server = Server::start("");
    let base = seed(&server);
    // Grafana's data source health check.
    let (status, body) = get(
        &server,
        "/loki/api/v1/query",
        &[("query", "vector(1)+vector(1)"), ("time", "1700000000")],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["resultType"], "vector");
    assert_eq!(body["data"]["result"][0]["value"], json!([1700000000, "2"]));

    let (status, body) = get(&server, "/loki/api/v1/query", &[("query", "1 + 1")]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["resultType"], "scalar");
    assert_eq!(body["data"]["result"][1], "2");

    // A volume histogram as Grafana draws it: sum by (level) over steps.
    let start = (base / 1_000_000_000).to_string();
    let end = (base / 1_000_000_000 + 60).to_string();
    let (status, body) = get(
        &server,
        "/loki/api/v1/query_range",
        &[
            (
                "query",
                r#"sum by (level) (count_over_time({app="api"} | json [1m]))"#,
            ),
            ("start", &start),
            ("end", &end),
            ("step", "60"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["resultType"], "matrix");
    let result = body["data"]["result"].as_array().unwrap();
    let find = |level: &str| {
        result
            .iter()
            .find(|s| s["metric"] == json!({"level": level}))
            .unwrap_or_else(|| panic!("no {level} series in {body}"))["values"]
            .clone()
    };
    // At start: the entries at base (prod i=0, dev i=0), window (start-60s, start].
    let t0 = base / 1_000_000_000;
    assert_eq!(find("info")[0], json!([t0, "2"]));
    // At start+60: prod i=1..5 and dev i=1 in (start, start+60]: info 2 (i=2,4), error 4.
    assert_eq!(find("info")[1], json!([t0 + 60, "2"]));
    assert_eq!(find("error")[0], json!([t0 + 60, "4"]));
    assert!(body["data"]["stats"]["summary"]["execTime"].is_number());

    // Limits answer 400.
    let (status, _) = get(
        &server,
        "/loki/api/v1/query_range",
        &[
            ("query", r#"rate({app="api"}[1m])"#),
            ("start", "0"),
            ("end", "100000"),
            ("step", "1"),
        ],
    );
    assert_eq!(status, 400);
    let (status, body) = get(&server, "/loki/api/v1/query", &[("query", "1 > 2")]);
    assert_eq!(status, 400);
    assert!(body.as_str().unwrap().contains("bool"), "{body}");
}

#[test]
fn label_browser_and_helpers() {
    let server = Server::start("");
    seed(&server);
    let (status, body) = get(&server, "/loki/api/v1/labels", &[("since", "1h")]);
    assert_eq!(status, 200);
    assert_eq!(body["data"], json!(["app", "env"]));
    let (_, body) = get(&server, "/loki/api/v1/label/env/values", &[]);
    assert_eq!(body["data"], json!(["dev", "prod"]));
    let (_, body) = get(
        &server,
        "/loki/api/v1/label/app/values",
        &[("query", r#"{env="dev"}"#)],
    );
    assert_eq!(body["data"], json!(["api"]));
    let (_, body) = get(
        &server,
        "/loki/api/v1/series",
        &[("match[]", r#"{app="web"}"#), ("match[]", r#"{env="dev"}"#)],
    );
    assert_eq!(
        body["data"],
        json!([{"app": "api", "env": "dev"}, {"app": "web", "env": "prod"}])
    );
    let (_, body) = get(
        &server,
        "/loki/api/v1/format_query",
        &[("query", r#"sum by(app)(rate({app="x"}|="y"[5m]))"#)],
    );
    assert_eq!(
        body["data"],
        r#"sum by (app) (rate({app="x"} |= "y" [5m]))"#
    );
    let (status, body) = get(&server, "/loki/api/v1/drilldown-limits", &[]);
    assert_eq!(status, 200);
    assert_eq!(body["limits"]["max_query_series"], 500);
    let (status, _) = get(&server, "/loki/api/v1/status/buildinfo", &[]);
    assert_eq!(status, 200);
}

#[test]
fn query_command_prints_lines_and_metrics() {
    let server = Server::start("");
    seed(&server);
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .arg("query")
            .args(["--server", &server.url])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run(&["--limit", "2", r#"{app="web"} | json | level="info""#]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains(r#"{"level":"info","n":2}"#), "{text}");
    assert!(lines[0].contains(r#"app="web""#), "{text}");
    let jsonl = run(&[
        "--output",
        "jsonl",
        "--forward",
        r#"{app="api", env="dev"}"#,
    ]);
    let first: Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    assert_eq!(first["line"], r#"{"level":"info","n":0}"#);
    assert_eq!(first["labels"]["env"], "dev");
    let metric = run(&[
        "--output",
        "jsonl",
        "--since",
        "20m",
        "--step",
        "20m",
        r#"sum(count_over_time({app="api"}[20m]))"#,
    ]);
    let last: Value = serde_json::from_str(metric.lines().last().unwrap()).unwrap();
    assert_eq!(last["value"], "8");
    let out = Command::new(BIN)
        .args(["query", "--server", &server.url, "{app="])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("parse error"));
}

#[test]
fn series_limit_applies_to_the_answer() {
    let server = Server::start("max_query_series: 2\n");
    seed(&server);
    // Three series inside, one in the answer: allowed.
    let (status, body) = get(
        &server,
        "/loki/api/v1/query",
        &[("query", r#"sum(count_over_time({app=~".+"}[1h]))"#)],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["result"][0]["value"][1], "11");
    // Three series in the answer: refused, naming the limit.
    let (status, body) = get(
        &server,
        "/loki/api/v1/query",
        &[("query", r#"count_over_time({app=~".+"}[1h])"#)],
    );
    assert_eq!(status, 400);
    assert!(
        body.as_str()
            .unwrap()
            .contains("maximum number of series (2)"),
        "{body}"
    );
}

#[test]
fn extreme_times_are_answered_not_crashed_on() {
    let server = Server::start("");
    seed(&server);
    for (start, end) in [("-9223372036854775808", "0"), ("0", "9223372036854775807")] {
        let (status, body) = get(
            &server,
            "/loki/api/v1/query_range",
            &[
                ("query", r#"count_over_time({app="api"}[5m] offset 1h)"#),
                ("start", start),
                ("end", end),
                ("step", "9223372036"),
            ],
        );
        assert!(status == 200 || status == 400, "{status}: {body}");
    }
    let (status, _) = get(
        &server,
        "/loki/api/v1/query_range",
        &[
            ("query", r#"{app="api"}"#),
            ("start", "-9223372036854775808"),
        ],
    );
    assert_eq!(status, 200);
}
