//! Compaction handed to the indexer that owns the parts: ids reserved over
//! HTTP, a merged part put in the indexer's bucket prefix, then listed in
//! place of its sources; each line stays there once, and a stale rewrite
//! gets 409. Then the same by a compactor node (`target: compact`).

use std::sync::Arc;

use basin_model::{Entry, Labels};
use basin_storage::remote::Remote;
use basin_storage::PartMeta;
use serde_json::{json, Value};

use crate::common::{agent, json_body, now_ns, Server};
use crate::object_storage::{on_bucket, Moto};

/// Pushes `rounds` rounds of 100 lines, each flushed to a part of its own
/// (SIGTERM flushes the head); returns the lines.
fn parts_of_rounds(server: &mut Server, rounds: i64) -> Vec<(i64, String)> {
    let t0 = now_ns() - 600_000_000_000;
    for round in 0..rounds {
        let values = (0..100)
            .map(|i| {
                let ts = t0 + (round * 100 + i) * 1_000_000;
                json!([ts.to_string(), format!("round {round} item {i} took {i}ms")])
            })
            .collect();
        server.push_json(None, &json_body(json!({"job": "x"}), values));
        let (code, _) = server.terminate();
        assert_eq!(code, Some(0), "{}", server.log());
        server.spawn();
    }
    assert_eq!(manifest_parts(server).len(), rounds as usize);
    let lines = server.lines(None, r#"{job="x"}"#);
    assert_eq!(lines.len(), 100 * rounds as usize);
    lines
}

/// Waits (30 s at most) until `compactor` has left `indexer` one part and
/// counted its merge (it counts after the indexer's answer arrives, so the
/// manifest can show the merge a moment before the counter does).
fn wait_until_merged(indexer: &Server, compactor: &Server) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let counted = || {
        compactor
            .metrics()
            .lines()
            .any(|l| l.starts_with("basin_compactor_merges_total") && !l.ends_with(" 0"))
    };
    while manifest_parts(indexer).len() > 1 || !counted() {
        assert!(
            std::time::Instant::now() < deadline,
            "no merge: {}",
            compactor.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The parts a node's local manifest lists.
pub(crate) fn manifest_parts(server: &Server) -> Vec<PartMeta> {
    let text = std::fs::read_to_string(server.data_dir().join("manifest.json")).unwrap();
    let manifest: Value = serde_json::from_str(&text).unwrap();
    serde_json::from_value(manifest["parts"].clone()).unwrap()
}

#[test]
fn an_indexer_adopts_a_part_written_elsewhere_in_place_of_its_own() {
    let scratch = tempfile::tempdir().unwrap();
    let moto = Moto::start(scratch.path());
    let mut server = on_bucket(&moto, "owner", "");
    let before = parts_of_rounds(&mut server, 3);
    let sources = manifest_parts(&server);

    // What a compactor does: reserve an id, write the merged part, put it
    // under the indexer's prefix, and ask the indexer to list it.
    let (status, _, body) = server.request("POST", "/api/v1/internal/part_ids?count=1", None, None);
    assert_eq!(status, 200, "{body}");
    let id = serde_json::from_str::<Value>(&body).unwrap()["ids"][0]
        .as_u64()
        .unwrap();
    let labels = Arc::new(Labels::parse(r#"{job="x"}"#).unwrap());
    let entries: Vec<Entry> = before
        .iter()
        .map(|(ts, l)| Entry::new(*ts, l.as_str()))
        .collect();
    let path = scratch.path().join("merged.parquet");
    let written = basin_storage::part::write_part(
        &path,
        vec![(labels, entries.iter().collect())],
        basin_storage::LineEncoding::Templates,
    )
    .unwrap();
    let meta = PartMeta {
        id,
        tenant: sources[0].tenant.clone(),
        day: sources[0].day.clone(),
        rows: written.rows,
        min_ts: written.min_ts,
        max_ts: written.max_ts,
        size_bytes: written.size_bytes,
    };
    let key = format!("{}/basin-e2e/owner/{}", moto.url, Remote::part_key(&meta));
    let status = agent()
        .put(&key)
        .send(&std::fs::read(&path).unwrap()[..])
        .unwrap()
        .status();
    assert_eq!(status, 200);

    let replaced: Vec<u64> = sources.iter().map(|p| p.id).collect();
    let rewrite = json!({"replaced": replaced, "part": meta}).to_string();
    let (status, _, body) =
        server.request("POST", "/api/v1/internal/rewrite", None, Some(&rewrite));
    assert_eq!(status, 200, "{body}");
    assert_eq!(manifest_parts(&server), std::slice::from_ref(&meta));
    assert_eq!(server.lines(None, r#"{job="x"}"#), before, "each line once");
    // The sources are gone now: the same rewrite is stale.
    let (status, _, body) =
        server.request("POST", "/api/v1/internal/rewrite", None, Some(&rewrite));
    assert_eq!(status, 409, "{body}");
    let (status, _, body) = server.request(
        "POST",
        "/api/v1/internal/rewrite",
        None,
        Some("{\"replaced\": 1}"),
    );
    assert_eq!(status, 400, "{body}");
    // And after a restart on an empty disk, the bucket says the same.
    server.terminate();
    std::fs::remove_dir_all(server.data_dir()).unwrap();
    server.spawn();
    assert_eq!(server.lines(None, r#"{job="x"}"#), before);
}

#[test]
fn a_compactor_node_merges_an_indexers_parts_in_the_bucket() {
    let scratch = tempfile::tempdir().unwrap();
    let moto = Moto::start(scratch.path());
    // The indexer leaves merging to the compactor.
    let mut indexer = on_bucket(&moto, "idx", "merge_interval: 1h\n");
    let before = parts_of_rounds(&mut indexer, 4);
    let compactor = on_bucket(
        &moto,
        "",
        &format!(
            "target: compact\nindexers: [\"{}\"]\nmerge_interval: 1s\n",
            indexer.url
        ),
    );
    wait_until_merged(&indexer, &compactor);
    let merged = manifest_parts(&indexer);
    assert_eq!(merged[0].rows, 400);
    assert_eq!(
        indexer.lines(None, r#"{job="x"}"#),
        before,
        "each line once"
    );
    // The merged part is read from the bucket by ranged GETs like any other.
    let got = moto
        .requests("idx/parts")
        .iter()
        .filter(|(m, s)| m == "PUT" && *s == 200)
        .count();
    assert_eq!(got, 5, "four flushed parts and the merged one uploaded");
    // A compactor answers no queries and takes no pushes.
    let (status, _, body) = compactor.request("GET", "/loki/api/v1/labels", None, None);
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("compactor"), "{body}");
    let (status, _, _) = compactor.request("GET", "/ready", None, None);
    assert_eq!(status, 200);
    // Its counters: the merge, and the ranged GETs it read the sources by.
    let metrics = compactor.metrics();
    let value = |name: &str| -> u64 {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {metrics}"))
    };
    assert_eq!(value("basin_compactor_merges_total"), 1);
    assert_eq!(value("basin_compactor_stale_merges_total"), 0);
    assert!(value("basin_object_store_requests_total{op=\"get\"}") >= 4);
    assert!(value("basin_object_store_requests_total{op=\"put\"}") >= 1);
    // Ready only while it can reach every indexer.
    indexer.terminate();
    let (status, _, body) = compactor.request("GET", "/ready", None, None);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("indexer"), "{body}");
}

#[test]
fn a_compactor_uses_its_token_on_indexers_with_auth_on() {
    let scratch = tempfile::tempdir().unwrap();
    let moto = Moto::start(scratch.path());
    let bucket = format!(
        "storage:\n  type: s3\n  bucket: basin-e2e\n  endpoint: {}\n  region: us-east-1\n  prefix: secure\n",
        moto.url
    );
    let credentials = vec![
        ("AWS_ACCESS_KEY_ID".to_string(), "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY".to_string(), "test".to_string()),
    ];
    let mut indexer = Server::prepare(&format!("auth: on\nmerge_interval: 1h\n{bucket}"));
    indexer.env = credentials.clone();
    std::fs::create_dir_all(indexer.data_dir()).unwrap();
    let admin = crate::auth::token(&indexer, "admin", "*");
    let one_tenant = crate::auth::token(&indexer, "admin", "team-a");
    indexer.spawn();
    let t0 = now_ns() - 600_000_000_000;
    for round in 0..4i64 {
        let values: Vec<Value> = (0..50)
            .map(|i| {
                json!([
                    (t0 + round * 50 + i).to_string(),
                    format!("round {round} n={i}")
                ])
            })
            .collect();
        let status = agent()
            .post(format!("{}/loki/api/v1/push", indexer.url))
            .header("Authorization", &format!("Bearer {admin}"))
            .header("Content-Type", "application/json")
            .send(
                json_body(json!({"job": "x"}), values)
                    .to_string()
                    .as_bytes(),
            )
            .unwrap()
            .status();
        assert_eq!(status, 204);
        indexer.terminate();
        indexer.spawn();
    }
    assert_eq!(manifest_parts(&indexer).len(), 4);
    // Every tenant's parts are listed only to a token for all tenants.
    let listed = |token: &str| {
        agent()
            .get(format!("{}/api/v1/internal/parts", indexer.url))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap()
            .status()
    };
    assert_eq!(listed(&one_tenant), 403);
    assert_eq!(listed(&admin), 200);

    let mut compactor = Server::prepare(&format!(
        "target: compact\nindexers: [\"{}\"]\nmerge_interval: 1s\n{bucket}",
        indexer.url
    ));
    compactor.env = credentials;
    compactor.env.push(("BASIN_TOKEN".into(), admin));
    compactor.spawn();
    wait_until_merged(&indexer, &compactor);
    assert_eq!(manifest_parts(&indexer)[0].rows, 200);
}
