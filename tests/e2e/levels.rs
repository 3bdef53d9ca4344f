//! Levels as Grafana asks for them, in the default configuration: its log
//! volume histogram, Logs Drilldown's level breakdown and filter, and
//! `detected_fields`/`detected_labels`, for a text, a JSON and a logfmt log.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::common::{json_body, now_ns, Server};
use crate::drilldown::get;

/// Each service's lines with the level Loki 3 would detect in them.
const SERVICES: [(&str, &[(&str, &str)]); 3] = [
    (
        "hdfs",
        &[
            ("081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660 terminating", "info"),
            ("081109 203807 222 WARN dfs.DataNode$DataXceiver: 10.251.30.6:50010:Got exception while serving blk_-7724713468912166542 to /10.251.30.6:", "warn"),
            ("2026-12-04 10:00:00,123 ERROR [main] org.shop.Checkout: payment failed", "error"),
            ("2026-12-04 10:00:01,123 INFO  [main] org.shop.Checkout: retrying", "info"),
            ("a line saying nothing of its level", "unknown"),
        ],
    ),
    (
        "checkout",
        &[
            (r#"{"level":"info","msg":"order placed","took":"12ms"}"#, "info"),
            (r#"{"level":"ERROR","msg":"card declined","took":"1.5s"}"#, "error"),
            (r#"{"severity":"warning","msg":"slow upstream"}"#, "warn"),
        ],
    ),
    (
        "search",
        &[
            ("ts=2026-12-04T10:00:00Z level=debug msg=\"cache hit\" took=2ms", "debug"),
            ("ts=2026-12-04T10:00:01Z level=warn msg=slow took=2s", "warn"),
            ("ts=2026-12-04T10:00:02Z lvl=info msg=done", "info"),
        ],
    ),
];

/// Counts of lines per `detected_level` that SERVICES say a service has.
fn expected_levels(service: &str) -> BTreeMap<String, u64> {
    let mut want = BTreeMap::new();
    let (_, lines) = SERVICES.iter().find(|(s, _)| *s == service).unwrap();
    for (_, level) in *lines {
        *want.entry(level.to_string()).or_default() += 1;
    }
    want
}

/// The counts per group of a matrix answer, summed over its steps.
fn totals_by(answer: &Value, label: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for series in answer["data"]["result"].as_array().unwrap() {
        let key = series["metric"][label]
            .as_str()
            .unwrap_or_else(|| panic!("series without {label}: {answer}"))
            .to_string();
        let total: f64 = series["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[1].as_str().unwrap().parse::<f64>().unwrap())
            .sum();
        *out.entry(key).or_default() += total as u64;
    }
    out
}

#[test]
fn grafana_level_views_for_text_json_and_logfmt() {
    let server = Server::start("");
    let now = now_ns();
    for (service, lines) in SERVICES {
        let values = lines
            .iter()
            .enumerate()
            .map(|(i, (line, _))| json!([(now - 90_000_000_000 + i as i64).to_string(), line]))
            .collect();
        server.push_json(
            None,
            &json_body(json!({"service_name": service, "env": "prod"}), values),
        );
    }
    let start = (now - 3_600_000_000_000).to_string();
    let end = now.to_string();

    for (service, _) in SERVICES {
        let want = expected_levels(service);
        let selector = format!("{{service_name=`{service}`}}");
        // A metric query over the last hour at a 1m step, as Grafana sends it.
        let range_query = |query: String, tag: &str| {
            let (status, answer, text) = server.query_raw(
                None,
                &[
                    ("query", &query),
                    ("start", &start),
                    ("end", &end),
                    ("step", "60"),
                ],
                &[("X-Query-Tags", tag)],
            );
            assert_eq!(status, 200, "{text}");
            (answer, text)
        };
        // Explore's log volume histogram (Source=logvolhist), `$__auto` = 1m.
        let (volume, text) = range_query(
            format!("sum by (level, detected_level) (count_over_time({selector} | drop __error__ [1m]))"),
            "Source=logvolhist",
        );
        assert_eq!(
            totals_by(&volume, "detected_level"),
            want,
            "{service}: {text}"
        );
        // Known levels group by `level` too; `unknown` is no level.
        for series in volume["data"]["result"].as_array().unwrap() {
            let detected = series["metric"]["detected_level"].as_str().unwrap();
            let level = series["metric"]["level"].as_str();
            assert_eq!(
                level,
                (detected != "unknown").then_some(detected),
                "{series}"
            );
        }

        // Drilldown's level breakdown.
        let (breakdown, _) = range_query(
            format!("sum by (detected_level) (count_over_time({selector} | drop __error__ [1m]))"),
            "Source=grafana-lokiexplore-app",
        );
        assert_eq!(totals_by(&breakdown, "detected_level"), want, "{service}");

        // Drilldown's level filter on the logs panel.
        let warn = server.lines(None, &format!(r#"{selector} | detected_level="warn""#));
        assert_eq!(warn.len() as u64, want.get("warn").copied().unwrap_or(0));

        let fields = get(
            &server,
            "/loki/api/v1/detected_fields",
            &[
                ("query", &selector),
                ("start", &start),
                ("end", &end),
                ("line_limit", "1000"),
            ],
        );
        let level_field = fields["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["label"] == "detected_level")
            .unwrap_or_else(|| panic!("{service}: no detected_level in {fields}"));
        assert_eq!(level_field["cardinality"], want.len(), "{service}");
        assert_eq!(level_field["parsers"], Value::Null);
        let values = get(
            &server,
            "/loki/api/v1/detected_field/detected_level/values",
            &[("query", &selector), ("start", &start), ("end", &end)],
        );
        assert_eq!(values["values"], json!(want.keys().collect::<Vec<_>>()));

        let labels = get(
            &server,
            "/loki/api/v1/detected_labels",
            &[("query", &selector), ("start", &start), ("end", &end)],
        );
        assert!(
            labels["detectedLabels"]
                .as_array()
                .unwrap()
                .contains(&json!({"label": "detected_level", "cardinality": want.len()})),
            "{service}: {labels}"
        );
    }

    // Volumes by level over every service, as `index/volume` groups them.
    let volume = get(
        &server,
        "/loki/api/v1/index/volume",
        &[
            ("query", r#"{service_name=~".+"}"#),
            ("start", &start),
            ("end", &end),
            ("targetLabels", "detected_level"),
            ("aggregateBy", "labels"),
        ],
    );
    let mut levels: Vec<&str> = volume["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["metric"]["detected_level"].as_str().unwrap())
        .collect();
    levels.sort_unstable();
    assert_eq!(
        levels,
        ["debug", "error", "info", "unknown", "warn"],
        "{volume}"
    );
}
