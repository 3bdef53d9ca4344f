//! Every limit and malformed input gets a clear 4xx, and a refused request
//! stores nothing, not even its valid parts.

use serde_json::json;

use crate::common::{gzip, json_body, now_ns, proto_body, Server};

const JSON: (&str, &str) = ("Content-Type", "application/json");
const PROTO: (&str, &str) = ("Content-Type", "application/x-protobuf");

#[test]
fn refused_requests_store_nothing() {
    let server = Server::start("max_request_size_bytes: 1048576\nmax_line_size_bytes: 1000\n");
    let ts = now_ns().to_string();
    let good = json!([ts, "valid line from a refused request"]);
    let many_labels: serde_json::Map<String, serde_json::Value> =
        (0..16).map(|i| (format!("l{i}"), json!("v"))).collect();
    let long_line = "x".repeat(1001);

    // Each case pairs a valid stream with the faulty one, so a partial store would show.
    let with_valid = |bad: serde_json::Value| {
        json!({"streams": [
            {"stream": {"job": "refused"}, "values": [good.clone()]},
            bad,
        ]})
        .to_string()
        .into_bytes()
    };
    // (name, body, headers, status, text the answer must contain)
    type Case<'a> = (&'a str, Vec<u8>, Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            "malformed JSON",
            br#"{"streams": [{"stream": {"job": "refused"}, "values": [["1", "x"]]"#.to_vec(),
            vec![JSON],
            400,
            "malformed request body",
        ),
        (
            "not an object",
            b"[1,2,3]".to_vec(),
            vec![JSON],
            400,
            "malformed request body",
        ),
        (
            "bad timestamp",
            with_valid(json!({"stream": {"job": "x"}, "values": [["yesterday", "x"]]})),
            vec![JSON],
            400,
            "invalid timestamp",
        ),
        (
            "invalid label name",
            with_valid(json!({"stream": {"bad-name": "x"}, "values": [[ts, "x"]]})),
            vec![JSON],
            400,
            "invalid label name",
        ),
        (
            "no labels",
            with_valid(json!({"stream": {}, "values": [[ts, "x"]]})),
            vec![JSON],
            400,
            "at least one label",
        ),
        (
            "16 labels",
            with_valid(json!({"stream": many_labels, "values": [[ts, "x"]]})),
            vec![JSON],
            400,
            "max_label_names_per_series (15)",
        ),
        (
            "line too long",
            with_valid(json!({"stream": {"job": "x"}, "values": [[ts, long_line]]})),
            vec![JSON],
            400,
            "exceeds max_line_size_bytes (1000 bytes)",
        ),
        (
            "body too large",
            vec![b' '; 2 * 1024 * 1024],
            vec![JSON],
            413,
            "max_request_size_bytes",
        ),
        (
            "gzip bomb",
            gzip(&vec![b' '; 4 * 1024 * 1024]),
            vec![JSON, ("Content-Encoding", "gzip")],
            413,
            "max_request_size_bytes",
        ),
        (
            "corrupt gzip",
            b"\x1f\x8b\x08\x00garbage".to_vec(),
            vec![JSON, ("Content-Encoding", "gzip")],
            400,
            "cannot decompress",
        ),
        (
            "unknown encoding",
            b"{}".to_vec(),
            vec![JSON, ("Content-Encoding", "br")],
            400,
            "unsupported Content-Encoding",
        ),
        (
            "not snappy",
            b"\xff\xff\xff\xff\xff\xff".to_vec(),
            vec![PROTO],
            400,
            "snappy",
        ),
    ];
    let valid_proto = proto_body(vec![(
        r#"{job="refused"}"#,
        vec![(now_ns(), "valid proto line", vec![])],
    )]);
    let mut cases = cases;
    cases.push((
        "truncated protobuf",
        {
            let raw = snap::raw::Decoder::new()
                .decompress_vec(&valid_proto)
                .unwrap();
            snap::raw::Encoder::new()
                .compress_vec(&raw[..raw.len() - 3])
                .unwrap()
        },
        vec![PROTO],
        400,
        "invalid Loki push protobuf",
    ));
    cases.push((
        "protobuf with a bad label text",
        proto_body(vec![
            (
                r#"{job="refused"}"#,
                vec![(now_ns(), "valid proto line", vec![])],
            ),
            (r#"{job=unquoted}"#, vec![(now_ns(), "x", vec![])]),
        ]),
        vec![PROTO],
        400,
        "invalid labels",
    ));

    for (name, body, headers, want_status, want_text) in &cases {
        let (status, text) = server.push_raw(None, body, headers);
        assert_eq!(status, *want_status, "{name}: {text}");
        assert!(
            text.contains(want_text),
            "{name}: {text:?} lacks {want_text:?}"
        );
    }
    assert!(server.lines(None, r#"{job="refused"}"#).is_empty());
    assert!(server.lines(None, r#"{job="x"}"#).is_empty());

    // The server keeps serving.
    server.push_json(
        None,
        &json_body(json!({"job": "after"}), vec![json!([ts, "still fine"])]),
    );
    assert_eq!(server.lines(None, r#"{job="after"}"#).len(), 1);

    // Limits on reads answer 400 too.
    let (status, _, text) = server.query_raw(
        None,
        &[("query", r#"{job="after"}"#), ("limit", "5001")],
        &[],
    );
    assert_eq!(status, 400);
    assert!(text.contains("max_entries_limit_per_query"), "{text}");
    let (status, _, text) = server.query_raw(
        None,
        &[("query", r#"{job="after"}"#), ("start", "tomorrow")],
        &[],
    );
    assert_eq!(status, 400);
    assert!(text.contains("invalid start"), "{text}");
    let (status, _, text) = server.query_raw(None, &[], &[]);
    assert_eq!(status, 400);
    assert!(text.contains("missing query"), "{text}");
}

#[test]
fn lines_at_the_limit_are_accepted() {
    let server = Server::start("max_line_size_bytes: 1000\n");
    let line = "y".repeat(1000);
    server.push_json(
        None,
        &json_body(
            json!({"job": "edge"}),
            vec![json!([now_ns().to_string(), line])],
        ),
    );
    assert_eq!(server.lines(None, r#"{job="edge"}"#)[0].1.len(), 1000);
}

/// Every endpoint that takes a range or a step refuses what `query_range`
/// refuses, so none can be asked for millions of points or years of data.
#[test]
fn ranged_endpoints_share_query_ranges_limits() {
    let server = Server::start("max_query_range: 48h\n");
    let end = now_ns();
    let day = 86_400_000_000_000i64;
    let month_ago = (end - 30 * day).to_string();
    let two_days_ago = (end - 2 * day + 1_000_000_000).to_string();
    let end = end.to_string();
    let q = "%7Bjob%3D%22x%22%7D";
    let ranged = [
        "/loki/api/v1/query_range?query=count_over_time(%7Bjob%3D%22x%22%7D%5B1m%5D)&",
        "/loki/api/v1/index/volume_range",
        "/loki/api/v1/patterns",
        "/api/v1/patterns",
    ];
    for path in ranged {
        // A millisecond step over two days: 172 million points.
        let path = path_with_query(path, q);
        let url = format!("{path}start={two_days_ago}&end={end}&step=0.001");
        let (status, _, body) = server.request("GET", &url, None, None);
        assert_eq!(status, 400, "{url}: {body}");
        assert!(body.contains("maximum resolution"), "{url}: {body}");
        let url = format!("{path}start={two_days_ago}&end={end}&step=0");
        let (status, _, body) = server.request("GET", &url, None, None);
        assert_eq!(status, 400, "{url}: {body}");
        // A sane step over the same range is answered.
        let url = format!("{path}start={two_days_ago}&end={end}&step=60");
        let (status, _, body) = server.request("GET", &url, None, None);
        assert_eq!(status, 200, "{url}: {body}");
    }
    let all = ranged.iter().chain(&[
        "/loki/api/v1/index/volume",
        "/loki/api/v1/index/stats",
        "/loki/api/v1/detected_fields",
        "/loki/api/v1/detected_labels",
    ]);
    for path in all {
        let path = path_with_query(path, q);
        let url = format!("{path}start={month_ago}&end={end}&step=3600");
        let (status, _, body) = server.request("GET", &url, None, None);
        assert_eq!(status, 400, "{url}: {body}");
        assert!(body.contains("max_query_range"), "{url}: {body}");
    }
}

/// `path?query=q&`, unless the path already carries its own query.
fn path_with_query(path: &str, q: &str) -> String {
    if path.ends_with('&') {
        path.to_string()
    } else {
        format!("{path}?query={q}&")
    }
}
