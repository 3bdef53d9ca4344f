//! The parsing pipeline: with no configuration, nginx, nested JSON, logfmt,
//! Log4j with a stack trace and syslog lines pushed through Loki's API are
//! filterable by their fields with plain label filters, no parser stage (the
//! query detects the fields); `auto_parse: fields` gives the same answers from
//! fields stored at ingest; `levels` stores only levels; by default nothing
//! is stored.

use serde_json::json;

use crate::common::{json_body, now_ns, Server};

#[test]
fn formats_are_filterable_with_no_configuration() {
    filter_on_formats("");
}

#[test]
fn formats_are_parsed_in_fields_mode() {
    filter_on_formats("auto_parse: fields\n");
}

fn filter_on_formats(config: &str) {
    let server = Server::start(config);
    let t = now_ns();
    let v = |i: i64, line: &str| json!([(t + i).to_string(), line]);
    server.push_json(
        None,
        &json_body(
            json!({"job": "web"}),
            vec![
                v(1, r#"10.0.0.1 - - [01/May/2024:12:00:00 +0000] "GET /health HTTP/1.1" 200 2 "-" "kube-probe/1.29""#),
                v(2, r#"10.0.0.2 - alice [01/May/2024:12:00:01 +0000] "POST /api/orders HTTP/1.1" 502 173 "https://shop.example.com/" "Mozilla/5.0""#),
                v(3, r#"10.0.0.3 - - [01/May/2024:12:00:02 +0000] "GET /api/cart HTTP/1.1" 503 0 "-" "Mozilla/5.0""#),
            ],
        ),
    );
    server.push_json(
        None,
        &json_body(
            json!({"job": "api"}),
            vec![
                v(4, r#"{"level":"INFO","msg":"order placed","http":{"request":{"method":"POST","path":"/orders"},"status":201}}"#),
                v(5, r#"{"level":"ERROR","msg":"payment failed","http":{"request":{"method":"GET","path":"/pay"},"status":500}}"#),
            ],
        ),
    );
    server.push_json(
        None,
        &json_body(
            json!({"job": "worker"}),
            vec![
                v(6, r#"ts=2024-05-01T12:00:00Z level=warning msg="queue slow" depth=1200"#),
                v(7, "2024-05-01 12:00:03,120 ERROR [pool-1-thread-3] com.shop.Billing: charge failed\njava.lang.IllegalStateException: card declined\n\tat com.shop.Billing.charge(Billing.java:42)\n\tat com.shop.Worker.run(Worker.java:17)"),
                v(8, "<11>1 2024-05-01T12:00:04Z db-1 postgres 77 - - could not connect to server"),
                v(9, "May  1 12:00:05 web-1 sshd[999]: Accepted publickey for deploy"),
            ],
        ),
    );
    let lines =
        |q: &str| -> Vec<String> { server.lines(None, q).into_iter().map(|(_, l)| l).collect() };
    // nginx: status and method as fields.
    let errors = lines(r#"{job="web"} | status >= 500"#);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors.iter().all(|l| l.contains(" 50")));
    assert_eq!(
        lines(r#"{job="web"} | method="POST" | remote_user="alice""#).len(),
        1
    );
    // Nested JSON, flattened.
    let posts = lines(r#"{job="api"} | http_request_method="POST""#);
    assert_eq!(posts.len(), 1);
    assert!(posts[0].contains("order placed"));
    assert_eq!(lines(r#"{job="api"} | http_status >= 500"#).len(), 1);
    // Levels, normalised across formats.
    let errors: Vec<String> = lines(r#"{job=~"api|worker"} | level="error""#);
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors.iter().any(|l| l.contains("payment failed")));
    assert!(
        errors.iter().any(|l| l.contains("Billing.java:42")),
        "the stack trace stays with its entry"
    );
    assert!(errors.iter().any(|l| l.contains("could not connect")));
    assert_eq!(
        lines(r#"{job="worker"} | level="warn" | depth > 1000"#).len(),
        1
    );
    // Headers of application and syslog lines.
    assert_eq!(
        lines(r#"{job="worker"} | logger="com.shop.Billing""#).len(),
        1
    );
    assert_eq!(
        lines(r#"{job="worker"} | app_name="sshd" | procid="999""#).len(),
        1
    );
    assert_eq!(lines(r#"{job="worker"} | log_format="syslog""#).len(), 2);
    // Metric queries: unwrap reads a detected field too.
    let (start, end) = (
        (t + 1_000_000_000).to_string(),
        (t + 1_000_000_000).to_string(),
    );
    let (status, body, text) = server.query_raw(
        None,
        &[
            (
                "query",
                r#"max(max_over_time({job="worker"} |= "queue slow" | unwrap depth [1m]))"#,
            ),
            ("start", &start),
            ("end", &end),
            ("step", "60"),
        ],
        &[],
    );
    assert_eq!(status, 200, "{text}");
    let values = &body["data"]["result"][0]["values"];
    assert_eq!(values[0][1], "1200", "{text}");
}

#[test]
fn levels_mode_and_off() {
    let server = Server::start("auto_parse: levels\n");
    let t = now_ns().to_string();
    server.push_json(
        None,
        &json_body(
            json!({"job": "lv"}),
            vec![
                json!([t, "2024-05-01 12:00:00,123 ERROR [main] a.B: failed"]),
                json!([t, r#"{"level":"Warning","status":500}"#]),
            ],
        ),
    );
    assert_eq!(server.lines(None, r#"{job="lv"} | level="error""#).len(), 1);
    assert_eq!(server.lines(None, r#"{job="lv"} | level="warn""#).len(), 1);
    // Levels mode stores no other field: the answer's labels (stream plus
    // stored fields) hold the level and nothing else found in the line.
    let mut stored: Vec<String> = server
        .streams(None, r#"{job="lv"}"#)
        .into_iter()
        .map(|(labels, _)| serde_json::Value::Object(labels).to_string())
        .collect();
    stored.sort();
    assert_eq!(
        stored,
        [
            r#"{"job":"lv","level":"error"}"#,
            r#"{"job":"lv","level":"warn"}"#
        ],
        "{stored:?}"
    );

    // Off (the default) stores nothing, yet a label filter still finds the
    // level in the line at query time.
    let server = Server::start("");
    server.push_json(
        None,
        &json_body(
            json!({"job": "raw"}),
            vec![json!([now_ns().to_string(), "a=1 b=2 level=error"])],
        ),
    );
    let stored: Vec<String> = server
        .streams(None, r#"{job="raw"}"#)
        .into_iter()
        .map(|(labels, _)| serde_json::Value::Object(labels).to_string())
        .collect();
    assert_eq!(stored, [r#"{"job":"raw"}"#]);
    assert_eq!(
        server.lines(None, r#"{job="raw"} | level="error""#).len(),
        1
    );
    assert_eq!(server.lines(None, r#"{job="raw"} | b > 1"#).len(), 1);
    assert_eq!(
        server
            .lines(None, r#"{job="raw"} | logfmt | level="error""#)
            .len(),
        1
    );
}

#[test]
fn rate_limits_answer_429_and_keep_what_fits() {
    let server = Server::start("stream_rate_limit_lines_per_second: 5\n");
    let t = now_ns();
    let values = |n: i64| {
        (0..n)
            .map(|i| json!([(t + i).to_string(), format!("line {i}")]))
            .collect()
    };
    let body = json_body(json!({"job": "flood"}), values(20));
    let (status, text) = server.push_raw(
        None,
        body.to_string().as_bytes(),
        &[("Content-Type", "application/json")],
    );
    assert_eq!(status, 429, "{text}");
    assert!(
        text.contains("15 of 20 lines refused by the stream's rate limit"),
        "{text}"
    );
    assert_eq!(
        server.lines(None, r#"{job="flood"}"#).len(),
        5,
        "what fitted is stored"
    );
    // Another stream has its own budget.
    server.push_json(None, &json_body(json!({"job": "quiet"}), values(3)));
    // The header, through the NDJSON endpoint too.
    let resp = crate::common::agent()
        .post(format!("{}/api/v1/logs", server.url))
        .send(&b"a\nb\nc\nd\ne\nf\ng\n"[..])
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    let metrics = server.metrics();
    assert!(
        metrics.contains(
            r#"basin_ingest_lines_total{protocol="loki",tenant="default",outcome="rejected"} 15"#
        ),
        "{metrics}"
    );
}

#[test]
fn repeats_are_stored_once_with_their_count() {
    let server = Server::start("dedup_window: 10s\n");
    let t = now_ns();
    let mut values: Vec<serde_json::Value> = (0..50)
        .map(|i| json!([(t + i * 1_000_000).to_string(), "connection reset by peer"]))
        .collect();
    values.push(json!([
        (t + 60_000_000_000i64).to_string(),
        "connection reset by peer"
    ]));
    values.push(json!([(t + 1).to_string(), "something else"]));
    server.push_json(None, &json_body(json!({"job": "loop"}), values));
    let streams = server.streams(None, r#"{job="loop"} |= "reset""#);
    let mut counts: Vec<String> = streams
        .iter()
        .flat_map(|(labels, values)| {
            let count = labels
                .get("repeat_count")
                .and_then(|v| v.as_str())
                .unwrap_or("1")
                .to_string();
            values.iter().map(move |_| count.clone())
        })
        .collect();
    counts.sort();
    assert_eq!(counts, ["1", "50"], "{streams:?}");
    let total = server.query_raw(
        None,
        &[
            ("query", r#"sum(sum_over_time({job="loop"} | repeat_count != "" | unwrap repeat_count [1h]))"#),
            ("start", &(t / 1_000_000_000 - 60).to_string()),
            ("end", &(t / 1_000_000_000 + 3600).to_string()),
            ("step", "3600"),
        ],
        &[],
    );
    assert_eq!(total.0, 200, "{}", total.2);
    assert!(total.2.contains("\"50\""), "{}", total.2);
}

#[test]
fn secrets_are_masked_before_they_are_written() {
    let server = Server::start(concat!(
        "mask: [email, credit_card, bearer_token]\n",
        "mask_patterns:\n",
        "  - pattern: 'ssn=\\d{3}-\\d{2}-\\d{4}'\n",
        "    replacement: 'ssn=<ssn>'\n",
    ));
    let t = now_ns().to_string();
    server.push_json(
        None,
        &json!({"streams": [{"stream": {"job": "pii"}, "values": [[
            t,
            "user bob@example.com paid with 4111-1111-1111-1111 ssn=123-45-6789",
            {"auth": "Bearer abc123"}
        ]]}]}),
    );
    let streams = server.streams(None, r#"{job="pii"}"#);
    let (labels, values) = &streams[0];
    assert_eq!(
        values[0].1,
        "user <email> paid with <credit_card> ssn=<ssn>"
    );
    assert_eq!(labels["auth"], "Bearer <token>");
    // Nothing of the secret is searchable, in parts or the WAL.
    assert!(server
        .lines(None, r#"{job="pii"} |= "bob@example.com""#)
        .is_empty());
    let wal = std::fs::read_dir(server.data_dir().join("wal"))
        .map(|dir| {
            dir.flatten()
                .map(|f| std::fs::read(f.path()).unwrap_or_default())
                .collect::<Vec<_>>()
                .concat()
        })
        .unwrap_or_default();
    assert!(!wal.is_empty(), "the WAL holds the push");
    assert!(!String::from_utf8_lossy(&wal).contains("bob@example.com"));

    // A bad masker is a clear start-up error.
    let bad = std::process::Command::new(crate::common::BIN)
        .args(["serve", "--listen", "127.0.0.1:1", "--config"])
        .arg({
            let path = server.dir.path().join("bad.yaml");
            std::fs::write(&path, "mask: [ssn]\n").unwrap();
            path
        })
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("unknown masker"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[test]
fn user_pipelines_from_the_config_file() {
    let server = Server::start(
        r#"grok_patterns:
  ORDER_ID: 'ord-[0-9]+'
pipelines:
  - match: '{job="nginx"}'
    steps:
      - drop: '|= "GET /health"'
      - grok: '%{IPORHOST:client} - %{USER:user} \[%{HTTPDATE}\] "%{WORD:verb} %{NOTSPACE:request} HTTP/%{NUMBER}" %{NUMBER:code} %{NUMBER:size}'
      - rename: {code: http_status}
      - set_labels: {team: edge}
  - match: '{job="shop"}'
    steps:
      - regex: 'order (?P<order>\S+) by (?P<email>\S+)'
      - grok: 'order %{ORDER_ID:order_ref}'
      - mask: [email]
      - drop: '| level="debug"'
      - sample: 2
"#,
    );
    let t = now_ns();
    let v = |i: i64, line: &str| json!([(t + i).to_string(), line]);
    server.push_json(
        None,
        &json_body(
            json!({"job": "nginx"}),
            vec![
                v(
                    1,
                    r#"10.0.0.1 - - [01/May/2024:12:00:00 +0000] "GET /health HTTP/1.1" 200 2"#,
                ),
                v(
                    2,
                    r#"10.0.0.2 - ann [01/May/2024:12:00:01 +0000] "POST /cart HTTP/1.1" 502 17"#,
                ),
                v(
                    3,
                    r#"10.0.0.3 - - [01/May/2024:12:00:02 +0000] "GET /health HTTP/1.1" 200 2"#,
                ),
            ],
        ),
    );
    server.push_json(
        None,
        &json_body(
            json!({"job": "shop"}),
            vec![
                v(4, "level=info order ord-1 by ann@example.com"),
                v(5, "level=debug order ord-2 by bob@example.com"),
                v(6, "level=info order ord-3 by cy@example.com"),
                v(7, "level=info order ord-4 by di@example.com"),
            ],
        ),
    );
    // nginx: health checks dropped, the rest grokked, renamed and relabelled.
    let edge = server.streams(None, r#"{team="edge"}"#);
    assert_eq!(edge.len(), 1, "{edge:?}");
    assert_eq!(edge[0].1.len(), 1);
    assert!(edge[0].1[0].1.contains("POST /cart"));
    let fields = &edge[0].0;
    assert_eq!(fields["http_status"], "502");
    assert_eq!(fields["verb"], "POST");
    assert_eq!(fields["user"], "ann");
    assert!(!fields.contains_key("code"));
    // shop: the debug line dropped, then one in two kept, emails masked in
    // the line and the extracted field.
    let shop = server.lines(None, r#"{job="shop"}"#);
    let lines: Vec<&str> = shop.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(
        lines,
        [
            "level=info order ord-1 by <email>",
            "level=info order ord-4 by <email>"
        ]
    );
    assert_eq!(
        server
            .lines(
                None,
                r#"{job="shop"} | order_ref="ord-4" | email="<email>""#
            )
            .len(),
        1
    );
    let metrics = server.metrics();
    assert!(
        metrics.contains(
            r#"basin_ingest_lines_total{protocol="loki",tenant="default",outcome="dropped"} 4"#
        ),
        "{metrics}"
    );

    // A rule that does not compile stops the start with a message naming it.
    let bad = std::process::Command::new(crate::common::BIN)
        .args(["serve", "--listen", "127.0.0.1:1", "--config"])
        .arg({
            let path = server.dir.path().join("bad.yaml");
            std::fs::write(
                &path,
                "pipelines:\n  - match: '{job=\"a\"}'\n    steps: [{grok: '%{NO_SUCH_PATTERN:x}'}]\n",
            )
            .unwrap();
            path
        })
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("pipelines[0].steps[0]") && stderr.contains("NO_SUCH_PATTERN"),
        "{stderr}"
    );
}
