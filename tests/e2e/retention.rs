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
