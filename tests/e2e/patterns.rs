//! Patterns: `basin patterns` offline (one object per input line in order
//! as jsonl, or patterns by count as text, from a file or stdin), and the
//! server's mining: `/loki/api/v1/patterns`, `/api/v1/patterns` with
//! `new_since`, `| pattern_id=` filters, ids kept across a restart.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use serde_json::json;

use crate::common::{json_body, merging_user_values, now_ns, Server, BIN};

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
        "Accepted password for <_> from <_> port <_>"
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
    assert_eq!(lines[0], "6  Accepted password for <_> from <_> port <_>");
    assert_eq!(lines[1], "6  Connection closed by <_> [preauth]");
    assert!(lines[2..].iter().all(|l| l.starts_with("1  cupsd")));

    let missing = Command::new(BIN)
        .args(["patterns", "/no/such/file.log"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read /no/such/file.log"));
}

fn get(server: &Server, path: &str, params: &[(&str, &str)]) -> Value {
    let mut req = ureq::get(format!("{}{path}", server.url));
    for (k, v) in params {
        req = req.query(*k, *v);
    }
    let mut resp = req.call().unwrap();
    assert_eq!(resp.status(), 200);
    serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
}

/// Pushes `n` lines of each of three templates, one second apart from `t0`.
fn push_templates(server: &Server, t0: i64, n: i64, users_from: i64) {
    let mut values = Vec::new();
    for i in 0..n {
        let t = t0 + i * 1_000_000_000;
        values.push(json!([
            t.to_string(),
            format!("user u{} logged in from 10.0.0.{i}", users_from + i)
        ]));
        values.push(json!([
            (t + 1).to_string(),
            format!("ERROR payment {} failed: card declined", 900 + i)
        ]));
        values.push(json!([
            (t + 2).to_string(),
            format!("cache hit ratio {}.{i}%", 90 + i % 9)
        ]));
    }
    server.push_json(None, &json_body(json!({"job": "shop"}), values));
}

#[test]
fn mined_patterns_are_served_filtered_and_kept_across_a_restart() {
    let mut server = Server::start("");
    let t0 = now_ns() - 600_000_000_000;
    push_templates(&server, t0, 10, 0);
    let range = [
        ("start", (t0 - 1_000_000_000).to_string()),
        ("end", (t0 + 60_000_000_000).to_string()),
    ];
    let params = |extra: &[(&'static str, String)]| -> Vec<(&'static str, String)> {
        let mut p: Vec<(&'static str, String)> = range.to_vec();
        p.extend(extra.iter().cloned());
        p
    };
    let as_refs = |p: &[(&'static str, String)]| -> Vec<(&'static str, String)> { p.to_vec() };
    let call = |server: &Server, path: &str, p: &[(&'static str, String)]| {
        let refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
        get(server, path, &refs)
    };

    // Loki's shape: three patterns, with levels and per-step samples.
    let loki = call(
        &server,
        "/loki/api/v1/patterns",
        &params(&[("query", r#"{job="shop"}"#.into()), ("step", "10s".into())]),
    );
    let data = loki["data"].as_array().unwrap();
    let texts: Vec<&str> = data
        .iter()
        .map(|p| p["pattern"].as_str().unwrap())
        .collect();
    assert_eq!(data.len(), 3, "{loki}");
    assert!(texts.contains(&"user <_> logged in from <_>"), "{texts:?}");
    assert!(texts.contains(&"ERROR payment <_> failed: card declined"));
    let payment = data
        .iter()
        .find(|p| p["pattern"].as_str().unwrap().starts_with("ERROR"))
        .unwrap();
    assert_eq!(payment["level"], "error");
    let total: u64 = payment["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s[1].as_u64().unwrap())
        .sum();
    assert_eq!(total, 10);

    // Basin's shape: ids, first seen, example, level mix.
    let basin = call(&server, "/api/v1/patterns", &as_refs(&params(&[])));
    let data = basin["data"].as_array().unwrap();
    assert_eq!(data.len(), 3, "{basin}");
    let user = data
        .iter()
        .find(|p| p["pattern"] == "user <_> logged in from <_>")
        .unwrap();
    assert_eq!(user["count"], 10);
    assert_eq!(user["example"], "user u0 logged in from 10.0.0.0");
    assert_eq!(user["levels"]["unknown"], 10);
    assert_eq!(user["group"], "shop", "mined in its service's group");
    let user_id = user["pattern_id"].as_str().unwrap().to_string();

    // Filtering by pattern id with a plain label filter.
    let q = format!(r#"{{job="shop"}} | pattern_id="{user_id}""#);
    let lines = server.lines(None, &q);
    assert_eq!(lines.len(), 10);
    assert!(lines.iter().all(|(_, l)| l.starts_with("user ")));

    // Templates that merge: the first three user names start templates of
    // their own, the fourth makes the name a variable; the filter on the
    // merged id finds the lines stored under the others too.
    server.push_json(
        None,
        &json_body(json!({"job": "auth"}), merging_user_values(t0)),
    );
    let auth = call(
        &server,
        "/api/v1/patterns",
        &params(&[("query", r#"{job="auth"}"#.into())]),
    );
    let merged = &auth["data"][0];
    assert_eq!(merged["pattern"], "Invalid user <_> from <_>", "{auth}");
    assert_eq!(merged["count"], 4);
    assert_eq!(merged["group"], "auth");
    assert_eq!(merged["aliases"].as_array().map(Vec::len), Some(2));
    let q_auth = format!(
        r#"{{job="auth"}} | pattern_id="{}""#,
        merged["pattern_id"].as_str().unwrap()
    );
    assert_eq!(server.lines(None, &q_auth).len(), 4);

    // A restart keeps the patterns and their ids: new lines of a known
    // template get its id; a new template is listed by new_since.
    let (code, _) = server.terminate();
    assert_eq!(code, Some(0));
    server.spawn();
    let cut = t0 + 30_000_000_000;
    push_templates(&server, cut, 2, 100);
    server.push_json(
        None,
        &json_body(
            json!({"job": "shop"}),
            vec![json!([
                (cut + 5_000_000_000i64).to_string(),
                "disk /dev/sda1 almost full"
            ])],
        ),
    );
    let lines = server.lines(None, &q);
    assert_eq!(lines.len(), 12, "the id survived the restart");
    let new = call(
        &server,
        "/api/v1/patterns",
        &params(&[("new_since", cut.to_string())]),
    );
    let new_texts: Vec<&str> = new["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pattern"].as_str().unwrap())
        .collect();
    assert_eq!(new_texts, ["disk /dev/<_> almost full"], "{new}");
    let again = call(&server, "/api/v1/patterns", &as_refs(&params(&[])));
    let user = again["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pattern_id"] == user_id.as_str())
        .unwrap();
    assert_eq!(user["count"], 12);

    // Bad input is a 400 naming the problem.
    let resp = ureq::get(format!("{}/loki/api/v1/patterns", server.url))
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    assert_eq!(resp.status(), 400);
}
