//! Parts on a real S3 implementation (moto's server, from PyPI, on a
//! loopback port): ingest, flush, restart on an empty disk, same answers;
//! a needle reads a few ranged GETs, not whole parts.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{agent, free_port, json_body, now_ns, urlencode, Server};

/// moto's S3 server, killed on drop.
pub(crate) struct Moto {
    child: Child,
    pub(crate) url: String,
    log: std::path::PathBuf,
}

impl Moto {
    pub(crate) fn start(dir: &std::path::Path) -> Moto {
        let port = free_port();
        let log = dir.join("moto.log");
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("moto_server runs (scripts/test.sh installs moto[server])");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while agent().get(&url).call().is_err() {
            assert!(Instant::now() < deadline, "moto did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let status = agent()
            .put(format!("{url}/basin-e2e"))
            .send("")
            .unwrap()
            .status();
        assert_eq!(status, 200, "bucket created");
        Moto { child, url, log }
    }

    /// The requests moto logged for objects under `prefix`: (method, status).
    pub(crate) fn requests(&self, prefix: &str) -> Vec<(String, u16)> {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        log.lines()
            .filter_map(|l| {
                let request = l.split('"').nth(1)?;
                let mut words = request.split_whitespace();
                let method = words.next()?.to_string();
                let path = words.next()?;
                let status = l
                    .split('"')
                    .nth(2)?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()?;
                path.starts_with(&format!("/basin-e2e/{prefix}/"))
                    .then_some((method, status))
            })
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server on moto's bucket under `prefix`, with extra config.
pub(crate) fn on_bucket(moto: &Moto, prefix: &str, extra: &str) -> Server {
    let config = format!(
        "{extra}storage:\n  type: s3\n  bucket: basin-e2e\n  endpoint: {}\n  region: us-east-1\n  prefix: {prefix}\n",
        moto.url
    );
    let mut server = Server::prepare(&config);
    server.env = vec![
        ("AWS_ACCESS_KEY_ID".into(), "test".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
    ];
    server.spawn();
    server
}

fn answer(server: &Server, query: &str) -> Value {
    let (status, _, body) = server.request(
        "GET",
        &format!(
            "/loki/api/v1/query_range?query={}&limit=5000&start=0",
            urlencode(query)
        ),
        None,
        None,
    );
    assert_eq!(status, 200, "{body}");
    let mut v: Value = serde_json::from_str(&body).unwrap();
    v["data"]["stats"] = Value::Null;
    v["data"]["result"].clone()
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

#[test]
fn parts_in_s3_survive_an_empty_disk_and_needles_read_few_ranges() {
    let scratch = tempfile::tempdir().unwrap();
    let moto = Moto::start(scratch.path());
    let mut server = on_bucket(&moto, "node1", "");

    // Enough varied lines for a part of many blocks; one needle among them.
    let t0 = now_ns() - 3_600_000_000_000;
    for chunk in 0..20 {
        let values: Vec<Value> = (0..10_000)
            .map(|j| {
                let i = chunk * 10_000 + j;
                let line = if i == 123_456 {
                    "payment failed for order needle-7f3a9c".to_string()
                } else {
                    format!(
                        "GET /api/items/{} status={} took={}ms user=u{}",
                        i * 7919 % 100_003,
                        200 + i % 5,
                        i % 997,
                        i % 4099
                    )
                };
                json!([(t0 + i as i64 * 1_000_000).to_string(), line])
            })
            .collect();
        server.push_json(
            None,
            &json_body(
                json!({"job": "shop", "host": format!("h{}", chunk % 3)}),
                values,
            ),
        );
    }
    let queries = [
        r#"{job="shop"} |= "needle-7f3a9c""#,
        r#"sum by (host) (count_over_time({job="shop"}[1h]))"#,
        r#"{job="shop", host="h1"} |= "status=203" |= "took=9""#,
    ];
    let before: Vec<Value> = queries.iter().map(|q| answer(&server, q)).collect();
    assert_eq!(before[0][0]["values"].as_array().unwrap().len(), 1);

    // SIGTERM flushes the head to parts, which go to the bucket.
    let (code, _) = server.terminate();
    assert_eq!(code, Some(0), "{}", server.log());
    let puts = moto
        .requests("node1")
        .iter()
        .filter(|(m, s)| m == "PUT" && *s == 200)
        .count();
    assert!(
        puts >= 2,
        "a part and the manifest uploaded: {:?}",
        moto.requests("node1")
    );

    // A new disk: nothing local, everything from the bucket.
    std::fs::remove_dir_all(server.data_dir()).unwrap();
    server.spawn();
    let metrics = server.metrics();
    let gets_at_start = metric(&metrics, "basin_object_store_requests_total{op=\"get\"}");
    let received_at_start = metric(
        &metrics,
        "basin_object_store_bytes_total{direction=\"received\"}",
    );
    let needle = answer(&server, queries[0]);
    assert_eq!(needle, before[0], "the needle's answer is unchanged");
    let metrics = server.metrics();
    let needle_gets =
        metric(&metrics, "basin_object_store_requests_total{op=\"get\"}") - gets_at_start;
    let received = metric(
        &metrics,
        "basin_object_store_bytes_total{direction=\"received\"}",
    ) - received_at_start;
    let part_bytes: u64 = std::fs::read_to_string(server.data_dir().join("manifest.json"))
        .map(|m| {
            serde_json::from_str::<Value>(&m).unwrap()["parts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["size_bytes"].as_u64().unwrap())
                .sum()
        })
        .unwrap();
    println!(
        "opening the parts: {gets_at_start} GETs, {received_at_start} bytes; the needle: {needle_gets} ranged GETs, {received} bytes; parts: {part_bytes} bytes"
    );
    assert!(needle_gets <= 8, "a needle took {needle_gets} GETs");
    assert!(
        received < part_bytes / 2,
        "{received} of {part_bytes} bytes fetched for a needle"
    );
    let ranged = moto
        .requests("node1/parts")
        .iter()
        .filter(|(m, s)| m == "GET" && *s == 206)
        .count();
    assert!(
        ranged >= 1,
        "moto saw ranged GETs: {:?}",
        moto.requests("node1/parts")
    );
    assert!(
        !server.data_dir().join("parts").exists(),
        "no part was downloaded whole"
    );

    for (q, want) in queries.iter().zip(&before).skip(1) {
        assert_eq!(&answer(&server, q), want, "{q}");
    }
}
