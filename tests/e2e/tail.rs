//! Live tail: the WebSocket endpoint as Grafana uses it, and `basin tail`
//! showing a pushed line within a second.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{json_body, merging_user_values, now_ns, Server, BIN};

#[test]
fn websocket_tail_sends_history_then_new_lines() {
    let server = Server::start("");
    server.push_json(
        None,
        &json_body(
            json!({"app": "t"}),
            vec![json!([now_ns().to_string(), "before"])],
        ),
    );
    let url = format!(
        "{}/loki/api/v1/tail?query=%7Bapp%3D%22t%22%7D%20%21%3D%20%22no%20match%22&limit=10",
        server.url.replace("http://", "ws://")
    );
    let (mut socket, _) = tungstenite::connect(url.as_str()).unwrap();
    let read = |socket: &mut tungstenite::WebSocket<_>| -> Value {
        loop {
            if let tungstenite::Message::Text(t) = socket.read().unwrap() {
                return serde_json::from_str(&t).unwrap();
            }
        }
    };
    let history = read(&mut socket);
    assert_eq!(history["streams"][0]["stream"], json!({"app": "t"}));
    assert_eq!(history["streams"][0]["values"][0][1], "before");
    server.push_json(
        None,
        &json_body(
            json!({"app": "t"}),
            vec![
                json!([now_ns().to_string(), "no match here"]),
                json!([now_ns().to_string(), "after"]),
            ],
        ),
    );
    server.push_json(
        None,
        &json_body(
            json!({"app": "other"}),
            vec![json!([now_ns().to_string(), "other stream"])],
        ),
    );
    let live = read(&mut socket);
    assert_eq!(
        live["streams"][0]["values"].as_array().unwrap().len(),
        1,
        "{live}"
    );
    assert_eq!(live["streams"][0]["values"][0][1], "after");

    // A bad query is refused before the upgrade.
    let bad = format!(
        "{}/loki/api/v1/tail?query=%7Bapp",
        server.url.replace("http://", "ws://")
    );
    assert!(tungstenite::connect(bad.as_str()).is_err());
}

#[test]
fn tail_command_shows_a_line_within_a_second() {
    let server = Server::start("");
    server.push_json(
        None,
        &json_body(
            json!({"app": "live"}),
            vec![json!([now_ns().to_string(), "history line"])],
        ),
    );
    let mut child = Command::new(BIN)
        .args([
            "tail",
            "--server",
            &server.url,
            "--since",
            "1m",
            r#"{app="live"}"#,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    // Connected once the history has arrived.
    let (_, first) = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("history line");
    assert!(first.ends_with(r#"{app="live"} history line"#), "{first}");
    let mut worst = Duration::ZERO;
    for i in 0..5 {
        let pushed = Instant::now();
        server.push_json(
            None,
            &json_body(
                json!({"app": "live"}),
                vec![json!([now_ns().to_string(), format!("live line {i}")])],
            ),
        );
        let (seen, line) = rx.recv_timeout(Duration::from_secs(5)).expect("live line");
        assert!(line.ends_with(&format!("live line {i}")), "{line}");
        worst = worst.max(seen - pushed);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        worst < Duration::from_secs(1),
        "a line took {worst:?} to show"
    );
}

#[test]
fn tail_by_pattern_id_finds_lines_of_templates_merged_into_it() {
    let server = Server::start("");
    let t0 = now_ns() - 60_000_000_000;
    server.push_json(
        None,
        &json_body(json!({"app": "sshd"}), merging_user_values(t0)),
    );
    let mut resp = ureq::get(format!("{}/api/v1/patterns", server.url))
        .query("start", (t0 - 1).to_string())
        .call()
        .unwrap();
    let patterns: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    let merged = &patterns["data"][0];
    assert_eq!(merged["pattern"], "Invalid user <_> from <_>", "{patterns}");
    let id = merged["pattern_id"].as_str().unwrap();

    let query = format!(r#"{{app="sshd"}} | pattern_id="{id}""#);
    let encoded: String = query
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let url = format!(
        "{}/loki/api/v1/tail?query={encoded}&start={}",
        server.url.replace("http://", "ws://"),
        t0 - 1
    );
    let (mut socket, _) = tungstenite::connect(url.as_str()).unwrap();
    let mut read = || -> Vec<String> {
        loop {
            if let tungstenite::Message::Text(t) = socket.read().unwrap() {
                let v: Value = serde_json::from_str(&t).unwrap();
                return v["streams"][0]["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e[1].as_str().unwrap().to_string())
                    .collect();
            }
        }
    };
    assert_eq!(
        read().len(),
        4,
        "history: every line of the merged template"
    );
    server.push_json(
        None,
        &json_body(
            json!({"app": "sshd"}),
            vec![json!([
                now_ns().to_string(),
                "Invalid user erin from 10.9.9.8"
            ])],
        ),
    );
    assert_eq!(read(), ["Invalid user erin from 10.9.9.8"]);
}
