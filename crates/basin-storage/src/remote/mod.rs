//! Parts on object storage (S3 and compatible stores), through the
//! `object_store` crate.
//!
//! Parts are immutable objects under `<prefix>/parts/<tenant>/<day>/<id>.parquet`;
//! the manifest (`<prefix>/manifest.json`) is the only object ever replaced.
//! Every manifest change uploads the new parts first, then the manifest, so
//! the manifest in the bucket never names a part the bucket lacks. Parts
//! stay on the local disk after upload; a node that starts with an empty
//! disk reads the manifest from the bucket and its parts through ranged
//! GETs, block by block, cached on disk up to a cap ([`RangeCache`]).
//!
//! One node writes the manifest (the single-binary topology); see
//! docs/scale-out.md for why several writers need a compactor that owns it.

mod cache;
mod stats;

use std::collections::HashSet;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

pub use cache::RangeCache;
pub use stats::RemoteStats;

use crate::error::{Result, StorageError};
use crate::manifest::PartMeta;

/// Where the bucket is and how much local disk its cache may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteConfig {
    /// Bucket name.
    pub bucket: String,
    /// Endpoint URL for S3-compatible stores (MinIO, moto, R2); AWS when empty.
    pub endpoint: Option<String>,
    /// Region (`us-east-1` when empty).
    pub region: Option<String>,
    /// Key prefix inside the bucket, so several Basins can share one.
    pub prefix: String,
    /// Most bytes of part ranges kept in the local cache.
    pub cache_max_bytes: u64,
}

/// A bucket, its key prefix, the local range cache, and request counters.
pub struct Remote {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    /// Taken on drop, to shut down without blocking (drops may happen on async threads).
    runtime: Option<tokio::runtime::Runtime>,
    cache: RangeCache,
    stats: Arc<RemoteStats>,
    /// Parts known to be in the bucket.
    uploaded: Mutex<HashSet<u64>>,
    /// How long a part no manifest names stays in the bucket (see
    /// [`Remote::with_retire_grace`]).
    retire_grace: std::time::Duration,
    /// Parts replaced or expired, waiting out the grace.
    retired: Mutex<Vec<(PartMeta, std::time::Instant)>>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("store", &self.store.to_string())
            .field("prefix", &self.prefix)
            .finish()
    }
}

fn remote_error(what: &str, key: &str, e: impl std::fmt::Display) -> StorageError {
    StorageError::Remote(format!("{what} {key}: {e}"))
}

impl Remote {
    /// An S3 (or S3-compatible) bucket; credentials come from the usual
    /// `AWS_*` environment variables.
    pub fn s3(cfg: &RemoteConfig, cache_dir: &Path) -> Result<Self> {
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&cfg.bucket);
        if let Some(region) = &cfg.region {
            builder = builder.with_region(region);
        }
        if let Some(endpoint) = &cfg.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let store = builder
            .build()
            .map_err(|e| StorageError::Remote(format!("bucket {:?}: {e}", cfg.bucket)))?;
        Self::with_store(Arc::new(store), &cfg.prefix, cache_dir, cfg.cache_max_bytes)
    }

    /// Any object store (tests use the in-memory one).
    pub fn with_store(
        store: Arc<dyn ObjectStore>,
        prefix: &str,
        cache_dir: &Path,
        cache_max_bytes: u64,
    ) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("basin-remote")
            .enable_all()
            .build()
            .map_err(|e| StorageError::io("start object store runtime", cache_dir, e))?;
        Ok(Self {
            store,
            prefix: prefix.trim_matches('/').to_string(),
            runtime: Some(runtime),
            cache: RangeCache::open(cache_dir, cache_max_bytes)?,
            stats: Arc::new(RemoteStats::default()),
            uploaded: Mutex::new(HashSet::new()),
            retire_grace: std::time::Duration::ZERO,
            retired: Mutex::new(Vec::new()),
        })
    }

    /// Keeps replaced parts in the bucket for `grace` before deleting them:
    /// query nodes may still read a part their last snapshot listed.
    pub fn with_retire_grace(mut self, grace: std::time::Duration) -> Self {
        self.retire_grace = grace;
        self
    }

    /// Counts into `stats` from now on (a query node's handles of several
    /// prefixes share one set of counters).
    pub fn with_stats(mut self, stats: Arc<RemoteStats>) -> Self {
        self.stats = stats;
        self
    }

    /// The key prefix inside the bucket.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Request and cache counters, for `/metrics`.
    pub fn stats(&self) -> &Arc<RemoteStats> {
        &self.stats
    }

    /// Runs `fut` on the store's own runtime and waits: callers are storage
    /// threads and blocking query threads, never async tasks.
    fn run<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let Some(runtime) = &self.runtime else {
            unreachable!("the runtime is only taken on drop");
        };
        runtime.spawn(async move {
            let _ = tx.send(fut.await);
        });
        match rx.recv() {
            Ok(out) => out,
            // The runtime only drops the task when it shuts down, which
            // happens when `self` drops: not while we are borrowed.
            Err(_) => unreachable!("object store runtime stopped while in use"),
        }
    }

    fn path(&self, key: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }

    /// The key of a part's object (relative to the prefix).
    pub fn part_key(meta: &PartMeta) -> String {
        format!("parts/{}/{}/{}.parquet", meta.tenant, meta.day, meta.id)
    }

    /// Uploads a part file unless the bucket already has it.
    pub fn upload_part(&self, meta: &PartMeta, local: &Path) -> Result<()> {
        if self.is_uploaded(meta.id) {
            return Ok(());
        }
        let bytes = std::fs::read(local).map_err(|e| StorageError::io("read", local, e))?;
        let key = Self::part_key(meta);
        self.put(&key, bytes)?;
        self.mark_uploaded(meta.id);
        Ok(())
    }

    /// Whether the bucket holds a part (asked once per part at start).
    pub fn has_part(&self, meta: &PartMeta) -> Result<bool> {
        if self.is_uploaded(meta.id) {
            return Ok(true);
        }
        let key = Self::part_key(meta);
        let (store, path) = (self.store.clone(), self.path(&key));
        self.stats.head();
        match self.run(async move { store.head(&path).await }) {
            Ok(_) => {
                self.mark_uploaded(meta.id);
                Ok(true)
            }
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(remote_error("head", &key, e)),
        }
    }

    /// Notes that the bucket holds a part (read from its manifest).
    pub fn mark_uploaded(&self, id: u64) {
        self.uploaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id);
    }

    fn is_uploaded(&self, id: u64) -> bool {
        self.uploaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&id)
    }

    /// Deletes a part's object once the retire grace has passed (at this
    /// call or a later one); failures are logged (an orphan costs space,
    /// not correctness: no manifest names it).
    pub fn delete_part(&self, meta: &PartMeta) {
        let now = std::time::Instant::now();
        let due: Vec<PartMeta> = {
            let mut retired = self.retired.lock().unwrap_or_else(|p| p.into_inner());
            retired.push((meta.clone(), now));
            let (due, wait): (Vec<_>, Vec<_>) = retired
                .drain(..)
                .partition(|(_, at)| now.duration_since(*at) >= self.retire_grace);
            *retired = wait;
            due.into_iter().map(|(m, _)| m).collect()
        };
        for meta in &due {
            self.delete_now(meta);
        }
    }

    fn delete_now(&self, meta: &PartMeta) {
        let key = Self::part_key(meta);
        let (store, path) = (self.store.clone(), self.path(&key));
        self.stats.delete();
        if let Err(e) = self.run(async move { store.delete(&path).await }) {
            tracing::warn!(key, "cannot delete replaced part from the bucket: {e}");
        }
        self.uploaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&meta.id);
    }

    /// Replaces the manifest object.
    pub fn put_manifest(&self, bytes: Vec<u8>) -> Result<()> {
        self.put("manifest.json", bytes)
    }

    /// The manifest object, if the bucket has one.
    pub fn get_manifest(&self) -> Result<Option<Vec<u8>>> {
        let (store, path) = (self.store.clone(), self.path("manifest.json"));
        self.stats.get();
        let got = self.run(async move {
            match store.get(&path).await {
                Ok(r) => r.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        });
        let got = got.map_err(|e| remote_error("get", "manifest.json", e))?;
        if let Some(b) = &got {
            self.stats.got_bytes(b.len());
        }
        Ok(got.map(|b| b.to_vec()))
    }

    fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        let (store, path) = (self.store.clone(), self.path(key));
        self.stats.put(bytes.len());
        self.run(async move { store.put(&path, PutPayload::from(bytes)).await })
            .map_err(|e| remote_error("put", key, e))?;
        Ok(())
    }

    /// Reads `buf.len()` bytes at `offset` of object `key` (`len` bytes
    /// long), through the range cache.
    pub fn read_at(&self, key: &str, len: u64, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.cache
            .read(key, len, offset, buf, &self.stats, |start, end| {
                let (store, path) = (self.store.clone(), self.path(key));
                self.stats.get();
                let got = self
                    .run(async move { store.get_range(&path, start..end).await })
                    .map_err(io::Error::other)?;
                self.stats.got_bytes(got.len());
                Ok(got)
            })
    }

    /// Where the cache keeps its blocks.
    pub fn cache_dir(&self) -> &PathBuf {
        self.cache.dir()
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests;
