//! Loki push in every encoding, read back through `query_range`.

use serde_json::json;

use crate::common::{gzip, json_body, now_ns, proto_body, Server};

#[test]
fn json_push_is_visible_to_the_very_next_query() {
    let server = Server::start("");
    let ts = now_ns();
    for i in 0..20 {
        server.push_json(
            None,
            &json_body(
                json!({"job": "api"}),
                vec![json!([(ts + i).to_string(), format!("request {i} done")])],
            ),
        );
        // No waiting: the push was acknowledged, so the line is there.
        let lines = server.lines(None, r#"{job="api"}"#);
        assert_eq!(lines.len() as i64, i + 1);
        assert_eq!(lines.last().unwrap().1, format!("request {i} done"));
    }
}

#[test]
fn protobuf_snappy_push() {
    let server = Server::start("");
    let ts = now_ns();
    let body = proto_body(vec![
        (
            r#"{job="proto", env="prod"}"#,
            vec![(ts, "from protobuf", vec![])],
        ),
        (
            r#"{job="proto", env="dev"}"#,
            vec![(ts + 1, "second stream", vec![])],
        ),
    ]);
    let (status, text) =
        server.push_raw(None, &body, &[("Content-Type", "application/x-protobuf")]);
    assert_eq!(status, 204, "{text}");
    assert_eq!(
        server.lines(None, r#"{job="proto", env="prod"}"#),
        [(ts, "from protobuf".to_string())]
    );
    assert_eq!(server.lines(None, r#"{job="proto"}"#).len(), 2);
}

#[test]
fn gzip_json_push() {
    let server = Server::start("");
    let ts = now_ns();
    let body = json_body(
        json!({"job": "gz"}),
        vec![json!([ts.to_string(), "compressed line"])],
    );
    let (status, text) = server.push_raw(
        None,
        &gzip(body.to_string().as_bytes()),
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
    );
    assert_eq!(status, 204, "{text}");
    assert_eq!(
        server.lines(None, r#"{job="gz"}"#),
        [(ts, "compressed line".to_string())]
    );
}

#[test]
fn structured_metadata_round_trip() {
    let server = Server::start("");
    let ts = now_ns();
    server.push_json(
        None,
        &json_body(
            json!({"job": "md"}),
            vec![
                json!([ts.to_string(), "with metadata", {"trace_id": "abc123", "user": "u1"}]),
                json!([(ts + 1).to_string(), "without"]),
            ],
        ),
    );
    // Protobuf carries metadata too.
    let body = proto_body(vec![(
        r#"{job="md"}"#,
        vec![(ts + 2, "proto md", vec![("trace_id", "def456")])],
    )]);
    let (status, text) =
        server.push_raw(None, &body, &[("Content-Type", "application/x-protobuf")]);
    assert_eq!(status, 204, "{text}");

    let params = [
        ("query", r#"{job="md"}"#),
        ("start", "0"),
        ("end", "9000000000000000000"),
        ("direction", "forward"),
    ];
    // Loki's default answer: metadata joins the stream labels.
    let (status, body, text) = server.query_raw(None, &params, &[]);
    assert_eq!(status, 200, "{text}");
    let result = body["data"]["result"].as_array().unwrap();
    let with = result
        .iter()
        .find(|s| s["stream"]["trace_id"] == "abc123")
        .expect("a stream carrying the metadata");
    assert_eq!(
        with["stream"],
        json!({"job": "md", "trace_id": "abc123", "user": "u1"})
    );
    assert_eq!(with["values"][0][1], "with metadata");
    assert!(result.iter().any(|s| s["stream"] == json!({"job": "md"})));
    assert!(result.iter().any(|s| s["stream"]["trace_id"] == "def456"));

    // Grafana's categorize-labels flag: metadata as the third element.
    let (status, body, text) = server.query_raw(
        None,
        &params,
        &[("X-Loki-Response-Encoding-Flags", "categorize-labels")],
    );
    assert_eq!(status, 200, "{text}");
    let result = body["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 1);
    assert_eq!(result[0]["stream"], json!({"job": "md"}));
    let values = result[0]["values"].as_array().unwrap();
    assert_eq!(
        values[0][2]["structuredMetadata"],
        json!({"trace_id": "abc123", "user": "u1"})
    );
    assert_eq!(values[1].as_array().unwrap().len(), 2);
    assert_eq!(
        values[2][2]["structuredMetadata"],
        json!({"trace_id": "def456"})
    );
}

#[test]
fn out_of_order_entries_are_accepted_and_sorted() {
    let server = Server::start("");
    let base = now_ns() - 3_600_000_000_000;
    for offset in [30, 10, 20, 5, 25] {
        server.push_json(
            None,
            &json_body(
                json!({"job": "ooo"}),
                vec![json!([(base + offset).to_string(), format!("at {offset}")])],
            ),
        );
    }
    // Within one request, too.
    server.push_json(
        None,
        &json_body(
            json!({"job": "ooo"}),
            vec![
                json!([(base + 2).to_string(), "at 2"]),
                json!([(base + 1).to_string(), "at 1"]),
            ],
        ),
    );
    let lines: Vec<String> = server
        .lines(None, r#"{job="ooo"}"#)
        .into_iter()
        .map(|l| l.1)
        .collect();
    assert_eq!(
        lines,
        ["at 1", "at 2", "at 5", "at 10", "at 20", "at 25", "at 30"]
    );
}

#[test]
fn selectors_filters_limit_and_direction() {
    let server = Server::start("");
    let ts = now_ns() - 1_000_000_000;
    let values = |svc: &str| {
        (0..10)
            .map(|i| {
                json!([
                    (ts + i).to_string(),
                    format!(
                        "{svc} line {i} status={}",
                        if i % 3 == 0 { 500 } else { 200 }
                    )
                ])
            })
            .collect::<Vec<_>>()
    };
    server.push_json(
        None,
        &json_body(json!({"app": "api", "env": "prod"}), values("api")),
    );
    server.push_json(
        None,
        &json_body(json!({"app": "web", "env": "prod"}), values("web")),
    );
    let count = |q: &str| server.lines(None, q).len();
    assert_eq!(count(r#"{env="prod"}"#), 20);
    assert_eq!(count(r#"{app!="api", env="prod"}"#), 10);
    assert_eq!(count(r#"{app=~"a.*|w.b"}"#), 20);
    assert_eq!(count(r#"{env="prod", app!~"web"}"#), 10);
    assert_eq!(count(r#"{env="prod"} |= "status=500""#), 8);
    assert_eq!(count(r#"{env="prod"} |= "status=500" != "web""#), 4);

    // Backward (the default) keeps the newest; forward the oldest.
    let q = |direction: &str| {
        let (status, body, text) = server.query_raw(
            None,
            &[
                ("query", r#"{app="api"}"#),
                ("limit", "3"),
                ("direction", direction),
            ],
            &[],
        );
        assert_eq!(status, 200, "{text}");
        body["data"]["result"][0]["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v[1].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        q("backward"),
        [
            "api line 9 status=500",
            "api line 8 status=200",
            "api line 7 status=200"
        ]
    );
    assert_eq!(
        q("forward"),
        [
            "api line 0 status=500",
            "api line 1 status=200",
            "api line 2 status=200"
        ]
    );

    // Bad queries are 400 with the position.
    let (status, _, text) = server.query_raw(None, &[("query", r#"{app="api"} |= oops"#)], &[]);
    assert_eq!(status, 400);
    assert!(text.contains("parse error at line 1, col 16"), "{text}");
    let (status, _, text) = server.query_raw(None, &[("query", r#"{app=~"("}"#)], &[]);
    assert_eq!(status, 400);
    assert!(text.contains("invalid regex"), "{text}");
}

/// The `python-logging-loki` handler pushes through Loki's JSON API.
#[test]
fn python_logging_loki_handler() {
    let server = Server::start("");
    let before = now_ns();
    crate::common::run_client("loki_handler.py", &[&server.url, "r1"]);
    let streams = server.streams(None, r#"{application="billing"}"#);
    let mut seen: Vec<(i64, String, String, String)> = streams
        .iter()
        .flat_map(|(labels, values)| {
            let get = |k: &str| {
                labels
                    .get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string()
            };
            let (severity, customer) = (get("severity"), get("customer"));
            values
                .iter()
                .map(move |(ts, line)| (*ts, line.clone(), severity.clone(), customer.clone()))
        })
        .collect();
    seen.sort();
    let got: Vec<(&str, &str, &str)> = seen
        .iter()
        .map(|(_, l, s, c)| (l.as_str(), s.as_str(), c.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("invoice sent run=r1", "info", ""),
            ("invoice failed run=r1", "error", "acme"),
        ]
    );
    assert!(seen
        .iter()
        .all(|(ts, ..)| *ts >= before - 1_000_000_000 && *ts <= now_ns()));
}
