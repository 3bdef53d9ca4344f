//! A full disk: pushes get 503 with `Retry-After`, queries go on, nothing
//! acknowledged is lost or stored twice, and writes resume by themselves
//! once space returns. The data directory is a small tmpfs mounted for the
//! test, so the disk really fills.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{agent, json_body, now_ns, Server};

/// A tmpfs of `size_mib` mounted over `dir` until dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size_mib: u64) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mib}m"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test needs to mount a tmpfs (run as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: the server may still hold files open while it is killed.
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes zeros into `path` until the file system refuses more.
fn fill(path: &Path) {
    let mut f = File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    loop {
        if f.write_all(&chunk).is_err() {
            break;
        }
    }
    // Whatever is left is smaller than a chunk: take it a byte at a time.
    while f.write_all(&[0]).and_then(|()| f.flush()).is_ok() {}
}

/// Files under `dir` whose names end in `.tmp` (half-written parts or
/// manifests).
fn tmp_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.to_string_lossy().ends_with(".tmp") {
                out.push(p);
            }
        }
    }
    out
}

struct Push {
    status: u16,
    retry_after: Option<String>,
    body: String,
}

/// Pushes `n` lines numbered from `first`; returns the answer and the lines.
fn push(server: &Server, first: usize, n: usize, base: i64) -> (Push, Vec<(i64, String)>) {
    let lines: Vec<(i64, String)> = (first..first + n)
        .map(|i| {
            (
                base + i as i64,
                format!("line={i} payload={}", "x".repeat(200)),
            )
        })
        .collect();
    let body = json_body(
        json!({"job": "full"}),
        lines
            .iter()
            .map(|(ts, l)| json!([ts.to_string(), l]))
            .collect(),
    );
    let mut resp = agent()
        .post(format!("{}/loki/api/v1/push", server.url))
        .header("Content-Type", "application/json")
        .send(body.to_string().as_bytes())
        .unwrap();
    let push = Push {
        status: resp.status().as_u16(),
        retry_after: resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: resp.body_mut().read_to_string().unwrap_or_default(),
    };
    (push, lines)
}

/// Every acknowledged line is stored exactly once.
fn assert_exactly_once(server: &Server, acked: &[(i64, String)]) {
    let stored = server.lines(None, r#"{job="full"}"#);
    let mut counts: HashMap<&(i64, String), usize> = HashMap::new();
    for e in &stored {
        *counts.entry(e).or_default() += 1;
    }
    assert!(
        counts.values().all(|&n| n == 1),
        "lines stored twice:\n{}",
        server.log()
    );
    let missing = acked.iter().filter(|e| !counts.contains_key(e)).count();
    assert_eq!(missing, 0, "acknowledged lines lost:\n{}", server.log());
}

#[test]
fn full_disk_refuses_pushes_keeps_queries_and_recovers() {
    // Flushes every second, so part writes fail on the full disk too.
    let mut server = Server::prepare(
        "min_free_disk_bytes: 0\nflush_interval: 1s\nmerge_interval: 1s\n\
         max_entries_limit_per_query: 1000000\npatterns: false\n",
    );
    let _disk = Tmpfs::mount(&server.data_dir(), 24);
    server.spawn();
    let base = now_ns() - 600_000_000_000;
    let mut acked = Vec::new();
    let mut next = 0;
    for _ in 0..5 {
        let (p, lines) = push(&server, next, 500, base);
        assert_eq!(p.status, 204, "{}", p.body);
        acked.extend(lines);
        next += 500;
    }

    let filler = server.data_dir().join("filler");
    fill(&filler);
    let mut refused = None;
    for _ in 0..50 {
        let (p, lines) = push(&server, next, 500, base);
        next += 500;
        match p.status {
            204 => acked.extend(lines),
            503 => {
                refused = Some(p);
                break;
            }
            other => panic!("push on a full disk: {other} {}\n{}", p.body, server.log()),
        }
    }
    let refused = refused.expect("no push was refused on a full disk");
    assert!(refused.body.contains("disk full"), "{}", refused.body);
    assert!(
        refused
            .retry_after
            .is_some_and(|s| s.parse::<u64>().is_ok()),
        "503 without Retry-After"
    );

    // Queries go on, flushes fail and retry, and leave no half-written files.
    assert_exactly_once(&server, &acked);
    std::thread::sleep(Duration::from_millis(2500));
    assert!(server.log().contains("flush failed"), "{}", server.log());
    assert_exactly_once(&server, &acked);
    assert!(
        tmp_files(&server.data_dir()).is_empty(),
        "{:?}",
        tmp_files(&server.data_dir())
    );

    // Space returns: pushes are taken again without a restart.
    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (p, lines) = push(&server, next, 500, base);
        next += 500;
        if p.status == 204 {
            acked.extend(lines);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "pushes still refused: {}",
            p.body
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The flush that failed is written now.
    let deadline = Instant::now() + Duration::from_secs(10);
    while crate::common::part_files(&server.data_dir()).is_empty() {
        assert!(Instant::now() < deadline, "no part written after recovery");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_exactly_once(&server, &acked);

    // And all of it survives a crash.
    server.kill();
    server.spawn();
    assert_exactly_once(&server, &acked);
    assert!(tmp_files(&server.data_dir()).is_empty());
}

#[test]
fn pushes_are_refused_below_min_free_disk_bytes() {
    let mut server = Server::prepare("min_free_disk_bytes: 12000000\npatterns: false\n");
    let _disk = Tmpfs::mount(&server.data_dir(), 24);
    server.spawn();
    let base = now_ns() - 600_000_000_000;
    let (p, mut acked) = push(&server, 0, 100, base);
    assert_eq!(p.status, 204, "{}", p.body);

    // 16 MiB taken: less than 12 MB left, but the disk is not full.
    let filler = server.data_dir().join("filler");
    std::fs::write(&filler, vec![0u8; 16 << 20]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut next = 100;
    let refused = loop {
        let (p, lines) = push(&server, next, 100, base);
        next += 100;
        if p.status == 503 {
            break p;
        }
        assert_eq!(p.status, 204, "{}", p.body);
        acked.extend(lines);
        // Free space is read at most once a second while there is room.
        assert!(
            Instant::now() < deadline,
            "never refused below the threshold"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        refused.body.contains("min_free_disk_bytes"),
        "{}",
        refused.body
    );
    assert!(refused.retry_after.is_some());
    assert_exactly_once(&server, &acked);

    std::fs::remove_file(&filler).unwrap();
    let (p, lines) = push(&server, next, 100, base);
    assert_eq!(p.status, 204, "{}", p.body);
    acked.extend(lines);
    assert_exactly_once(&server, &acked);
}
