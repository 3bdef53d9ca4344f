//! `target: compact`: merges the indexers' small parts in the bucket, so
//! indexers only flush (docs/scale-out.md, "Compactors").
//!
//! Each round, per indexer: its part list (`GET /api/v1/internal/parts`),
//! the merges the store's own plan calls for ([`plan_merges`]), and for
//! each one a reserved id, the merged part written here from ranged GETs
//! and put beside its sources, and the indexer asked to list it in their
//! place. The indexer stays the one writer of its manifest; a rewrite it
//! finds stale (a source merged, expired or deleted meanwhile) is refused
//! with 409, and the orphan part deleted here.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::Ordering;

use anyhow::{bail, Context, Result};
use basin_api::compaction_stats::CompactionStats;
use basin_storage::remote::{Remote, RemoteConfig};
use basin_storage::{merge_in_bucket, plan_merges, LineEncoding, PartMeta};
use serde::Deserialize;
use serde_json::json;
use tracing::{info, warn};

/// An indexer's parts, as `GET /api/v1/internal/parts` lists them.
#[derive(Deserialize)]
struct Listing {
    prefix: String,
    parts: Vec<PartMeta>,
}

/// The compactor of a deployment.
pub struct Compactor {
    indexers: Vec<String>,
    bucket: RemoteConfig,
    /// Where merged parts are written before upload, and range caches.
    work_dir: PathBuf,
    encoding: LineEncoding,
    agent: ureq::Agent,
    /// `Authorization` for indexers with auth on: an admin token for all
    /// tenants, from `BASIN_TOKEN`.
    auth: Option<String>,
    /// One bucket handle per indexer prefix.
    remotes: HashMap<String, Arc<Remote>>,
    stats: Arc<CompactionStats>,
}

impl Compactor {
    /// A compactor of `indexers`' parts in `bucket`, working in `work_dir`.
    pub fn new(
        indexers: Vec<String>,
        bucket: RemoteConfig,
        work_dir: PathBuf,
        encoding: LineEncoding,
        token: Option<String>,
    ) -> Self {
        Self {
            auth: token.map(|t| format!("Bearer {}", t.trim())),
            indexers,
            bucket,
            work_dir,
            encoding,
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(60)))
                .build()
                .into(),
            remotes: HashMap::new(),
            stats: Arc::default(),
        }
    }

    /// The indexers it merges for.
    pub fn indexers(&self) -> &[String] {
        &self.indexers
    }

    /// Its counters (for `/metrics`).
    pub fn stats(&self) -> Arc<CompactionStats> {
        self.stats.clone()
    }

    /// Runs a round every `interval`, on a thread of its own (merges are
    /// blocking work: ranged GETs, decoding, encoding, an upload).
    pub fn spawn(mut self, interval: Duration) {
        std::thread::spawn(move || loop {
            std::thread::sleep(interval);
            self.round();
        });
    }

    /// One pass over every indexer; returns the merges adopted.
    pub fn round(&mut self) -> usize {
        let mut adopted = 0;
        for url in self.indexers.clone() {
            match self.compact(&url) {
                Ok(n) => adopted += n,
                Err(e) => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    warn!(indexer = %url, "compaction failed, will retry: {e:#}");
                }
            }
        }
        adopted
    }

    /// Merges what `url`'s plan calls for; returns the merges it adopted.
    fn compact(&mut self, url: &str) -> Result<usize> {
        let mut resp = self
            .authed(self.agent.get(format!("{url}/api/v1/internal/parts")))
            .call()
            .context("listing parts")?;
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_string().context("listing parts")?;
        if status != 200 {
            bail!("listing parts: {status} {}", body.trim());
        }
        let listing: Listing = serde_json::from_str(&body).context("listing parts")?;
        let remote = self.remote_for(&listing.prefix)?;
        let mut adopted = 0;
        for group in plan_merges(&listing.parts) {
            let id = self.reserve_id(url)?;
            let scratch = self.work_dir.join("scratch");
            let merged = merge_in_bucket(&remote, &group, id, &scratch, self.encoding)?;
            let replaced: Vec<u64> = group.iter().map(|p| p.id).collect();
            let body = json!({ "replaced": replaced, "part": merged }).to_string();
            let mut resp = self
                .authed(self.agent.post(format!("{url}/api/v1/internal/rewrite")))
                .header("X-Scope-OrgID", &merged.tenant)
                .header("Content-Type", "application/json")
                .send(body.as_bytes())
                .context("handing over a merge")?;
            let status = resp.status().as_u16();
            let answer = resp.body_mut().read_to_string().unwrap_or_default();
            match status {
                200 => {
                    adopted += 1;
                    self.stats.merges.fetch_add(1, Ordering::Relaxed);
                    info!(indexer = %url, tenant = %merged.tenant, day = %merged.day,
                          sources = replaced.len(), rows = merged.rows, "merged parts in the bucket");
                }
                409 => {
                    // Stale: the indexer changed those parts meanwhile.
                    self.stats.stale.fetch_add(1, Ordering::Relaxed);
                    remote.delete_part(&merged);
                    info!(indexer = %url, "a merge went stale; its part is deleted");
                }
                _ => {
                    remote.delete_part(&merged);
                    bail!("handing over a merge: {status} {}", answer.trim());
                }
            }
        }
        Ok(adopted)
    }

    /// A part id reserved by the indexer at `url`.
    fn reserve_id(&self, url: &str) -> Result<u64> {
        let mut resp = self
            .authed(
                self.agent
                    .post(format!("{url}/api/v1/internal/part_ids?count=1")),
            )
            .send_empty()
            .context("reserving a part id")?;
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        if status != 200 {
            bail!("reserving a part id: {status} {}", body.trim());
        }
        let answer: serde_json::Value = serde_json::from_str(&body)?;
        answer["ids"][0]
            .as_u64()
            .context("reserving a part id: no id in the answer")
    }

    /// `req` with the token, if there is one.
    fn authed<B>(&self, req: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.auth {
            Some(auth) => req.header("Authorization", auth),
            None => req,
        }
    }

    /// The bucket handle of an indexer's prefix.
    fn remote_for(&mut self, prefix: &str) -> Result<Arc<Remote>> {
        if let Some(r) = self.remotes.get(prefix) {
            return Ok(r.clone());
        }
        let cfg = RemoteConfig {
            prefix: prefix.to_string(),
            ..self.bucket.clone()
        };
        let cache = self.work_dir.join("cache").join(prefix.replace('/', "_"));
        let remote = Arc::new(
            Remote::s3(&cfg, &cache)
                .map_err(|e| anyhow::anyhow!("bucket {prefix}: {e}"))?
                .with_stats(self.stats.remote.clone()),
        );
        self.remotes.insert(prefix.to_string(), remote.clone());
        Ok(remote)
    }
}
