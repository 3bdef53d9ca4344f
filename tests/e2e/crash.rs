//! Crash safety: every acknowledged entry survives SIGKILL exactly once, and a
//! torn WAL tail is cut off with a warning.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::common::{agent, json_body, now_ns, Server};

#[test]
fn acknowledged_entries_survive_sigkill_exactly_once() {
    // A small head makes flushes (parts, manifest, WAL deletion) happen mid-load.
    let mut server =
        Server::start("head_max_bytes: 200000\nmax_entries_limit_per_query: 1000000\n");
    let url = format!("{}/loki/api/v1/push", server.url);
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();
    let base = now_ns() - 60_000_000_000;
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let (url, stop, acked) = (url.clone(), stop.clone(), acked.clone());
            std::thread::spawn(move || {
                let agent = agent();
                let mut batch = 0i64;
                while !stop.load(Ordering::Relaxed) {
                    let entries: Vec<(i64, String)> = (0..50)
                        .map(|i| {
                            let ts = base + (client * 1_000_000_000) + batch * 100 + i;
                            (
                                ts,
                                format!(
                                    "client={client} batch={batch} entry={i} payload={}",
                                    "p".repeat(40)
                                ),
                            )
                        })
                        .collect();
                    let body = json_body(
                        json!({"job": "crash", "client": client.to_string()}),
                        entries
                            .iter()
                            .map(|(ts, l)| json!([ts.to_string(), l]))
                            .collect(),
                    );
                    let resp = agent
                        .post(&url)
                        .header("Content-Type", "application/json")
                        .send(body.to_string().as_bytes());
                    match resp {
                        Ok(r) if r.status() == 204 => acked.lock().unwrap().extend(entries),
                        _ => {
                            // The server is gone: what was not acknowledged may be lost.
                            if stop.load(Ordering::Relaxed) {
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(5));
                        }
                    }
                    batch += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(2500));
    server.kill();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 1000,
        "only {} entries acknowledged before the kill",
        acked.len()
    );

    server.spawn();
    let stored = server.lines(None, r#"{job="crash"}"#);
    let mut counts: HashMap<&(i64, String), usize> = HashMap::new();
    for entry in &stored {
        *counts.entry(entry).or_default() += 1;
    }
    let duplicates = counts.values().filter(|&&n| n > 1).count();
    assert_eq!(duplicates, 0, "entries stored more than once");
    let missing: Vec<_> = acked
        .iter()
        .filter(|e| !counts.contains_key(e))
        .take(5)
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged entries lost, e.g. {missing:?}",
        acked.len() - (stored.len().min(acked.len()))
    );
    assert!(stored.len() >= acked.len());
    assert!(
        !crate::common::part_files(&server.data_dir()).is_empty(),
        "no flush happened during the load"
    );
}

#[test]
fn torn_wal_tail_is_truncated_and_the_server_starts() {
    let mut server = Server::start("");
    let ts = now_ns();
    for i in 0..3 {
        server.push_json(
            None,
            &json_body(
                json!({"job": "torn"}),
                vec![json!([(ts + i).to_string(), format!("line {i}")])],
            ),
        );
    }
    server.kill();
    let wal_dir = server.data_dir().join("wal");
    let mut segments: Vec<_> = std::fs::read_dir(&wal_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    segments.sort();
    let last = segments.last().unwrap().clone();
    // A record header promising more bytes than follow, then garbage.
    let mut f = OpenOptions::new().append(true).open(&last).unwrap();
    f.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9]).unwrap();
    drop(f);
    server.spawn();
    let lines: Vec<String> = server
        .lines(None, r#"{job="torn"}"#)
        .into_iter()
        .map(|l| l.1)
        .collect();
    assert_eq!(lines, ["line 0", "line 1", "line 2"]);
    assert!(
        server.log().contains("truncating"),
        "no warning logged:\n{}",
        server.log()
    );

    // A corrupt (bit-flipped) last record is dropped the same way; the others stay.
    server.push_json(
        None,
        &json_body(
            json!({"job": "torn"}),
            vec![json!([(ts + 3).to_string(), "line 3"])],
        ),
    );
    server.kill();
    let mut segments: Vec<_> = std::fs::read_dir(&wal_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    segments.sort();
    let last = segments.last().unwrap().clone();
    let mut data = std::fs::read(&last).unwrap();
    let n = data.len();
    data[n - 2] ^= 0x55;
    std::fs::write(&last, data).unwrap();
    server.spawn();
    let lines: Vec<String> = server
        .lines(None, r#"{job="torn"}"#)
        .into_iter()
        .map(|l| l.1)
        .collect();
    assert_eq!(lines, ["line 0", "line 1", "line 2"]);
}

#[test]
fn a_torn_part_is_quarantined_reported_and_the_server_serves_the_rest() {
    let mut server = Server::start("");
    let day = 86_400_000_000_000i64;
    let now = now_ns();
    let body = |ts: i64, line: &str| {
        json_body(json!({"job": "torn"}), vec![json!([ts.to_string(), line])])
    };
    server.push_json(None, &body(now, "today's line"));
    server.push_json(None, &body(now - 2 * day, "a line two days old"));
    server.terminate();
    // Parts are per day: tear the older day's file in half.
    let parts = crate::common::part_files(&server.data_dir());
    assert_eq!(parts.len(), 2, "{parts:?}");
    let mut parts = parts;
    parts.sort();
    let torn = parts[0].clone();
    let bytes = std::fs::read(&torn).unwrap();
    std::fs::write(&torn, &bytes[..bytes.len() / 2]).unwrap();

    server.spawn();
    let lines: Vec<String> = server
        .lines(None, r#"{job="torn"}"#)
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    assert_eq!(lines, vec!["today's line".to_string()]);
    assert!(server.metrics().contains("basin_parts_quarantined_total 1"));
    let quarantined = server.data_dir().join("quarantine");
    let kept: Vec<_> = walk(&quarantined);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(std::fs::read(&kept[0]).unwrap().len(), bytes.len() / 2);
    assert!(server.log().contains("moved to quarantine"));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}
