//! Retention drops parts past their age and keeps recent ones.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{json_body, now_ns, part_files, Server};

const DAY_NS: i64 = 86_400 * 1_000_000_000;

#[test]
fn expired_parts_are_removed_and_recent_ones_kept() {
    let server = Server::start("retention_period: 24h\nflush_interval: 1s\n");
    let now = now_ns();
    server.push_json(
        None,
        &json_body(
            json!({"job": "ret"}),
            vec![
                json!([(now - 5 * DAY_NS).to_string(), "five days old"]),
                json!([(now - 3 * DAY_NS).to_string(), "three days old"]),
                json!([now.to_string(), "fresh"]),
            ],
        ),
    );
    // Flushed to one part per day, then the two old days expire.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lines: Vec<String> = server
            .lines(None, r#"{job="ret"}"#)
            .into_iter()
            .map(|l| l.1)
            .collect();
        let files = part_files(&server.data_dir());
        if lines == ["fresh"] && files.len() == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "retention did not apply: {lines:?}, {files:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        server.log().contains("retention dropped part"),
        "{}",
        server.log()
    );
}

/// `retention_stream`: streams a selector matches keep their lines for the
/// rule's period; the others keep theirs; lines sharing a part with kept
/// ones go alone (the part is rewritten, not dropped).
#[test]
fn stream_selectors_expire_their_own_lines_only() {
    let server = Server::start(
        "retention_period: 30d\nflush_interval: 1s\ncompaction_interval: 1s\n\
         retention_stream:\n  - selector: '{env=\"dev\"}'\n    priority: 1\n    period: 1h\n  \
         - selector: '{env=\"dev\", app=\"audit\"}'\n    priority: 2\n    period: 24h\n",
    );
    let now = now_ns();
    let hour = DAY_NS / 24;
    let push = |labels: serde_json::Value, ts: i64, line: &str| {
        server.push_json(
            None,
            &json_body(labels, vec![json!([ts.to_string(), line])]),
        );
    };
    push(
        json!({"env": "dev", "app": "web"}),
        now - 2 * hour,
        "dev web two hours old",
    );
    push(
        json!({"env": "dev", "app": "web"}),
        now - hour / 6,
        "dev web ten minutes old",
    );
    push(
        json!({"env": "dev", "app": "audit"}),
        now - 2 * hour,
        "dev audit two hours old",
    );
    push(
        json!({"env": "prod", "app": "web"}),
        now - 2 * hour,
        "prod web two hours old",
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let all = |server: &Server| -> Vec<String> {
        let mut lines: Vec<String> = server
            .lines(None, r#"{app=~".+"}"#)
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        lines.sort();
        lines
    };
    loop {
        let lines = all(&server);
        if !lines.iter().any(|l| l == "dev web two hours old") {
            assert_eq!(
                lines,
                vec![
                    "dev audit two hours old".to_string(),
                    "dev web ten minutes old".to_string(),
                    "prod web two hours old".to_string(),
                ]
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "expired dev line still there: {lines:?}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(!part_files(&server.data_dir()).is_empty());
}

#[test]
fn stream_rules_longer_than_the_retention_period_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("basin.yaml");
    std::fs::write(
        &config,
        "retention_period: 24h\nretention_stream:\n  - selector: '{env=\"dev\"}'\n    period: 48h\n",
    )
    .unwrap();
    let out = std::process::Command::new(crate::common::BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("retention_stream") && stderr.contains("longer than retention_period"),
        "{stderr}"
    );
}
