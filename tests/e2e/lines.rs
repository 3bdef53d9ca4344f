//! `POST /api/v1/logs`: NDJSON and text lines with labels from the request,
//! refusals that store nothing, and CORS for browser clients.

use serde_json::Value;

use crate::common::{agent, gzip, Server};

/// `/api/v1/logs` with `labels` (percent-encoded) and extra raw parameters.
fn path(labels: &str, extra: &str) -> String {
    let encoded: String = labels
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("/api/v1/logs?labels={encoded}{extra}")
}

#[test]
fn ndjson_and_text_lines() {
    let server = Server::start("");
    let body = concat!(
        "{\"ts\":\"2024-05-01T12:00:00Z\",\"level\":\"ERROR\",\"msg\":\"export failed\",\"job_name\":\"etl\",\"db\":{\"rows\":12}}\n",
        "plain text from a cron job\n",
    );
    let (status, _, text) = server.post(
        &path(r#"{job="batch",env="prod"}"#, "&label_fields=job_name"),
        &gzip(body.as_bytes()),
        &[
            ("Content-Type", "application/x-ndjson"),
            ("Content-Encoding", "gzip"),
        ],
    );
    assert_eq!(status, 204, "{}", String::from_utf8_lossy(&text));
    let streams = server.streams(None, r#"{job="batch", env="prod"}"#);
    assert_eq!(streams.len(), 2, "{streams:?}");
    let (labels, values) = streams
        .iter()
        .find(|(l, _)| l.get("job_name").is_some())
        .unwrap();
    assert_eq!(labels["job_name"], "etl");
    assert_eq!(labels["level"], "error");
    assert_eq!(labels["db_rows"], "12");
    assert_eq!(values[0].0, 1_714_564_800_000_000_000);
    assert!(values[0].1.starts_with("{\"ts\""), "the object is the line");
    // Fields filter without a parser; labels select.
    let hits = server.lines(None, r#"{job_name="etl"} | db_rows > 10 | level="error""#);
    assert_eq!(hits.len(), 1);
    let text_lines = server.lines(None, r#"{job="batch"} |= "cron""#);
    assert_eq!(text_lines.len(), 1);
}

#[test]
fn refused_requests_store_nothing() {
    let server = Server::start("max_line_size_bytes: 50\nmax_request_size_bytes: 1024\n");
    let cases: [(String, &[u8], u16); 4] = [
        (
            path(r#"{job="x"}"#, ""),
            b"ok\nthis line is much longer than the fifty byte limit allows\n",
            400,
        ),
        (path(r#"{job=x}"#, ""), b"ok\n", 400),
        (path(r#"{job="x"}"#, ""), b"\xff\xfe\n", 400),
        (path(r#"{job="x"}"#, ""), &[b'a'; 2000], 413),
    ];
    for (url, body, want) in cases {
        let (status, _, text) = server.post(&url, body, &[("Content-Type", "text/plain")]);
        assert_eq!(status, want, "{url}: {}", String::from_utf8_lossy(&text));
        assert!(!text.is_empty(), "an error names the problem");
    }
    assert!(server.lines(None, r#"{job="x"}"#).is_empty());
    let (status, _, _) = server.post(&path(r#"{job="x"}"#, ""), b"fine\n", &[]);
    assert_eq!(status, 204);
    assert_eq!(server.lines(None, r#"{job="x"}"#).len(), 1);
}

#[test]
fn cors_preflight_for_browsers() {
    let server = Server::start("cors_allowed_origins: [\"https://app.example.com\"]\n");
    let resp = agent()
        .options(format!("{}/api/v1/logs", server.url))
        .header("Origin", "https://app.example.com")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .call()
        .unwrap();
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let (status, _, _) = server.post(
        "/api/v1/logs",
        b"{\"msg\":\"from the browser\"}\n",
        &[("Origin", "https://app.example.com")],
    );
    assert_eq!(status, 204);
    let streams = server.streams(None, r#"{job="default"}"#);
    assert_eq!(streams.len(), 1);
    assert_eq!(
        streams[0].0.get("msg").and_then(Value::as_str),
        Some("from the browser")
    );
}
