//! The web UI in Debian's chromium (playwright-core), against a real
//! server with seeded data: every view's checks live in
//! `tests/ui/ui.test.mjs`; this starts the server, seeds it, runs the
//! script and fails with its report. Screenshots go to
//! `target/ui-screenshots/` (not committed).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::auth::token;
use crate::common::{agent, json_body, now_ns, Server};

fn ui_tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/ui")
}

fn screenshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ui-screenshots")
}

/// Seeds what `ui.test.mjs` expects (see its header).
fn seed(server: &Server) {
    let t0 = now_ns() - 9 * 60 * 1_000_000_000;
    let levels = ["info", "warn", "error"];
    let shop: Vec<Value> = (0..60)
        .map(|i| {
            let line = json!({
                "level": levels[i % 3],
                "msg": format!("order {i} placed"),
                "user_id": i % 4,
                "trace_id": format!("t{i}"),
            });
            json!([
                (t0 + i as i64 * 5_000_000_000).to_string(),
                line.to_string()
            ])
        })
        .collect();
    server.push_json(None, &json_body(json!({"job": "shop"}), shop));
    for chunk in 0..10 {
        let bulk: Vec<Value> = (0..10_000)
            .map(|j| {
                let i = chunk * 10_000 + j;
                json!([
                    (t0 + i as i64 * 1_000_000).to_string(),
                    format!("bulk line {i} level=info component=loader step={}", i % 17)
                ])
            })
            .collect();
        server.push_json(None, &json_body(json!({"job": "bulk"}), bulk));
    }
}

fn run_browser(server: &Server, env: &[(&str, &str)]) -> String {
    let out = Command::new("node")
        .arg(ui_tests_dir().join("ui.test.mjs"))
        .env("BASIN_URL", &server.url)
        .env("SCREENSHOT_DIR", screenshots())
        .envs(env.iter().copied())
        .output()
        .expect("node runs (scripts/test.sh installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "browser checks failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn the_ui_works_in_a_real_browser() {
    let server = Server::start(
        "max_entries_limit_per_query: 100000\nruler:\n  evaluation_interval: 1s\n  resend_delay: 1s\n  sample_lines: 3\n",
    );
    seed(&server);
    let rules = "name: errors\ninterval: 1s\nrules:\n  - alert: ShopErrors\n    expr: sum(count_over_time({job=\"shop\"} | detected_level=\"error\" [1h])) > 0\n    annotations:\n      summary: the shop logs errors\n";
    let (status, _, text) = server.request("POST", "/loki/api/v1/rules/shop", None, Some(rules));
    assert_eq!(status, 202, "{text}");
    let report = run_browser(&server, &[]);
    println!("{report}");
    assert!(report.contains("passed"), "{report}");
}

#[test]
fn the_ui_signs_in_with_a_token_when_auth_is_on() {
    let mut server = Server::prepare("auth: on\n");
    std::fs::create_dir_all(server.data_dir()).unwrap();
    let reader = token(&server, "read", "*");
    server.spawn();
    let pusher = token(&server, "push", "*");
    let body = json_body(
        json!({"job": "shop"}),
        vec![json!([now_ns().to_string(), "order 1 placed"])],
    );
    let status = agent()
        .post(format!("{}/loki/api/v1/push", server.url))
        .header("Authorization", &format!("Bearer {pusher}"))
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .unwrap()
        .status();
    assert_eq!(status, 204);
    let report = run_browser(&server, &[("AUTH_TOKEN", &reader)]);
    println!("{report}");
}

#[test]
fn saved_queries_and_dashboards_are_per_tenant_checked_and_exportable() {
    let server = Server::start("");
    let body = r#"{"name": "errors", "description": "", "query": "{app=\"api\"} |= \"error\""}"#;
    let (status, _, text) = server.request("POST", "/api/v1/saved_queries", Some("a"), Some(body));
    assert_eq!(status, 201, "{text}");
    let id = serde_json::from_str::<Value>(&text).unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, _, list) = server.request("GET", "/api/v1/saved_queries", Some("a"), None);
    assert!(list.contains(r#"{app=\"api\"} |= \"error\""#), "{list}");
    let (_, _, other) = server.request("GET", "/api/v1/saved_queries", Some("b"), None);
    assert_eq!(
        serde_json::from_str::<Value>(&other).unwrap()["data"],
        json!([])
    );
    let (status, _, _) = server.request(
        "DELETE",
        &format!("/api/v1/saved_queries/{id}"),
        Some("b"),
        None,
    );
    assert_eq!(status, 404, "another tenant cannot delete it");

    let bad = r#"{"name": "broken", "query": "{app=\"api\"} |= "}"#;
    let (status, _, text) = server.request("POST", "/api/v1/saved_queries", Some("a"), Some(bad));
    assert_eq!(status, 400);
    assert!(
        text.contains("does not parse") && text.contains("col 16"),
        "{text}"
    );

    let dashboard = json!({
        "title": "API",
        "variables": [{"name": "app", "label": "app"}],
        "panels": [{"type": "timeseries", "title": "rate", "query": "sum(rate({app=\"$app\"}[1m]))"}],
    });
    let (status, _, text) = server.request(
        "POST",
        "/api/v1/dashboards",
        Some("a"),
        Some(&dashboard.to_string()),
    );
    assert_eq!(status, 201, "{text}");
    let id = serde_json::from_str::<Value>(&text).unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The export is the document as imported.
    let (_, _, text) = server.request("GET", &format!("/api/v1/dashboards/{id}"), Some("a"), None);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["data"]["document"],
        dashboard
    );
    let (status, _, _) =
        server.request("GET", &format!("/api/v1/dashboards/{id}"), Some("b"), None);
    assert_eq!(status, 404);
    let (status, _, text) = server.request(
        "POST",
        "/api/v1/dashboards",
        Some("a"),
        Some(r#"{"panels": []}"#),
    );
    assert_eq!(status, 400);
    assert!(text.contains("title"), "{text}");
}
