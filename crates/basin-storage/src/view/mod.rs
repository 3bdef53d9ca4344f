//! A query node's store: what the indexers hold, seen through their
//! snapshots, so the query engine scans it as if it were local.
//!
//! An indexer's [`Snapshot`] is taken under its state lock: the parts it has
//! published and the entries of its head, with nothing in both and nothing
//! in neither. A query node adopts one snapshot per indexer before each
//! query: it opens new parts in the bucket (footer and index by ranged GETs,
//! then only the blocks a query admits), forgets parts no longer listed, and
//! holds the heads as peers' heads, which scans read and flushes never
//! write. The view writes nothing to the bucket and keeps no WAL.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use basin_model::{PushBatch, StreamBatch, TenantId};
use serde::{Deserialize, Serialize};

use crate::config::StorageConfig;
use crate::engine::{lock, read, write, Frozen, Inner, State};
use crate::error::{Result, StorageError};
use crate::head::Head;
use crate::manifest::{Manifest, PartMeta};
use crate::part::Part;
use crate::remote::{Remote, RemoteConfig};
use crate::Storage;

/// One node's parts and head entries of one tenant, at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Key prefix of the node's parts in the bucket; `None` when its parts
    /// are on its own disk only (a query node cannot read those).
    pub prefix: Option<String>,
    /// The tenant's published parts.
    pub parts: Vec<PartMeta>,
    /// The tenant's entries not yet in a part.
    pub head: PushBatch,
}

impl Snapshot {
    /// Encodes for the wire (postcard).
    pub fn encode(&self) -> Result<Vec<u8>> {
        postcard::to_allocvec(self).map_err(|e| StorageError::Encode(e.to_string()))
    }

    /// Decodes what [`Snapshot::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        postcard::from_bytes(bytes).map_err(|e| StorageError::Encode(format!("snapshot: {e}")))
    }
}

/// Opens the bucket under one prefix, with its range cache in a directory.
pub type OpenRemote = dyn Fn(&str, &std::path::Path) -> Result<Remote> + Send + Sync;

/// What a view keeps between adoptions: one bucket handle per prefix and
/// the parts opened in it, so a part's footer is read once.
pub(crate) struct ViewState {
    open_remote: Box<OpenRemote>,
    cache_root: PathBuf,
    remotes: Mutex<HashMap<String, Arc<Remote>>>,
    /// Requests of every prefix's handle, for `/metrics`.
    pub(crate) stats: Arc<crate::remote::RemoteStats>,
    parts: Mutex<HashMap<(String, u64), Arc<Part>>>,
    /// Adoptions one at a time: each replaces a tenant's whole view.
    adopting: Mutex<()>,
}

impl Storage {
    /// The parts and head entries of `tenant`, consistent with each other.
    pub fn snapshot(&self, tenant: &TenantId) -> Snapshot {
        let state = read(&self.inner.state);
        let parts = state
            .tenant_parts(tenant)
            .iter()
            .map(|p| p.meta.clone())
            .collect();
        let mut streams: HashMap<basin_model::StreamId, StreamBatch> = HashMap::new();
        let heads = std::iter::once(&state.active).chain(state.frozen.iter().map(|f| &f.head));
        for head in heads {
            let Some(tenant_streams) = head.tenants.get(tenant) else {
                continue;
            };
            for (id, stream) in tenant_streams {
                streams
                    .entry(*id)
                    .or_insert_with(|| StreamBatch {
                        labels: (*stream.labels).clone(),
                        entries: Vec::new(),
                    })
                    .entries
                    .extend(stream.entries.iter().cloned());
            }
        }
        Snapshot {
            prefix: self
                .inner
                .cfg
                .remote
                .as_ref()
                .map(|r| r.prefix().to_string()),
            parts,
            head: PushBatch {
                tenant: tenant.clone(),
                streams: streams.into_values().collect(),
            },
        }
    }

    /// A store that holds only what [`Storage::adopt`] gives it, reading
    /// parts from `bucket` (under each snapshot's prefix) with a range cache
    /// in `cfg.data_dir`. It has no WAL and no background work.
    pub fn open_view(cfg: StorageConfig, bucket: RemoteConfig) -> Result<Self> {
        let open = move |prefix: &str, cache: &std::path::Path| {
            let cfg = RemoteConfig {
                prefix: prefix.to_string(),
                ..bucket.clone()
            };
            Remote::s3(&cfg, cache)
        };
        Self::open_view_with(cfg, Box::new(open))
    }

    /// [`Storage::open_view`] on any object store (tests use the in-memory one).
    pub fn open_view_with(cfg: StorageConfig, open_remote: Box<OpenRemote>) -> Result<Self> {
        let cache_root = cfg.data_dir.join("cache");
        std::fs::create_dir_all(&cache_root)
            .map_err(|e| StorageError::io("create dir", &cache_root, e))?;
        let inner = Arc::new(Inner {
            cfg,
            state: RwLock::new(State::default()),
            manifest: Mutex::new(Manifest::default()),
            maintenance: Mutex::new(()),
            wal_tx: Mutex::new(None),
            live: tokio::sync::broadcast::channel(1).0,
            quarantined: 0,
            queue_position: 0.into(),
            view: Some(ViewState {
                open_remote,
                cache_root,
                remotes: Mutex::new(HashMap::new()),
                stats: Arc::default(),
                parts: Mutex::new(HashMap::new()),
                adopting: Mutex::new(()),
            }),
        });
        Ok(Self::from_inner(inner))
    }

    /// Makes `snapshots` (one per indexer) this view's whole picture of
    /// `tenant`. Errors when this store is not a view, when a snapshot's
    /// parts are not in a bucket, or when a new part cannot be opened; the
    /// previous picture then stays.
    pub fn adopt(&self, tenant: &TenantId, snapshots: Vec<Snapshot>) -> Result<()> {
        let view = self.inner.view.as_ref().ok_or_else(|| {
            StorageError::Remote("adopt: this store is not a query node's view".into())
        })?;
        let _one_at_a_time = lock(&view.adopting);
        let mut parts = Vec::new();
        let mut peers = Vec::new();
        let mut known = lock(&view.parts);
        let mut listed = std::collections::HashSet::new();
        for snap in snapshots {
            if !snap.parts.is_empty() {
                let prefix = snap.prefix.ok_or_else(|| {
                    StorageError::Remote(
                        "an indexer keeps its parts on its own disk only; query nodes need \
                         `storage: {type: s3}` on every indexer"
                            .into(),
                    )
                })?;
                let remote = view.remote(&prefix)?;
                for meta in snap.parts {
                    let key = (prefix.clone(), meta.id);
                    let part = match known.get(&key) {
                        Some(p) => p.clone(),
                        None => {
                            let path = meta.path(&self.inner.cfg.data_dir);
                            let part = Arc::new(Part::open_remote(remote.clone(), &path, meta)?);
                            known.insert(key.clone(), part.clone());
                            part
                        }
                    };
                    listed.insert(key);
                    parts.push(part);
                }
            }
            if snap.head.entry_count() > 0 {
                let mut head = Head::default();
                head.insert(snap.head);
                peers.push(Arc::new(Frozen { head, wal_seq: 0 }));
            }
        }
        // Parts of other tenants stay known; this tenant's unlisted ones go.
        known.retain(|key, part| part.meta.tenant != tenant.as_str() || listed.contains(key));
        drop(known);
        let mut state = write(&self.inner.state);
        state.parts.retain(|p| p.meta.tenant != tenant.as_str());
        state.parts.extend(parts);
        state
            .peers
            .retain(|f| f.head.tenants.keys().all(|t| t != tenant));
        state.peers.extend(peers);
        Ok(())
    }
}

impl ViewState {
    /// The bucket handle for one prefix, made on first use.
    fn remote(&self, prefix: &str) -> Result<Arc<Remote>> {
        let mut remotes = lock(&self.remotes);
        if let Some(r) = remotes.get(prefix) {
            return Ok(r.clone());
        }
        let dir_name: String = prefix
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let remote = (self.open_remote)(prefix, &self.cache_root.join(format!("p_{dir_name}")))?;
        let remote = Arc::new(remote.with_stats(self.stats.clone()));
        remotes.insert(prefix.to_string(), remote.clone());
        Ok(remote)
    }
}

#[cfg(test)]
mod tests;
