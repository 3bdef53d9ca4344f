//! Elasticsearch bulk: the official Python client's `helpers.bulk` ships
//! documents; malformed bodies are refused whole and store nothing.

use serde_json::Value;

use crate::common::{run_client, Server};

#[test]
fn python_client_helpers_bulk() {
    let server = Server::start("");
    let out = run_client("es_bulk.py", &[&server.url, "r1"]);
    assert_eq!(out.trim(), "5 0", "successes and errors");
    let streams = server.streams(None, r#"{index="app-logs"} | http_request_method="POST""#);
    assert_eq!(streams.len(), 5, "{streams:?}");
    let mut seen = Vec::new();
    for (labels, values) in &streams {
        let get = |k: &str| {
            labels
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        assert_eq!(get("service"), "auth");
        for (ts, line) in values {
            seen.push((*ts, line.clone(), get("level"), get("http_status")));
        }
    }
    seen.sort();
    // 2024-05-01T12:00:00Z plus i seconds.
    let base = 1_714_564_800_000_000_000_i64;
    for (i, (ts, line, level, status)) in seen.iter().enumerate() {
        assert_eq!(*ts, base + i as i64 * 1_000_000_000);
        assert_eq!(line, &format!("user {i} logged in run=r1"));
        assert_eq!(level, if i < 4 { "info" } else { "error" });
        assert_eq!(status, &(200 + i).to_string());
    }
    assert_eq!(
        server
            .lines(None, r#"{index="app-logs"} | level="error""#)
            .len(),
        1
    );
}

#[test]
fn bulk_errors_and_handshake() {
    let server = Server::start("max_line_size_bytes: 60\nmax_request_size_bytes: 2048\n");
    let mut resp = crate::common::agent()
        .get(format!("{}/elasticsearch/", server.url))
        .call()
        .unwrap();
    assert_eq!(resp.headers()["x-elastic-product"], "Elasticsearch");
    let info: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert!(info["version"]["number"].as_str().unwrap().starts_with('8'));

    let ndjson = [("Content-Type", "application/x-ndjson")];
    // Per-item: a too-long message fails alone; the index comes from the path.
    let body = format!(
        "{{\"create\":{{}}}}\n{{\"message\":\"{}\"}}\n{{\"index\":{{}}}}\n{{\"message\":\"kept\"}}\n",
        "x".repeat(100)
    );
    let (status, _, answer) = server.post("/elasticsearch/jobs/_bulk", body.as_bytes(), &ndjson);
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["errors"], true);
    assert_eq!(answer["items"][0]["create"]["status"], 400);
    assert_eq!(answer["items"][1]["index"]["status"], 201);
    assert_eq!(server.lines(None, r#"{index="jobs"}"#).len(), 1);

    // Whole-request refusals store nothing.
    for (body, want) in [
        (&b"{\"index\":{}}\n{\"message\":\"half\n"[..], 400),
        (&b"{\"index\":{}}\n"[..], 400),
        (&b"\xff\xfe not utf-8"[..], 400),
    ] {
        let (status, _, text) = server.post("/elasticsearch/broken/_bulk", body, &ndjson);
        assert_eq!(status, want, "{}", String::from_utf8_lossy(&text));
        let err: Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(err["status"], want);
        assert!(err["error"]["reason"].as_str().is_some());
    }
    let big = "{\"index\":{}}\n{\"message\":\"m\"}\n".repeat(100);
    let (status, _, _) = server.post("/elasticsearch/broken/_bulk", big.as_bytes(), &ndjson);
    assert_eq!(status, 413);
    assert!(server.lines(None, r#"{index="broken"}"#).is_empty());
    let (status, _, _) = server.post(
        "/elasticsearch/jobs/_bulk",
        b"{\"index\":{}}\n{\"message\":\"after\"}\n",
        &ndjson,
    );
    assert_eq!(status, 200);
    assert_eq!(server.lines(None, r#"{index="jobs"}"#).len(), 2);
}
