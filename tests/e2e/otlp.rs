//! OTLP logs over HTTP: the OpenTelemetry Python SDK's exporters (protobuf and
//! JSON) send through `/v1/logs`; bad bodies are refused and store nothing.

use serde_json::{json, Value};

use crate::common::{gzip, now_ns, run_client, Labels, Server};

fn field<'a>(labels: &'a Labels, name: &str) -> &'a str {
    labels.get(name).and_then(Value::as_str).unwrap_or("")
}

fn sdk_sends(encoding: &str) {
    let server = Server::start("");
    let before = now_ns();
    let trace_id = run_client("otlp_sdk.py", &[&server.url, encoding, "r1"]);
    let trace_id = trace_id.trim();
    let service = format!("checkout-{encoding}");
    let streams = server.streams(None, &format!(r#"{{service_name="{service}"}}"#));
    let mut seen: Vec<(String, String, i64)> = Vec::new();
    for (labels, values) in &streams {
        assert_eq!(field(labels, "deployment_environment"), "test");
        assert_eq!(field(labels, "host_name"), "web-1");
        assert_eq!(field(labels, "scope_name"), "checkout.payments");
        for (ts, line) in values {
            seen.push((line.clone(), field(labels, "level").to_string(), *ts));
        }
        if field(labels, "level") == "error" {
            assert_eq!(field(labels, "trace_id"), trace_id);
            assert_eq!(field(labels, "span_id").len(), 16);
            assert_eq!(field(labels, "severity_text"), "ERROR");
            assert_eq!(field(labels, "amount"), "12.5");
            assert_eq!(field(labels, "order_id"), "o-1");
        }
    }
    seen.sort_by_key(|s| s.2);
    let got: Vec<(&str, &str)> = seen
        .iter()
        .map(|(l, v, _)| (l.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("order o-1 received run=r1", "info"),
            ("retrying payment run=r1", "warn"),
            ("payment failed run=r1", "error"),
        ]
    );
    for (_, _, ts) in &seen {
        assert!(
            *ts >= before - 1_000_000_000 && *ts <= now_ns(),
            "{ts} not the send time"
        );
    }
    // Labels are filterable as labels, fields as fields.
    let errors = server.lines(
        None,
        &format!(r#"{{service_name="{service}", deployment_environment="test"}} | level="error""#),
    );
    assert_eq!(errors.len(), 1);
    let metrics = server.metrics();
    assert!(
        metrics.contains(
            r#"basin_ingest_lines_total{protocol="otlp",tenant="default",outcome="accepted"} 3"#
        ),
        "{metrics}"
    );
}

#[test]
fn python_sdk_protobuf_exporter() {
    sdk_sends("proto");
}

#[test]
fn python_sdk_json_exporter() {
    sdk_sends("json");
}

fn record(line: &str) -> Value {
    json!({"timeUnixNano": "1700000000000000000", "severityText": "warn",
           "body": {"stringValue": line}})
}

fn request(records: Vec<Value>) -> Vec<u8> {
    json!({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "batch"}}]},
        "scopeLogs": [{"logRecords": records}]
    }]})
    .to_string()
    .into_bytes()
}

#[test]
fn oversize_records_get_partial_success_and_gzip_works() {
    let server = Server::start("max_line_size_bytes: 40\n");
    let body = request(vec![
        record("short one"),
        record("this line is far longer than forty bytes, so it goes"),
    ]);
    let (status, ct, answer) = server.post(
        "/otlp/v1/logs",
        &gzip(&body),
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
    );
    assert_eq!(status, 200);
    assert_eq!(ct, "application/json");
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(
        answer["partialSuccess"]["rejectedLogRecords"], 1,
        "{answer}"
    );
    assert!(answer["partialSuccess"]["errorMessage"]
        .as_str()
        .unwrap()
        .contains("max_line_size_bytes"));
    let lines = server.lines(None, r#"{service_name="batch"} | level="warn""#);
    assert_eq!(
        lines,
        [(1_700_000_000_000_000_000, "short one".to_string())]
    );
}

#[test]
fn malformed_bodies_store_nothing() {
    let server = Server::start("max_request_size_bytes: 4096\n");
    let proto = [("Content-Type", "application/x-protobuf")];
    let json_ct = [("Content-Type", "application/json")];
    // A truncated protobuf: a length prefix promising more than is there.
    let (status, ct, body) = server.post("/v1/logs", &[0x0a, 0x20, 0x0a, 0x05], &proto);
    assert_eq!((status, ct.as_str()), (400, "application/x-protobuf"));
    assert!(String::from_utf8_lossy(&body).contains("invalid OTLP protobuf"));
    let (status, _, body) = server.post("/v1/logs", b"{\"resourceLogs\": [", &json_ct);
    assert_eq!(status, 400);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["code"], 3);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("invalid OTLP JSON"));
    let (status, _, _) = server.post(
        "/v1/logs",
        &request(vec![record("x")]),
        &[("Content-Type", "text/plain")],
    );
    assert_eq!(status, 415);
    let big = request((0..200).map(|i| record(&format!("line {i}"))).collect());
    let (status, _, _) = server.post("/v1/logs", &big, &json_ct);
    assert_eq!(status, 413);
    assert!(server.lines(None, r#"{service_name="batch"}"#).is_empty());
    // Still serving.
    let (status, _, _) = server.post("/v1/logs", &request(vec![record("fine")]), &json_ct);
    assert_eq!(status, 200);
    assert_eq!(server.lines(None, r#"{service_name="batch"}"#).len(), 1);
    let metrics = server.metrics();
    assert!(
        metrics.contains(
            r#"basin_ingest_requests_rejected_total{protocol="otlp",tenant="default"} 4"#
        ),
        "{metrics}"
    );
}
