//! Ingest through NATS JetStream (Debian's `nats-server`, started here on a
//! loopback port): ingest nodes publish, indexers store each acknowledged
//! line exactly once, through a killed indexer and a queue that filled up
//! while no indexer ran; a query node answers over the indexers' parts in a
//! bucket (moto's S3 server) and their heads.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{agent, free_port, json_body, now_ns, urlencode, Server};
use crate::handoff::manifest_parts;
use crate::object_storage::Moto;

/// A JetStream-enabled NATS server, killed on drop.
struct Nats {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Nats {
    fn start() -> Nats {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir.path().join("js"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("nats.log")).unwrap())
            .spawn()
            .expect("nats-server runs (scripts/test.sh installs Debian's nats-server)");
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Nats {
            child,
            url: format!("nats://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    /// The config of a node of `target` on this queue.
    fn config(&self, target: &str, queue: &str) -> String {
        format!(
            "target: {target}\nqueue: {{type: nats, url: \"{}\", {queue}}}\n\
             max_entries_limit_per_query: 1000000\n",
            self.url
        )
    }

    /// A node of `target` on this queue, started.
    fn node(&self, target: &str, queue: &str) -> Server {
        Server::start(&self.config(target, queue))
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A metric's value on `/metrics`, summed over its series.
fn metric(server: &Server, name: &str) -> u64 {
    server
        .metrics()
        .lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Waits until an ingest node sees no message waiting in the queue.
fn wait_drained(ingest: &Server) {
    let deadline = Instant::now() + Duration::from_secs(60);
    // The lag is read from JetStream once a second.
    std::thread::sleep(Duration::from_millis(1500));
    while metric(ingest, "basin_queue_lag_messages") > 0 {
        assert!(Instant::now() < deadline, "the queue did not drain");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Every (stream, time, line) the indexers hold for `selector`, with how
/// many times each is stored.
fn stored(indexers: &[&Server], selector: &str) -> BTreeMap<(String, i64, String), usize> {
    let mut out = BTreeMap::new();
    for indexer in indexers {
        for (labels, values) in indexer.streams(None, selector) {
            for (ts, line) in values {
                *out.entry((format!("{labels:?}"), ts, line)).or_insert(0) += 1;
            }
        }
    }
    out
}

fn push(url: &str, client: &str, batch: i64, t0: i64, lines: i64) -> (u16, Vec<(i64, String)>) {
    let entries: Vec<(i64, String)> = (0..lines)
        .map(|i| {
            let ts = t0 + batch * 1000 + i;
            (
                ts,
                format!(
                    "client={client} batch={batch} entry={i} {}",
                    "q".repeat(100)
                ),
            )
        })
        .collect();
    let body = json_body(
        json!({"job": "queue", "client": client}),
        entries
            .iter()
            .map(|(ts, l)| json!([ts.to_string(), l]))
            .collect(),
    );
    let status = match agent()
        .post(format!("{url}/loki/api/v1/push"))
        .header("Content-Type", "application/json")
        .send(body.to_string().as_bytes())
    {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    };
    (status, entries)
}

#[test]
fn ingest_buffers_while_no_indexer_runs_then_answers_503_and_drains() {
    let nats = Nats::start();
    let ingest = nats.node("ingest", "partitions: 1, max_bytes: 400000");
    // Queries are refused on an ingest node, not answered empty.
    let (status, _, body) = ingest.request("GET", "/loki/api/v1/labels", None, None);
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("ingest node"), "{body}");

    let t0 = now_ns() - 600_000_000_000;
    let mut acked = BTreeSet::new();
    let mut refused = None;
    for batch in 0..500 {
        let (status, entries) = push(&ingest.url, "a", batch, t0, 50);
        match status {
            204 => acked.extend(entries),
            503 => {
                refused = Some(batch);
                break;
            }
            other => panic!("push answered {other}"),
        }
    }
    let refused = refused.expect("a full queue refuses pushes with 503");
    assert!(refused >= 20, "the queue buffered only {refused} pushes");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(metric(&ingest, "basin_queue_lag_messages") >= refused as u64);
    assert!(metric(&ingest, "basin_queue_publish_failures_total") >= 1);

    // An indexer starts: the backlog drains, the lag returns to 0, and the
    // ingest node takes pushes again.
    let indexer = nats.node("index", "partitions: 1, partition: 0");
    wait_drained(&ingest);
    let (status, entries) = push(&ingest.url, "a", 10_000, t0, 50);
    assert_eq!(status, 204);
    acked.extend(entries);
    wait_drained(&ingest);
    let stored = stored(&[&indexer], r#"{job="queue"}"#);
    let lines: BTreeSet<(i64, String)> = stored.keys().map(|(_, ts, l)| (*ts, l.clone())).collect();
    assert_eq!(lines.len(), acked.len(), "each acknowledged line stored");
    assert_eq!(lines, acked);
    assert!(stored.values().all(|&n| n == 1), "a line stored twice");
    assert_eq!(metric(&indexer, "basin_queue_lag_messages"), 0);
}

/// Credentials moto takes, for every node that reads or writes the bucket.
fn with_bucket_credentials(mut server: Server) -> Server {
    server.env = vec![
        ("AWS_ACCESS_KEY_ID".into(), "test".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
    ];
    server
}

#[test]
fn a_killed_indexer_stores_every_acknowledged_line_exactly_once() {
    let nats = Nats::start();
    let scratch = tempfile::tempdir().unwrap();
    let moto = Moto::start(scratch.path());
    let bucket = format!(
        "storage: {{type: s3, bucket: basin-e2e, endpoint: \"{}\", region: us-east-1, prefix: q}}\n",
        moto.url
    );
    let queue = |p: u32| format!("partitions: 2, partition: {p}, ack_wait: 1s");
    let ingest = [
        nats.node("ingest", &queue(0)),
        nats.node("ingest", &queue(0)),
    ];
    // Indexers flush often, so the query node reads parts in the bucket as
    // well as heads, and leave merging to the compactor. The first
    // indexer's acknowledgements are all lost until it is killed: after its
    // restart, JetStream delivers again what it had stored. It keeps its
    // port, which the query node and the compactor know.
    let indexer = |p: u32| {
        let config = format!(
            "{}{bucket}flush_interval: 1s\nmerge_interval: 1h\n",
            nats.config("index", &queue(p))
        );
        let mut node = with_bucket_credentials(Server::prepare(&config));
        node.port = Some(free_port());
        node
    };
    let mut first = indexer(0);
    first
        .env
        .push(("BASIN_TEST_DROP_QUEUE_ACKS".into(), "1".into()));
    first.spawn();
    let mut second = indexer(1);
    second.spawn();
    let mut indexers = [first, second];
    let querier = with_bucket_credentials(Server::prepare(&format!(
        "target: query\nindexers: [\"{}\", \"{}\"]\n{bucket}max_entries_limit_per_query: 1000000\n",
        indexers[0].url, indexers[1].url
    )));
    let mut querier = querier;
    querier.spawn();
    // The compactor merges both indexers' parts in the bucket, during the
    // load and while the first indexer is down.
    let mut compactor = with_bucket_credentials(Server::prepare(&format!(
        "target: compact\nindexers: [\"{}\", \"{}\"]\n{bucket}merge_interval: 1s\n",
        indexers[0].url, indexers[1].url
    )));
    compactor.spawn();
    let urls: Vec<String> = ingest.iter().map(|s| s.url.clone()).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<(String, i64, String)>>> = Arc::default();
    let t0 = now_ns() - 600_000_000_000;
    let pushers: Vec<_> = (0..4)
        .map(|c| {
            let (urls, stop, acked) = (urls.clone(), stop.clone(), acked.clone());
            std::thread::spawn(move || {
                let client = format!("c{c}");
                let mut batch = 0;
                while !stop.load(Ordering::Relaxed) {
                    let url = &urls[(batch as usize + c) % urls.len()];
                    let (status, entries) = push(url, &client, batch, t0 + c as i64, 20);
                    if status == 204 {
                        let mut acked = acked.lock().unwrap();
                        acked.extend(entries.into_iter().map(|(ts, l)| (client.clone(), ts, l)));
                    }
                    batch += 1;
                    // About 100 pushes a second each: enough load, a test
                    // that stays short.
                    std::thread::sleep(Duration::from_millis(8));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    indexers[0].kill();
    std::thread::sleep(Duration::from_millis(1000));
    indexers[0]
        .env
        .retain(|(k, _)| k != "BASIN_TEST_DROP_QUEUE_ACKS");
    indexers[0].spawn();
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    for p in pushers {
        p.join().unwrap();
    }
    for node in &ingest {
        wait_drained(node);
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 10_000,
        "only {} lines acknowledged",
        acked.len()
    );
    // Once the heads are flushed, the compactor leaves each indexer fewer
    // parts than a merge takes.
    let deadline = Instant::now() + Duration::from_secs(30);
    while indexers.iter().any(|i| manifest_parts(i).len() >= 4) {
        assert!(
            Instant::now() < deadline,
            "the compactor did not merge: {}",
            compactor.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // How many depends on how the flushes fell (the killed indexer may not
    // reach four parts); the checks below read what the merges wrote.
    let merges = compactor
        .log()
        .matches("merged parts in the bucket")
        .count();
    assert!(merges >= 1, "no merge: {}", compactor.log());
    eprintln!("queue kill: {merges} merges by the compactor");
    // The query node answers for both indexers: their parts in the bucket
    // and their heads.
    let held = stored(&[&querier], r#"{job="queue"}"#);
    let twice: Vec<_> = held.iter().filter(|(_, &n)| n > 1).take(3).collect();
    assert!(twice.is_empty(), "stored twice: {twice:?}");
    let stored_lines: BTreeSet<(i64, String)> =
        held.keys().map(|(_, ts, l)| (*ts, l.clone())).collect();
    let acked_lines: BTreeSet<(i64, String)> =
        acked.iter().map(|(_, ts, l)| (*ts, l.clone())).collect();
    assert_eq!(stored_lines.len(), acked_lines.len());
    assert_eq!(
        stored_lines, acked_lines,
        "every acknowledged line, nothing else"
    );
    // Both partitions held lines.
    assert!(indexers
        .iter()
        .all(|i| metric(i, "basin_queue_applied_total") > 0));
    let skipped = metric(&indexers[0], "basin_queue_redeliveries_skipped_total");
    assert!(skipped > 0, "the restarted indexer saw no redelivery");
    eprintln!(
        "queue kill: {} lines acknowledged, {skipped} redeliveries skipped after the restart",
        acked.len()
    );

    // The same lines pushed into one binary answer the same metric query
    // as the two indexers together.
    let single = Server::start("max_entries_limit_per_query: 1000000\n");
    for client in 0..4 {
        let client = format!("c{client}");
        let values: Vec<_> = acked
            .iter()
            .filter(|(c, _, _)| *c == client)
            .map(|(_, ts, l)| json!([ts.to_string(), l]))
            .collect();
        for chunk in values.chunks(2000) {
            single.push_json(
                None,
                &json_body(json!({"job": "queue", "client": client}), chunk.to_vec()),
            );
        }
    }
    let query = r#"sum by (client) (count_over_time({job="queue"} |= "entry=1" [1h]))"#;
    let counts = |servers: &[&Server]| -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for s in servers {
            let (status, _, body) = s.request(
                "GET",
                &format!(
                    "/loki/api/v1/query?query={}&time={}",
                    urlencode(query),
                    (t0 + 3_000_000_000_000) / 1_000_000_000
                ),
                None,
                None,
            );
            assert_eq!(status, 200, "{body}");
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            for r in v["data"]["result"].as_array().unwrap() {
                let n: u64 = r["value"][1].as_str().unwrap().parse().unwrap();
                *out.entry(r["metric"]["client"].as_str().unwrap().to_string())
                    .or_insert(0) += n;
            }
        }
        out
    };
    let one = counts(&[&single]);
    assert_eq!(one.len(), 4);
    assert_eq!(counts(&[&indexers[0], &indexers[1]]), one);
    assert_eq!(counts(&[&querier]), one);
    assert!(metric(&querier, "basin_query_snapshots_total") > 0);
    // It read both indexers' parts in the bucket, by ranges (moto's log).
    for prefix in ["q/index-0", "q/index-1"] {
        let ranged = moto
            .requests(prefix)
            .iter()
            .filter(|(method, status)| method == "GET" && *status == 206)
            .count();
        assert!(ranged > 0, "no ranged GET under {prefix}");
    }
    assert!(metric(&querier, "basin_object_store_requests_total") > 0);

    // Rules on the query node are evaluated over every indexer.
    let (status, _, body) = querier.request(
        "POST",
        "/loki/api/v1/rules/queue",
        None,
        Some(
            "name: lines\ninterval: 1s\nrules:\n  - alert: Lines\n    \
             expr: sum(count_over_time({job=\"queue\"}[1h])) > 0\n",
        ),
    );
    assert!(status < 300, "{status} {body}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let value = loop {
        let (_, _, body) = querier.request("GET", "/prometheus/api/v1/alerts", None, None);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        if let Some(alert) = v["data"]["alerts"].as_array().and_then(|a| a.first()) {
            break alert["value"].as_str().unwrap().parse::<f64>().unwrap();
        }
        assert!(Instant::now() < deadline, "the rule did not fire: {body}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        value as usize,
        acked.len(),
        "the alert counts both partitions"
    );

    // A line pushed now is visible on the query node within about a second.
    let pushed = Instant::now();
    let (status, _) = push(&ingest[0].url, "late", 0, now_ns(), 1);
    assert_eq!(status, 204);
    let selector = r#"{job="queue", client="late"}"#;
    while stored(&[&querier], selector).is_empty() {
        assert!(
            pushed.elapsed() < Duration::from_secs(2),
            "not visible on the query node in 2 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!(
        "queue kill: push to visible on the query node in {:?}",
        pushed.elapsed()
    );

    // A query node takes no pushes and says where they go.
    let (status, _, body) = querier.request("POST", "/loki/api/v1/push", None, Some("{}"));
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("query node"), "{body}");
}
