//! Loki's delete API as its users call it (curl-style POST with the query
//! in the URL): covered lines leave queries at once, log and metric; the
//! next merge round removes them from the part files (read back with
//! pyarrow); requests are listed, cancelled, and survive a restart.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{json_body, now_ns, part_files, Server};

/// Every `_line` of every part file, read by pyarrow.
fn lines_on_disk(server: &Server) -> Vec<String> {
    let files: Vec<String> = part_files(&server.data_dir())
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let out = Command::new("python3")
        .arg("-c")
        .arg(
            "import json, sys\nimport pyarrow.parquet as pq\nout = []\n\
             for f in sys.argv[1:]:\n    out += pq.read_table(f, columns=['_line']).column('_line').to_pylist()\n\
             print(json.dumps(out))",
        )
        .args(&files)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn call(server: &Server, method: &str, path_and_query: &str) -> (u16, String) {
    let (status, _, body) = server.request(method, path_and_query, None, Some(""));
    (status, body)
}

/// The largest value a metric query gives over the last two hours.
fn count(server: &Server, query: &str) -> f64 {
    let end = now_ns();
    let start = (end - 7_200_000_000_000).to_string();
    let (status, json, body) = server.query_raw(
        None,
        &[
            ("query", query),
            ("start", &start),
            ("end", &end.to_string()),
            ("step", "60"),
        ],
        &[],
    );
    assert_eq!(status, 200, "{body}");
    json["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
        .map(|v| v[1].as_str().unwrap().parse::<f64>().unwrap())
        .fold(0.0, f64::max)
}

#[test]
fn deleted_lines_leave_queries_at_once_and_parts_at_the_next_merge() {
    let mut server =
        Server::start("line_encoding: plain\nflush_interval: 1s\nmerge_interval: 1s\n");
    let t = now_ns() - 60_000_000_000;
    let app = vec![
        json!([t.to_string(), "user=alice ok"]),
        json!([(t + 1).to_string(), "user=bob secret=hunter2"]),
        json!([(t + 2).to_string(), "user=bob ok"]),
    ];
    server.push_json(None, &json_body(json!({"job": "app"}), app));
    server.push_json(
        None,
        &json_body(
            json!({"job": "other"}),
            vec![json!([t.to_string(), "secret=keep"])],
        ),
    );
    assert_eq!(server.wait_lines(r#"{job=~"app|other"}"#, 4).len(), 4);
    // Flushed to parts before the delete, so the merge round has work.
    let deadline = Instant::now() + Duration::from_secs(15);
    while !lines_on_disk(&server).iter().any(|l| l.contains("hunter2")) {
        assert!(
            Instant::now() < deadline,
            "lines never reached the part files"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let q = "%7Bjob%3D%22app%22%7D%20%7C%3D%20%22secret%22";
    let (status, body) = call(
        &server,
        "POST",
        &format!("/loki/api/v1/delete?query={q}&start=0"),
    );
    assert_eq!(status, 204, "{body}");
    // Gone from answers at once: log and metric queries.
    let left: Vec<String> = server
        .lines(None, r#"{job="app"}"#)
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    assert_eq!(
        left,
        vec!["user=alice ok".to_string(), "user=bob ok".to_string()]
    );
    assert_eq!(
        count(&server, r#"sum(count_over_time({job="app"}[1h]))"#),
        2.0
    );
    assert_eq!(
        server.lines(None, r#"{job="other"}"#).len(),
        1,
        "other streams untouched"
    );

    // Listed; processed at the next merge round; gone from the files.
    let deadline = Instant::now() + Duration::from_secs(20);
    let id = loop {
        let (status, body) = call(&server, "GET", "/loki/api/v1/delete");
        assert_eq!(status, 200, "{body}");
        let listed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 1, "{body}");
        assert_eq!(listed[0]["query"], r#"{job="app"} |= "secret""#);
        if listed[0]["status"] == "processed" {
            break listed[0]["request_id"].as_str().unwrap().to_string();
        }
        assert!(Instant::now() < deadline, "never processed: {body}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let on_disk = lines_on_disk(&server);
    assert!(
        !on_disk.iter().any(|l| l.contains("hunter2")),
        "{on_disk:?}"
    );
    for kept in ["user=alice ok", "user=bob ok", "secret=keep"] {
        assert!(
            on_disk.iter().any(|l| l == kept),
            "{kept} lost: {on_disk:?}"
        );
    }
    // A processed request cannot be cancelled; a new one can.
    let (status, _) = call(
        &server,
        "DELETE",
        &format!("/loki/api/v1/delete?request_id={id}"),
    );
    assert_eq!(status, 400);
    let (status, body) = call(
        &server,
        "POST",
        "/loki/api/v1/delete?query=%7Bjob%3D%22other%22%7D&start=0&end=1",
    );
    assert_eq!(status, 204, "{body}");
    let (_, body) = call(&server, "GET", "/loki/api/v1/delete");
    let listed: Value = serde_json::from_str(&body).unwrap();
    let second = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["request_id"] != id.as_str())
        .unwrap()["request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = call(
        &server,
        "DELETE",
        &format!("/loki/api/v1/delete?request_id={second}"),
    );
    // Processed already if the merge round came first; either way it is
    // no longer pending and the line it names stays (end=1 covers nothing).
    assert!(matches!(status, 204 | 400), "{status}");
    assert_eq!(server.lines(None, r#"{job="other"}"#).len(), 1);

    // Bad requests change nothing.
    for bad in [
        "/loki/api/v1/delete?start=0",
        "/loki/api/v1/delete?query=%7Bjob%3D%22app%22%7D",
        "/loki/api/v1/delete?query=nonsense&start=0",
        "/loki/api/v1/delete?query=%7Bjob%3D%22app%22%7D%20%7C%20line_format%20%22x%22&start=0",
    ] {
        let (status, body) = call(&server, "POST", bad);
        assert_eq!(status, 400, "{bad}: {body}");
    }
    assert_eq!(server.lines(None, r#"{job="app"}"#).len(), 2);

    // After a restart the requests and the hiding hold.
    server.terminate();
    server.spawn();
    let (_, body) = call(&server, "GET", "/loki/api/v1/delete");
    assert!(body.contains(&id), "{body}");
    assert_eq!(server.lines(None, r#"{job="app"}"#).len(), 2);
}
