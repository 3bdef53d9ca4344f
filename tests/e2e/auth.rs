//! Tokens on a real server with `auth: on`: nothing but `/ready` answers
//! without one; scopes and tenants hold on every endpoint family; Grafana's
//! Basic auth and Alloy's Bearer both work; revoked tokens stop within a
//! second, whether revoked by the CLI (offline database, server running)
//! or the admin API.

use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use tungstenite::client::IntoClientRequest;

use crate::common::{agent, json_body, now_ns, Server, BIN};

/// Makes a token with the CLI, offline, in the server's data directory.
pub fn token(server: &Server, scopes: &str, tenants: &str) -> String {
    let out = Command::new(BIN)
        .args([
            "token", "create", "--scope", scopes, "--tenant", tenants, "--name", "e2e",
        ])
        .arg("--data-dir")
        .arg(server.data_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// How a client authenticates.
#[derive(Clone, Copy)]
enum Cred<'a> {
    None,
    Bearer(&'a str),
    /// Grafana's data source: user name free, token as the password.
    Basic(&'a str),
}

fn call(
    server: &Server,
    method: &str,
    path: &str,
    cred: Cred<'_>,
    tenant: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    let url = format!("{}{path}", server.url);
    let auth = match cred {
        Cred::None => None,
        Cred::Bearer(t) => Some(format!("Bearer {t}")),
        Cred::Basic(t) => Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("grafana:{t}"))
        )),
    };
    let agent = agent();
    let mut resp = match method {
        "GET" | "DELETE" => {
            let mut req = if method == "GET" {
                agent.get(&url)
            } else {
                agent.delete(&url)
            };
            if let Some(a) = &auth {
                req = req.header("Authorization", a);
            }
            if let Some(t) = tenant {
                req = req.header("X-Scope-OrgID", t);
            }
            req.call()
        }
        _ => {
            let mut req = agent.post(&url).header("Content-Type", "application/json");
            if let Some(a) = &auth {
                req = req.header("Authorization", a);
            }
            if let Some(t) = tenant {
                req = req.header("X-Scope-OrgID", t);
            }
            req.send(body.unwrap_or(""))
        }
    }
    .unwrap();
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

fn get(server: &Server, path: &str, cred: Cred<'_>) -> (u16, String) {
    call(server, "GET", path, cred, None, None)
}

fn post(server: &Server, path: &str, cred: Cred<'_>, body: &str) -> (u16, String) {
    call(server, "POST", path, cred, None, Some(body))
}

fn push(server: &Server, cred: Cred<'_>, tenant: Option<&str>, job: &str, line: &str) -> u16 {
    let body = json_body(
        json!({"job": job}),
        vec![json!([now_ns().to_string(), line])],
    );
    call(
        server,
        "POST",
        "/loki/api/v1/push",
        cred,
        tenant,
        Some(&body.to_string()),
    )
    .0
}

/// Lines of `{job=...}` a read over all time returns with `cred`.
fn read(server: &Server, cred: Cred<'_>, tenant: Option<&str>, job: &str) -> (u16, Vec<String>) {
    let q = format!("%7Bjob%3D%22{job}%22%7D");
    let path = format!("/loki/api/v1/query_range?query={q}&start=0&limit=100");
    let (status, body) = call(server, "GET", &path, cred, tenant, None);
    let lines = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| {
            v["data"]["result"].as_array().map(|streams| {
                streams
                    .iter()
                    .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
                    .map(|v| v[1].as_str().unwrap_or("").to_string())
                    .collect()
            })
        })
        .unwrap_or_default();
    (status, lines)
}

/// Every read endpoint family, as (method, path).
const READS: &[&str] = &[
    "/loki/api/v1/query?query=%7Bjob%3D%22x%22%7D",
    "/loki/api/v1/query_range?query=%7Bjob%3D%22x%22%7D",
    "/loki/api/v1/labels",
    "/loki/api/v1/label/job/values",
    "/loki/api/v1/series?match[]=%7Bjob%3D%22x%22%7D",
    "/loki/api/v1/index/stats?query=%7Bjob%3D%22x%22%7D",
    "/loki/api/v1/index/volume?query=%7Bjob%3D%22x%22%7D",
    "/loki/api/v1/index/volume_range?query=%7Bjob%3D%22x%22%7D",
    "/loki/api/v1/detected_labels",
    "/loki/api/v1/detected_fields?query=%7Bjob%3D%22x%22%7D",
    "/loki/api/v1/patterns?query=%7Bjob%3D%22x%22%7D",
    "/api/v1/patterns",
    "/loki/api/v1/rules",
    "/prometheus/api/v1/rules",
    "/prometheus/api/v1/alerts",
    "/loki/api/v1/status/buildinfo",
    "/loki/api/v1/format_query?query=%7Bjob%3D%22x%22%7D",
    "/loki/api/v1/drilldown-limits",
    "/metrics",
];

#[test]
fn tokens_guard_every_endpoint_by_scope_and_tenant() {
    let mut server = Server::prepare("auth: on\n");
    std::fs::create_dir_all(server.data_dir()).unwrap();
    let admin = token(&server, "admin", "*");
    let push_a = token(&server, "push", "team-a");
    let read_a = token(&server, "read", "team-a");
    let read_b = token(&server, "read", "team-b");
    let rules_a = token(&server, "read,rules", "team-a");
    server.spawn();

    // Without a token: 401 everywhere but /ready.
    assert_eq!(get(&server, "/ready", Cred::None).0, 200);
    for path in READS {
        let (status, body) = get(&server, path, Cred::None);
        assert_eq!(status, 401, "{path}: {body}");
    }
    for path in [
        "/loki/api/v1/push",
        "/otlp/v1/logs",
        "/api/v1/logs",
        "/elasticsearch/_bulk",
        "/loki/api/v1/rules/ns",
        "/api/v1/tokens",
    ] {
        let (status, body) = post(&server, path, Cred::None, "{}");
        assert_eq!(status, 401, "{path}: {body}");
    }
    let (status, _) = get(&server, "/api/v1/tokens", Cred::None);
    assert_eq!(status, 401);
    let tail = format!(
        "{}/loki/api/v1/tail?query=%7Bjob%3D%22x%22%7D",
        server.url.replace("http://", "ws://")
    );
    match tungstenite::connect(tail.as_str()) {
        Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status().as_u16(), 401),
        other => panic!("tail without a token: {:?}", other.map(|(_, r)| r.status())),
    }
    // A made-up token is refused too.
    let fake = "basin_aaaaaaaaaaaaaaaaaa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(read(&server, Cred::Bearer(fake), None, "x").0, 401);

    // Alloy-style Bearer push; the tenant comes from the token.
    assert_eq!(
        push(&server, Cred::Bearer(&push_a), None, "app", "line of a"),
        204
    );
    assert_eq!(
        push(
            &server,
            Cred::Bearer(&admin),
            Some("team-b"),
            "app",
            "line of b"
        ),
        204
    );
    // A push token naming another tenant is refused.
    assert_eq!(
        push(
            &server,
            Cred::Bearer(&push_a),
            Some("team-b"),
            "app",
            "sneaky"
        ),
        403
    );
    // A push token cannot read, not even its own tenant.
    for path in READS {
        let (status, body) = get(&server, path, Cred::Bearer(&push_a));
        assert_eq!(status, 403, "{path}: {body}");
    }

    // Grafana-style Basic auth reads the token's tenant.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut lines = Vec::new();
    while Instant::now() < deadline && lines.is_empty() {
        lines = read(&server, Cred::Basic(&read_a), None, "app").1;
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(lines, vec!["line of a".to_string()]);
    assert_eq!(
        read(&server, Cred::Basic(&read_b), None, "app").1,
        vec!["line of b".to_string()]
    );
    assert_eq!(
        read(&server, Cred::Bearer(&admin), Some("team-a"), "app").1,
        vec!["line of a".to_string()]
    );

    // A read token for A cannot read B, on any read endpoint, nor tail it.
    for path in READS {
        let (status, body) = call(
            &server,
            "GET",
            path,
            Cred::Bearer(&read_a),
            Some("team-b"),
            None,
        );
        assert_eq!(status, 403, "{path}: {body}");
        let (status, body) = get(&server, path, Cred::Bearer(&read_a));
        // Loki's ruler answers 404 while a tenant has no rules.
        assert!(matches!(status, 200 | 404), "{path}: {status} {body}");
    }
    let mut request = tail.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {read_a}").parse().unwrap());
    request
        .headers_mut()
        .insert("X-Scope-OrgID", "team-b".parse().unwrap());
    match tungstenite::connect(request) {
        Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status().as_u16(), 403),
        other => panic!(
            "tail of another tenant: {:?}",
            other.map(|(_, r)| r.status())
        ),
    }
    let mut request = tail.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {read_a}").parse().unwrap());
    let (mut socket, _) = tungstenite::connect(request).expect("tail of its own tenant");
    socket.close(None).ok();
    // /metrics shows A's series to A's token and not B's.
    let (_, metrics) = get(&server, "/metrics", Cred::Bearer(&read_a));
    assert!(metrics.contains("tenant=\"team-a\""), "{metrics}");
    assert!(!metrics.contains("tenant=\"team-b\""), "{metrics}");
    let (_, all) = get(&server, "/metrics", Cred::Bearer(&admin));
    assert!(all.contains("tenant=\"team-b\""));

    // Rules: read may list, only the rules scope may write.
    let group = "name: errors\nrules:\n  - alert: Errors\n    expr: sum(count_over_time({job=\"app\"}[5m])) > 100\n";
    let (status, _) = post(
        &server,
        "/loki/api/v1/rules/ns",
        Cred::Bearer(&read_a),
        group,
    );
    assert_eq!(status, 403);
    let (status, body) = post(
        &server,
        "/loki/api/v1/rules/ns",
        Cred::Bearer(&rules_a),
        group,
    );
    assert_eq!(status, 202, "{body}");
    let (_, listed) = get(&server, "/loki/api/v1/rules", Cred::Bearer(&read_a));
    assert!(listed.contains("errors"), "{listed}");
    let (_, other) = get(&server, "/loki/api/v1/rules", Cred::Bearer(&read_b));
    assert!(!other.contains("errors"), "{other}");

    // Revoked by the CLI while the server runs: refused within a second.
    let id = read_a
        .trim_start_matches("basin_")
        .split('_')
        .next()
        .unwrap()
        .to_string();
    let out = Command::new(BIN)
        .args(["token", "revoke", &id, "--data-dir"])
        .arg(server.data_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let revoked = Instant::now();
    while read(&server, Cred::Bearer(&read_a), None, "app").0 != 401 {
        assert!(
            revoked.elapsed() < Duration::from_secs(1),
            "revoked token still works"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Made and revoked over the admin API.
    let (status, body) = post(
        &server,
        "/api/v1/tokens",
        Cred::Bearer(&admin),
        r#"{"name":"ci","scopes":["read"],"tenants":["team-b"]}"#,
    );
    assert_eq!(status, 201, "{body}");
    let made: Value = serde_json::from_str(&body).unwrap();
    let api_token = made["token"].as_str().unwrap().to_string();
    assert_eq!(
        read(&server, Cred::Bearer(&api_token), None, "app").1,
        vec!["line of b".to_string()]
    );
    let (status, _) = get(&server, "/api/v1/tokens", Cred::Bearer(&read_b));
    assert_eq!(status, 403, "only admin lists tokens");
    let path = format!("/api/v1/tokens/{}", made["id"].as_str().unwrap());
    assert_eq!(
        call(&server, "DELETE", &path, Cred::Bearer(&admin), None, None).0,
        204
    );
    let revoked = Instant::now();
    while read(&server, Cred::Bearer(&api_token), None, "app").0 != 401 {
        assert!(
            revoked.elapsed() < Duration::from_secs(1),
            "revoked token still works"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // Failed logins are counted.
    let (_, metrics) = get(&server, "/metrics", Cred::Bearer(&admin));
    let failures: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("basin_auth_failures_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(failures >= 3, "{metrics}");
}

#[test]
fn repeated_failures_from_one_address_are_rate_limited() {
    let server = Server::start("auth: on\n");
    let fake = "basin_aaaaaaaaaaaaaaaaaa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(read(&server, Cred::Bearer(fake), None, "x").0);
    }
    assert_eq!(&statuses[..10], &[401; 10]);
    assert_eq!(statuses[10], 429, "{statuses:?}");
}

#[test]
fn loopback_servers_need_no_token_by_default() {
    let server = Server::start("");
    assert_eq!(push(&server, Cred::None, None, "open", "hello"), 204);
    assert_eq!(server.wait_lines(r#"{job="open"}"#, 1).len(), 1);
}

#[test]
fn cli_clients_send_their_token() {
    let mut server = Server::prepare("auth: on\n");
    std::fs::create_dir_all(server.data_dir()).unwrap();
    let token = token(&server, "push,read", "ops");
    server.spawn();
    let file = server.data_dir().join("batch.log");
    std::fs::write(&file, "first line of the batch\n").unwrap();
    let run = |args: &[&str], with_token: bool| {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .args(["--server", &server.url])
            .env_remove("BASIN_TOKEN");
        if with_token {
            cmd.env("BASIN_TOKEN", &token);
        }
        cmd.output().unwrap()
    };
    let path = file.to_str().unwrap();
    let refused = run(&["import", path], false);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("401"));
    let imported = run(&["import", path], true);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = run(&["query", r#"{job="import"}"#, "--since", "1h"], true);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if String::from_utf8_lossy(&out.stdout).contains("first line of the batch") {
            break;
        }
        assert!(Instant::now() < deadline, "imported line never read back");
        std::thread::sleep(Duration::from_millis(100));
    }
}
