//! A query node's indexers (`target: query`): before each query, one
//! snapshot of the tenant from every indexer (its published parts and its
//! head), adopted as the store's whole picture, so an acknowledged line is
//! visible here as soon as its indexer holds it.
//!
//! Every indexer must answer: a query over some of them would be wrong
//! without saying so, so a missing one makes the query fail with 503.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;
use basin_model::TenantId;
use basin_storage::{Snapshot, Storage};

use crate::ApiError;

/// Where an indexer answers snapshots (a read, under the read scope).
pub const SNAPSHOT_PATH: &str = "/api/v1/internal/snapshot";

/// Where an indexer lists its parts for a compactor.
pub const PARTS_PATH: &str = "/api/v1/internal/parts";

/// Where an indexer reserves part ids for a compactor.
pub const PART_IDS_PATH: &str = "/api/v1/internal/part_ids";

/// Where an indexer adopts a compactor's rewrite.
pub const REWRITE_PATH: &str = "/api/v1/internal/rewrite";

/// Largest snapshot taken from one indexer: its head, bounded by its
/// `head_max_bytes`, plus the part list.
const MAX_SNAPSHOT_BYTES: u64 = 2 << 30;

/// How long `/ready` waits for each indexer's own `/ready`.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// The indexers a query node reads, and what reading them costs.
pub struct Peers {
    urls: Vec<String>,
    agent: ureq::Agent,
    /// Snapshots fetched, for `/metrics`.
    pub fetched: AtomicU64,
    /// Bytes of snapshots fetched.
    pub fetched_bytes: AtomicU64,
    /// Snapshots an indexer did not give.
    pub failures: AtomicU64,
}

impl Peers {
    /// Indexers by base URL (`http://host:port`), each asked with `timeout`.
    pub fn new(urls: Vec<String>, timeout: Duration) -> Self {
        Self {
            urls: urls
                .into_iter()
                .map(|u| u.trim_end_matches('/').to_string())
                .collect(),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(timeout))
                .user_agent(concat!("Basin/", env!("CARGO_PKG_VERSION")))
                .build()
                .into(),
            fetched: AtomicU64::new(0),
            fetched_bytes: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }

    /// Fetches every indexer's snapshot of `tenant` (with the caller's
    /// credentials) and makes them `storage`'s picture of it.
    pub async fn sync(
        self: &Arc<Self>,
        storage: &Arc<Storage>,
        tenant: &TenantId,
        authorization: Option<HeaderValue>,
    ) -> Result<(), ApiError> {
        let fetches: Vec<_> = (0..self.urls.len())
            .map(|i| {
                let (peers, tenant, auth) = (self.clone(), tenant.clone(), authorization.clone());
                tokio::task::spawn_blocking(move || peers.fetch(i, &tenant, auth))
            })
            .collect();
        let mut snapshots = Vec::with_capacity(fetches.len());
        for f in fetches {
            let got = f
                .await
                .map_err(|e| ApiError::Internal(format!("snapshot fetch: {e}")))?;
            snapshots.push(got?);
        }
        let (storage, tenant) = (storage.clone(), tenant.clone());
        tokio::task::spawn_blocking(move || storage.adopt(&tenant, snapshots))
            .await
            .map_err(|e| ApiError::Internal(format!("adopt snapshots: {e}")))?
            .map_err(|e| unavailable(format!("reading the indexers' parts in the bucket: {e}")))
    }

    /// The first indexer whose `/ready` does not answer 200, if any.
    pub fn first_unready(&self) -> Option<String> {
        self.urls.iter().find_map(|url| {
            let ok = self
                .agent
                .get(format!("{url}/ready"))
                .config()
                .timeout_global(Some(READY_TIMEOUT))
                .build()
                .call()
                .is_ok_and(|r| r.status() == 200);
            (!ok).then(|| url.clone())
        })
    }

    /// Counters in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let rows = [
            (
                "basin_query_snapshots_total",
                "Snapshots fetched from indexers.",
                self.fetched.load(Ordering::Relaxed),
            ),
            (
                "basin_query_snapshot_bytes_total",
                "Bytes of snapshots fetched from indexers.",
                self.fetched_bytes.load(Ordering::Relaxed),
            ),
            (
                "basin_query_snapshot_failures_total",
                "Snapshots an indexer did not give.",
                self.failures.load(Ordering::Relaxed),
            ),
        ];
        basin_model::exposition::counters(out, &rows);
    }

    fn fetch(
        &self,
        i: usize,
        tenant: &TenantId,
        authorization: Option<HeaderValue>,
    ) -> Result<Snapshot, ApiError> {
        let url = format!("{}{SNAPSHOT_PATH}", self.urls[i]);
        let failed = |why: String| {
            self.failures.fetch_add(1, Ordering::Relaxed);
            unavailable(format!("indexer {} did not answer: {why}", self.urls[i]))
        };
        let mut request = self
            .agent
            .get(&url)
            .header(crate::params::TENANT_HEADER, tenant.as_str());
        if let Some(auth) = authorization.as_ref().and_then(|a| a.to_str().ok()) {
            request = request.header("Authorization", auth);
        }
        let mut resp = request.call().map_err(|e| failed(e.to_string()))?;
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_SNAPSHOT_BYTES)
            .read_to_vec()
            .map_err(|e| failed(e.to_string()))?;
        if resp.status() != 200 {
            let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
            return Err(failed(format!("{}: {text}", resp.status())));
        }
        self.fetched.fetch_add(1, Ordering::Relaxed);
        self.fetched_bytes
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        Snapshot::decode(&body).map_err(|e| failed(e.to_string()))
    }
}

fn unavailable(message: String) -> ApiError {
    ApiError::Unavailable {
        message,
        retry_after_secs: 1,
    }
}
