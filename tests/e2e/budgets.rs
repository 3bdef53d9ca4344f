//! Query budgets on a real server: a query that needs more memory than its
//! budget gets the documented 422 while the server's resident memory stays
//! within the configured total (measured from /proc), and the server goes
//! on answering.

use serde_json::json;

use crate::common::{json_body, Server};

const MIB: u64 = 1024 * 1024;
/// Distinct trace ids pushed: one series each under `sum by (trace)`.
const TRACES: usize = 200_000;

/// A /proc/PID/status figure in bytes (`VmRSS`, `VmHWM`).
fn status_bytes(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"));
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("bad {line:?}"));
    kib * 1024
}

#[test]
fn a_query_over_its_memory_budget_fails_and_the_server_stays_within_its_total() {
    let total = 64 * MIB;
    let server = Server::start(&format!(
        "max_query_memory_bytes: {}\nmax_query_memory_total_bytes: {total}\nmax_query_series: 10000000\nmax_entries_limit_per_query: 100000\n",
        16 * MIB
    ));
    let t0 = crate::common::now_ns() - 3_600_000_000_000;
    for batch in 0..TRACES / 10_000 {
        let values = (0..10_000)
            .map(|i| {
                let n = batch * 10_000 + i;
                json!([
                    (t0 + n as i64 * 10_000_000).to_string(),
                    format!(
                        r#"{{"level":"info","trace":"t{n:07}","ms":{},"msg":"served"}}"#,
                        n % 977
                    )
                ])
            })
            .collect();
        server.push_json(None, &json_body(json!({"job": "mem"}), values));
    }
    let pid = server.pid();
    let rss_before = status_bytes(pid, "VmRSS");
    // Writing 5 resets the peak (VmHWM) to the current RSS.
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();

    let end = (t0 + 3_600_000_000_000).to_string();
    let start = t0.to_string();
    let heavy = [
        // 200k series × 250 steps: about 800 MB of points unbounded.
        r#"sum by (trace) (count_over_time({job="mem"} | json [1h]))"#,
        // Every sample kept for its window.
        r#"quantile_over_time(0.99, {job="mem"} | json | unwrap ms [1h]) by (trace)"#,
    ];
    for query in heavy {
        let (status, _, body) = server.query_raw(
            None,
            &[("query", query), ("start", &start), ("end", &end)],
            &[],
        );
        assert_eq!(status, 422, "{query}: {body}");
        assert!(
            body.contains("resources exhausted") && body.contains("max_query_memory_bytes"),
            "{query}: {body}"
        );
    }
    // A log query keeping 100k parsed rows is over the budget too.
    let (status, _, body) = server.query_raw(
        None,
        &[
            ("query", r#"{job="mem"} | json"#),
            ("start", &start),
            ("end", &end),
            ("limit", "100000"),
        ],
        &[],
    );
    assert_eq!(status, 422, "{body}");

    let peak = status_bytes(pid, "VmHWM");
    eprintln!(
        "RSS before the queries {} MiB, peak during them {} MiB (+{} MiB; total budget {} MiB)",
        rss_before / MIB,
        peak / MIB,
        peak.saturating_sub(rss_before) / MIB,
        total / MIB
    );
    assert!(
        peak <= rss_before + total,
        "peak RSS {} MiB passed RSS before ({} MiB) plus the {} MiB total",
        peak / MIB,
        rss_before / MIB,
        total / MIB
    );

    // The server goes on answering queries within the budget.
    let (status, json, body) = server.query_raw(
        None,
        &[
            (
                "query",
                r#"sum by (level) (count_over_time({job="mem"} | json [1h]))"#,
            ),
            ("start", &start),
            ("end", &end),
        ],
        &[],
    );
    assert_eq!(status, 200, "{body}");
    let result = &json["data"]["result"];
    assert_eq!(result.as_array().map(Vec::len), Some(1), "{body}");
    let most = result[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v[1].as_str().unwrap().parse::<u64>().unwrap())
        .max();
    assert_eq!(most, Some(TRACES as u64), "{body}");
}
