//! Starting, stopping and talking to a real server process.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use basin_ingest::loki_push::proto;
use prost::Message;
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_basin");

/// A returned stream's labels, fields included, as Loki shows them.
pub type Labels = serde_json::Map<String, Value>;

/// A running `basin serve` with its own data directory.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub url: String,
    config: String,
    child: Option<Child>,
    agent: ureq::Agent,
    /// Extra environment of the server process (credentials, say).
    pub env: Vec<(String, String)>,
    /// A port kept across restarts (other nodes know it); a new free one
    /// at each start when unset.
    pub port: Option<u16>,
}

/// Nanoseconds since the epoch, now.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// A loopback UDP port free right now.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

impl Server {
    /// Starts a server with extra config keys (YAML) and waits until ready.
    /// Tests read over all time, so the query range limit is lifted unless
    /// the config sets it.
    pub fn start(config: &str) -> Server {
        let mut server = Server::prepare(config);
        server.spawn();
        server
    }

    /// A server's directory and config, not started yet: for tests that
    /// set up the data directory first ([`Server::spawn`] starts it).
    pub fn prepare(config: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config.to_string();
        if !config.contains("max_query_range:") {
            config.push_str("max_query_range: 0s\n");
        }
        Server {
            dir,
            url: String::new(),
            config,
            child: None,
            agent: agent(),
            env: Vec::new(),
            port: None,
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Starts the process (again) on a new port (or [`Server::port`]) with
    /// the same data directory.
    pub fn spawn(&mut self) {
        let port = self.port.unwrap_or_else(free_port);
        if self.config.contains("tls_cert_file:") {
            // Readiness and helpers need not check the certificate; the
            // TLS tests check it with real clients.
            self.url = format!("https://127.0.0.1:{port}");
            self.agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(60)))
                .tls_config(
                    ureq::tls::TlsConfig::builder()
                        .disable_verification(true)
                        .build(),
                )
                .build()
                .into();
        } else {
            self.url = format!("http://127.0.0.1:{port}");
        }
        let config_path = self.dir.path().join("basin.yaml");
        std::fs::write(&config_path, &self.config).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = Command::new(BIN)
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(resp) = self.agent.get(format!("{}/ready", self.url)).call() {
                if resp.status() == 200 {
                    return;
                }
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("server exited with {status}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("server not ready in 30 s:\n{}", self.log());
    }

    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server running").id()
    }

    /// SIGKILL: no flush, no goodbye.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGTERM, then waits; returns the exit code and how long it took.
    pub fn terminate(&mut self) -> (Option<i32>, Duration) {
        let mut child = self.child.take().expect("server is running");
        let started = Instant::now();
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = started + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return (status.code(), started.elapsed());
            }
            if Instant::now() > deadline {
                child.kill().unwrap();
                panic!("server did not stop after SIGTERM:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// POSTs a push body; returns the status and the response text.
    pub fn push_raw(
        &self,
        tenant: Option<&str>,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> (u16, String) {
        let mut req = self.agent.post(format!("{}/loki/api/v1/push", self.url));
        if let Some(t) = tenant {
            req = req.header("X-Scope-OrgID", t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        match req.send(body) {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                (status, resp.body_mut().read_to_string().unwrap_or_default())
            }
            Err(e) => (0, e.to_string()),
        }
    }

    /// Pushes a Loki JSON body and expects 204.
    pub fn push_json(&self, tenant: Option<&str>, body: &Value) {
        let (status, text) = self.push_raw(
            tenant,
            body.to_string().as_bytes(),
            &[("Content-Type", "application/json")],
        );
        assert_eq!(status, 204, "push failed: {text}");
    }

    /// `query_range` with the given parameters; returns status and body.
    pub fn query_raw(
        &self,
        tenant: Option<&str>,
        params: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> (u16, Value, String) {
        let mut req = self
            .agent
            .get(format!("{}/loki/api/v1/query_range", self.url));
        for (k, v) in params {
            req = req.query(*k, *v);
        }
        if let Some(t) = tenant {
            req = req.header("X-Scope-OrgID", t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = req.call().unwrap();
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(512 * 1024 * 1024)
            .read_to_string()
            .unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, json, text)
    }

    /// The server's `max_entries_limit_per_query`, as configured.
    fn max_entries(&self) -> usize {
        self.config
            .lines()
            .find_map(|l| l.strip_prefix("max_entries_limit_per_query:"))
            .map(|v| v.trim().parse().unwrap())
            .unwrap_or(5000)
    }

    /// Every (timestamp, line) a log query returns over all time, oldest first.
    pub fn lines(&self, tenant: Option<&str>, query: &str) -> Vec<(i64, String)> {
        let mut out: Vec<(i64, String)> = self
            .streams(tenant, query)
            .into_iter()
            .flat_map(|(_, values)| values)
            .collect();
        out.sort();
        out
    }

    /// Polls until `query` returns at least `n` lines (for senders that do
    /// not wait for an answer, such as syslog); at most 15 s.
    pub fn wait_lines(&self, query: &str, n: usize) -> Vec<(i64, String)> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let lines = self.lines(None, query);
            if lines.len() >= n || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every stream a log query returns over all time: its labels (fields
    /// included, as Loki shows them) and its (timestamp, line) values.
    pub fn streams(&self, tenant: Option<&str>, query: &str) -> Vec<(Labels, Vec<(i64, String)>)> {
        let limit = self.max_entries().to_string();
        let (status, body, text) = self.query_raw(
            tenant,
            &[
                ("query", query),
                ("start", "0"),
                ("end", "9000000000000000000"),
                ("limit", &limit),
                ("direction", "forward"),
            ],
            &[],
        );
        assert_eq!(status, 200, "{text}");
        body["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|stream| {
                let values = stream["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| {
                        (
                            v[0].as_str().unwrap().parse().unwrap(),
                            v[1].as_str().unwrap().to_string(),
                        )
                    })
                    .collect();
                (stream["stream"].as_object().unwrap().clone(), values)
            })
            .collect()
    }

    /// POSTs `body` to `path`; returns the status, content type and body bytes.
    pub fn post(
        &self,
        path: &str,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> (u16, String, Vec<u8>) {
        let mut req = self.agent.post(format!("{}{path}", self.url));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = req.send(body).unwrap();
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, content_type, resp.body_mut().read_to_vec().unwrap())
    }

    /// Any method on `path` for `tenant`; returns the status, content type
    /// and body text.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        tenant: Option<&str>,
        body: Option<&str>,
    ) -> (u16, String, String) {
        let url = format!("{}{path}", self.url);
        let mut resp = match (method, body) {
            ("GET", _) => {
                let mut req = self.agent.get(&url);
                if let Some(t) = tenant {
                    req = req.header("X-Scope-OrgID", t);
                }
                req.call()
            }
            ("DELETE", _) => {
                let mut req = self.agent.delete(&url);
                if let Some(t) = tenant {
                    req = req.header("X-Scope-OrgID", t);
                }
                req.call()
            }
            (_, body) => {
                let mut req = self.agent.post(&url);
                if let Some(t) = tenant {
                    req = req.header("X-Scope-OrgID", t);
                }
                req.send(body.unwrap_or(""))
            }
        }
        .unwrap();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let status = resp.status().as_u16();
        (
            status,
            content_type,
            resp.body_mut().read_to_string().unwrap(),
        )
    }

    /// The server's `/metrics` text.
    pub fn metrics(&self) -> String {
        let mut resp = self
            .agent
            .get(format!("{}/metrics", self.url))
            .call()
            .unwrap();
        resp.body_mut().read_to_string().unwrap()
    }
}

/// Runs a client script from `tests/e2e/clients/` with `python3`; returns its
/// stdout, failing the test with its stderr if it fails.
pub fn run_client(script: &str, args: &[&str]) -> String {
    run_client_with_env(script, args, &[])
}

/// [`run_client`] with extra environment variables.
pub fn run_client_with_env(script: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/e2e/clients")
        .join(script);
    let out = Command::new("python3")
        .arg(&path)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{script} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A Loki JSON push body of one stream.
pub fn json_body(labels: Value, values: Vec<Value>) -> Value {
    serde_json::json!({ "streams": [{ "stream": labels, "values": values }] })
}

/// Four `Invalid user <name> from 10.9.9.9` values from `t0` on: the first
/// three names start pattern templates of their own, the fourth makes the
/// name a variable and merges them, so the stored lines carry three ids.
pub fn merging_user_values(t0: i64) -> Vec<Value> {
    ["alice", "bob", "carol", "dave"]
        .iter()
        .enumerate()
        .map(|(i, n)| {
            serde_json::json!([
                (t0 + i as i64).to_string(),
                format!("Invalid user {n} from 10.9.9.9")
            ])
        })
        .collect()
}

/// A Loki protobuf push body, snappy-compressed.
/// An entry for [`proto_body`]: time, line, structured metadata.
pub type ProtoEntry<'a> = (i64, &'a str, Vec<(&'a str, &'a str)>);

pub fn proto_body(streams: Vec<(&str, Vec<ProtoEntry<'_>>)>) -> Vec<u8> {
    let req = proto::PushRequest {
        streams: streams
            .into_iter()
            .map(|(labels, entries)| proto::StreamAdapter {
                labels: labels.to_string(),
                entries: entries
                    .into_iter()
                    .map(|(ts, line, md)| proto::EntryAdapter {
                        timestamp: Some(proto::Timestamp {
                            seconds: ts.div_euclid(1_000_000_000),
                            nanos: ts.rem_euclid(1_000_000_000) as i32,
                        }),
                        line: line.to_string(),
                        structured_metadata: md
                            .into_iter()
                            .map(|(k, v)| proto::LabelPairAdapter {
                                name: k.into(),
                                value: v.into(),
                            })
                            .collect(),
                    })
                    .collect(),
                hash: 0,
            })
            .collect(),
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap()
}

/// gzip of `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// Part files under a data directory.
pub fn part_files(data_dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![data_dir.join("parts")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Percent-encodes a query parameter value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
