//! `target:` and `queue:`: what this node does in a scaled-out deployment,
//! and the queue consumer an indexer runs (docs/scale-out.md).

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use basin_api::peers::Peers;
use basin_api::{AppState, Role};
use basin_queue::{QueueConfig, QueueStats};
use basin_storage::remote::RemoteConfig;
use basin_storage::Storage;
use std::time::Duration;
use tracing::info;

use crate::config::{parse_duration, QueueFile};

/// The role named by `--target` or `target:`.
pub fn parse_role(target: Option<&str>) -> Result<Role> {
    match target.map(str::trim) {
        None | Some("all") => Ok(Role::All),
        Some("ingest") => Ok(Role::Ingest),
        Some("index") => Ok(Role::Index),
        Some("query") => Ok(Role::Query),
        Some("compact") => Ok(Role::Compact),
        Some(other) => bail!("invalid target {other:?}: use all, ingest, index, query or compact"),
    }
}

/// The queue settings of `queue:`, checked against the role.
pub fn queue_config(role: Role, file: Option<&QueueFile>) -> Result<Option<QueueConfig>> {
    if matches!(role, Role::Query | Role::Compact) {
        // Query nodes and compactors read the indexers, not the queue.
        return Ok(None);
    }
    let Some(file) = file else {
        if role != Role::All {
            bail!("target {role:?} needs a queue: set `queue: {{type: nats, url: ...}}`");
        }
        return Ok(None);
    };
    if file.kind != "nats" {
        bail!("queue type {:?}: use nats", file.kind);
    }
    let mut cfg = QueueConfig::default();
    if let Some(v) = &file.url {
        cfg.url = v.clone();
    }
    if let Some(v) = &file.stream {
        if v.is_empty()
            || !v
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            bail!("queue stream {v:?}: use letters, digits, - and _");
        }
        cfg.stream = v.clone();
    }
    if let Some(v) = file.partitions {
        if v == 0 {
            bail!("queue partitions must be at least 1");
        }
        cfg.partitions = v;
    }
    if let Some(v) = file.partition {
        cfg.partition = v;
    }
    if cfg.partition >= cfg.partitions {
        bail!(
            "queue partition {} is past the {} partitions (they count from 0)",
            cfg.partition,
            cfg.partitions
        );
    }
    if role == Role::All && cfg.partitions > 1 {
        bail!("target all stores every partition itself: use partitions: 1, or target index per partition");
    }
    if let Some(v) = file.replicas {
        cfg.replicas = v.max(1);
    }
    if let Some(v) = file.max_bytes {
        cfg.max_bytes = v;
    }
    if let Some(v) = &file.publish_timeout {
        cfg.publish_timeout = parse_duration("queue publish_timeout", v)?;
    }
    if let Some(v) = &file.ack_wait {
        cfg.ack_wait = parse_duration("queue ack_wait", v)?;
    }
    Ok(Some(cfg))
}

/// Connects an ingest node (or a one-binary node with a queue) to the
/// queue: its pushes are published from now on.
pub async fn start_publisher(state: &AppState, cfg: &QueueConfig) -> Result<()> {
    let publisher = basin_queue::Publisher::connect(cfg.clone())
        .await
        .context("cannot set up the ingest queue")?;
    info!(url = %cfg.url, partitions = cfg.partitions, "pushes go to the ingest queue");
    state.set_queue(Arc::new(publisher));
    Ok(())
}

/// Starts storing the configured partition of the queue (indexers).
pub fn start_consumer(state: &AppState, storage: Arc<Storage>, cfg: QueueConfig) {
    let stats = Arc::new(QueueStats::new([cfg.partition]));
    if state.queue().is_none() {
        state.set_queue_stats(stats.clone());
    }
    info!(
        partition = cfg.partition,
        position = storage.queue_position(),
        "indexing the ingest queue"
    );
    let position = {
        let storage = storage.clone();
        move || storage.queue_position()
    };
    let apply = move |batches| {
        let storage = storage.clone();
        async move { storage.append_at(batches).await.map_err(|e| e.to_string()) }
    };
    tokio::spawn(basin_queue::consume(cfg, stats, position, apply));
}

/// The bucket an indexer writes: its own prefix under the configured one
/// (`<prefix>/index-<partition>`), so indexers never share a manifest or
/// part ids.
pub fn bucket_for_role(
    role: Role,
    queue: Option<&QueueConfig>,
    bucket: Option<RemoteConfig>,
) -> Option<RemoteConfig> {
    let mut bucket = bucket?;
    if let (Role::Index, Some(queue)) = (role, queue) {
        let own = format!("index-{}", queue.partition);
        bucket.prefix = match bucket.prefix.trim_matches('/') {
            "" => own,
            p => format!("{p}/{own}"),
        };
    }
    Some(bucket)
}

/// What a query node reads: its indexers and the bucket of their parts.
pub struct QueryNode {
    /// The indexers, asked for snapshots before each query.
    pub peers: Arc<Peers>,
    /// The bucket (prefixes come from the indexers' snapshots).
    pub bucket: RemoteConfig,
}

/// A compactor, checked (none for other roles).
pub fn compactor(
    role: Role,
    indexers: &[String],
    bucket: Option<&RemoteConfig>,
    work_dir: std::path::PathBuf,
    encoding: basin_storage::LineEncoding,
) -> Result<Option<crate::compactor::Compactor>> {
    if role != Role::Compact {
        return Ok(None);
    }
    check_indexers("compact", indexers)?;
    let Some(bucket) = bucket else {
        bail!("target compact merges parts in the bucket: set `storage: {{type: s3, ...}}` as on the indexers");
    };
    info!(
        indexers = indexers.len(),
        "compactor: merging the indexers' parts in the bucket"
    );
    // Indexers with auth on take an admin token for all tenants.
    let token = std::env::var("BASIN_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty());
    Ok(Some(crate::compactor::Compactor::new(
        indexers.to_vec(),
        bucket.clone(),
        work_dir,
        encoding,
        token,
    )))
}

/// `indexers:` as a role that reads them needs it.
fn check_indexers(target: &str, indexers: &[String]) -> Result<()> {
    if indexers.is_empty() {
        bail!("target {target} needs `indexers:`, the base URLs of every indexer");
    }
    for url in indexers {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("indexer {url:?}: give a base URL such as http://indexer-0:3100");
        }
    }
    Ok(())
}

/// How long an indexer keeps a merged-away or expired part in the bucket:
/// longer than a query on a query node that listed it may run.
pub const RETIRE_GRACE: Duration = Duration::from_secs(600);

/// How long a query node waits for one indexer's snapshot.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(10);

/// A query node's settings, checked (none for other roles).
pub fn query_node(
    role: Role,
    indexers: &[String],
    bucket: Option<&RemoteConfig>,
) -> Result<Option<QueryNode>> {
    if role != Role::Query {
        return Ok(None);
    }
    check_indexers("query", indexers)?;
    let Some(bucket) = bucket else {
        bail!("target query reads parts from the bucket: set `storage: {{type: s3, ...}}` as on the indexers");
    };
    info!(
        indexers = indexers.len(),
        "query node: reading the indexers and the bucket"
    );
    Ok(Some(QueryNode {
        peers: Arc::new(Peers::new(indexers.to_vec(), SNAPSHOT_TIMEOUT)),
        bucket: bucket.clone(),
    }))
}
