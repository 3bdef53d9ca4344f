//! `basin patterns`, offline: one object per input line in order (jsonl),
//! or patterns by count (text), from a file or stdin.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::BIN;

fn input() -> String {
    let mut text = String::new();
    for i in 0..6 {
        text.push_str(&format!(
            "Accepted password for user{i} from 10.0.0.{i} port {} ssh2\n",
            2200 + i
        ));
        text.push_str(&format!("Connection closed by 10.1.0.{i} [preauth]\n"));
    }
    text.push_str("cupsd startup succeeded\ncupsd shutdown succeeded\n");
    text
}

#[test]
fn jsonl_gives_each_line_its_pattern() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.log");
    std::fs::write(&path, input()).unwrap();
    let out = Command::new(BIN)
        .args(["patterns", "--output", "jsonl"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 14);
    let id = |i: usize| rows[i]["pattern_id"].as_str().unwrap().to_string();
    assert!((0..6).all(|i| id(2 * i) == id(0) && id(2 * i + 1) == id(1)));
    assert_ne!(id(0), id(1));
    assert_ne!(id(12), id(13), "two words, two templates");
    assert_eq!(
        rows[0]["pattern"],
        "Accepted password for <_> from <_> port <_> <_>"
    );
    assert_eq!(rows[1]["pattern"], "Connection closed by <_> [preauth]");
    assert_eq!(rows[13]["pattern"], "cupsd shutdown succeeded");
}

#[test]
fn text_summarises_stdin_by_count() {
    let mut child = Command::new(BIN)
        .args(["patterns", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(
        lines[0],
        "6  Accepted password for <_> from <_> port <_> <_>"
    );
    assert_eq!(lines[1], "6  Connection closed by <_> [preauth]");
    assert!(lines[2..].iter().all(|l| l.starts_with("1  cupsd")));

    let missing = Command::new(BIN)
        .args(["patterns", "/no/such/file.log"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read /no/such/file.log"));
}
