//! `basin import` sends a 100,000-line file; every line is then queryable.

use std::io::Write;
use std::process::Command;

use crate::common::{Server, BIN};

#[test]
fn import_sends_a_large_file() {
    let server = Server::start("max_entries_limit_per_query: 200000\n");
    let path = server.dir.path().join("app.log");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for i in 0..100_000 {
        if i % 2 == 0 {
            writeln!(file, "plain text line {i} level=info").unwrap();
        } else {
            writeln!(
                file,
                r#"{{"ts":"2024-05-01T12:00:00.{:06}Z","level":"warn","msg":"json line {i}","user":{{"id":{i}}}}}"#,
                i % 1_000_000
            )
            .unwrap();
        }
    }
    drop(file);
    let out = Command::new(BIN)
        .args([
            "import",
            "--server",
            &server.url,
            "--labels",
            r#"{job="imported"}"#,
        ])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("imported 100000 lines"), "{stdout}");

    let lines = server.lines(None, r#"{job="imported"}"#);
    assert_eq!(lines.len(), 100_000);
    // JSON lines take their time from "ts" and keep their fields.
    let json_lines = server.lines(None, r#"{job="imported"} |= "json line 99999""#);
    assert_eq!(json_lines.len(), 1);
    // 2024-05-01T12:00:00.099999Z
    let want_ts = 1_714_564_800_000_000_000 + 99_999 * 1000;
    assert_eq!(json_lines[0].0, want_ts);
    let (_, body, _) = server.query_raw(
        None,
        &[
            ("query", r#"{job="imported"} |= "json line 99999""#),
            ("start", "0"),
        ],
        &[],
    );
    let stream = &body["data"]["result"][0]["stream"];
    assert_eq!(stream["level"], "warn");
    // Nested objects are flattened into fields.
    assert_eq!(stream["user_id"], "99999");
    assert_eq!(stream["filename"], path.display().to_string());

    // Stdin works too, and a bad server is a clear error.
    let mut child = Command::new(BIN)
        .args([
            "import",
            "--server",
            &server.url,
            "--labels",
            r#"{job="stdin"}"#,
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"one\ntwo\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 2 lines"));
    assert_eq!(server.lines(None, r#"{job="stdin"}"#).len(), 2);
    let out = Command::new(BIN)
        .args(["import", "--server", "http://127.0.0.1:1", "-"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let out2 = Command::new(BIN)
        .args(["import", "--labels", "not labels", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "empty stdin sends nothing");
    assert!(!out2.status.success());
    assert!(String::from_utf8_lossy(&out2.stderr).contains("--labels"));
}

/// Stack traces in a text file arrive as one entry each.
#[test]
fn import_joins_stack_traces() {
    let server = Server::start("");
    let path = server.dir.path().join("app.log");
    std::fs::write(
        &path,
        "2024-05-01 12:00:00,123 ERROR [main] a.B: failed\n\
         java.lang.IllegalStateException: card declined\n\
         \tat com.shop.Billing.charge(Billing.java:42)\n\
         Caused by: java.io.IOException: timeout\n\
         \t... 2 more\n\
         2024-05-01 12:00:01,000 INFO [main] a.B: next\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args([
            "import",
            "--server",
            &server.url,
            "--labels",
            r#"{job="trace"}"#,
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = server.lines(None, r#"{job="trace"}"#);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].1.starts_with("2024-05-01 12:00:00,123 ERROR"));
    assert!(lines[0].1.ends_with("\t... 2 more"), "{:?}", lines[0].1);
    // Each entry keeps the time its header carries, not the import's.
    assert_eq!(lines[0].0, 1_714_564_800_123_000_000);
    assert_eq!(lines[1].0, 1_714_564_801_000_000_000);
}
