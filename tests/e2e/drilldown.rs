//! The requests Grafana Logs Drilldown makes, with its parameters, and the
//! answer shapes it parses.

use serde_json::{json, Value};

use crate::common::{json_body, now_ns, Server};

pub(crate) fn get(server: &Server, path: &str, params: &[(&str, &str)]) -> Value {
    let mut req = crate::common::agent()
        .get(format!("{}{path}", server.url))
        .header("X-Query-Tags", "Source=grafana-lokiexplore-app");
    for (k, v) in params {
        req = req.query(*k, *v);
    }
    let mut resp = req.call().unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    assert_eq!(status, 200, "{path}: {text}");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn drilldown_requests() {
    let server = Server::start("");
    let now = now_ns();
    let lines = [
        r#"{"level":"info","status":200,"took":"12ms","user":"alice"}"#,
        r#"{"level":"error","status":500,"took":"1.5s","user":"bob"}"#,
        r#"{"level":"info","status":201,"took":"30ms","user":"alice"}"#,
    ];
    server.push_json(
        None,
        &json_body(
            json!({"service_name": "checkout", "env": "prod"}),
            lines
                .iter()
                .enumerate()
                .map(|(i, l)| json!([(now - 60_000_000_000 + i as i64).to_string(), l, {"trace_id": format!("t{i}")}]))
                .collect(),
        ),
    );
    server.push_json(
        None,
        &json_body(
            json!({"service_name": "search", "env": "prod"}),
            vec![json!([
                (now - 30_000_000_000).to_string(),
                "level=warn msg=slow took=2s"
            ])],
        ),
    );
    let start = (now - 3_600_000_000_000).to_string();
    let end = now.to_string();
    let range = [("start", start.as_str()), ("end", end.as_str())];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        range.iter().copied().chain(extra.iter().copied()).collect()
    };

    let labels = get(
        &server,
        "/loki/api/v1/detected_labels",
        &with(&[("query", r#"{env="prod"}"#)]),
    );
    assert_eq!(
        labels["detectedLabels"],
        json!([
            {"label": "env", "cardinality": 1},
            {"label": "service_name", "cardinality": 2},
            {"label": "detected_level", "cardinality": 3},
        ])
    );

    let fields = get(
        &server,
        "/loki/api/v1/detected_fields",
        &with(&[
            ("query", r#"{service_name="checkout"}"#),
            ("line_limit", "1000"),
            ("field_limit", "1000"),
        ]),
    );
    let field = |name: &str| {
        fields["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["label"] == name)
            .unwrap_or_else(|| panic!("no field {name} in {fields}"))
            .clone()
    };
    assert_eq!(
        field("level"),
        json!({"label": "level", "type": "string", "cardinality": 2, "parsers": ["json"]})
    );
    assert_eq!(field("status")["type"], "int");
    assert_eq!(field("took")["type"], "duration");
    assert_eq!(field("trace_id")["parsers"], Value::Null);
    assert_eq!(field("trace_id")["cardinality"], 3);

    let values = get(
        &server,
        "/loki/api/v1/detected_field/user/values",
        &with(&[("query", r#"{service_name="checkout"}"#)]),
    );
    assert_eq!(values["values"], json!(["alice", "bob"]));

    let volume = get(
        &server,
        "/loki/api/v1/index/volume",
        &with(&[
            ("query", r#"{service_name=~".+"}"#),
            ("limit", "100"),
            ("aggregateBy", "series"),
            ("targetLabels", "service_name"),
        ]),
    );
    assert_eq!(volume["data"]["resultType"], "vector");
    let result = volume["data"]["result"].as_array().unwrap();
    let checkout_bytes: usize = lines.iter().map(|l| l.len()).sum();
    assert_eq!(result[0]["metric"], json!({"service_name": "checkout"}));
    assert_eq!(result[0]["value"][1], checkout_bytes.to_string());
    assert_eq!(result[1]["metric"], json!({"service_name": "search"}));

    let volume_range = get(
        &server,
        "/loki/api/v1/index/volume_range",
        &with(&[("query", r#"{env="prod"}"#), ("step", "600")]),
    );
    assert_eq!(volume_range["data"]["resultType"], "matrix");
    assert_eq!(
        volume_range["data"]["result"][0]["metric"],
        json!({"env": "prod"})
    );

    let stats = get(
        &server,
        "/loki/api/v1/index/stats",
        &with(&[("query", r#"{env="prod"}"#)]),
    );
    assert_eq!(stats["streams"], 2);
    assert_eq!(stats["entries"], 4);
    assert_eq!(
        stats["bytes"],
        checkout_bytes + "level=warn msg=slow took=2s".len()
    );

    let patterns = get(
        &server,
        "/loki/api/v1/patterns",
        &with(&[("query", r#"{env="prod"}"#), ("step", "60s")]),
    );
    assert_eq!(patterns["status"], "success");
    assert!(patterns["data"].is_array());

    // The logs panel: a log query with categorize-labels, as Drilldown sends it.
    let mut req = crate::common::agent()
        .get(format!("{}/loki/api/v1/query_range", server.url))
        .header("X-Loki-Response-Encoding-Flags", "categorize-labels");
    for (k, v) in with(&[
        (
            "query",
            r#"{service_name="checkout"} | json | level="error""#,
        ),
        ("limit", "100"),
        ("direction", "backward"),
    ]) {
        req = req.query(k, v);
    }
    let body: Value =
        serde_json::from_str(&req.call().unwrap().body_mut().read_to_string().unwrap()).unwrap();
    let stream = &body["data"]["result"][0];
    assert_eq!(
        stream["stream"],
        json!({"env": "prod", "service_name": "checkout"})
    );
    assert_eq!(
        stream["values"][0][2]["structuredMetadata"],
        json!({"trace_id": "t1"})
    );
    assert_eq!(stream["values"][0][2]["parsed"]["user"], "bob");
    assert_eq!(body["data"]["encodingFlags"], json!(["categorize-labels"]));
}
