//! Rewrites done by a compactor, adopted by the store that owns the
//! manifest (docs/scale-out.md, "Compactors").
//!
//! Each indexer stays the one writer of its manifest: a compactor reads an
//! indexer's parts from the bucket, writes the merged (or purged) part to
//! the indexer's prefix under ids the indexer handed out, and asks the
//! indexer to list it in place of its sources. The indexer checks the
//! sources are all still listed (its own merges, retention or deletes may
//! have replaced one meanwhile) and publishes, so no two writers ever race
//! on a manifest and no conditional PUT is needed.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use basin_model::{Labels, TenantId};

use crate::config::LineEncoding;
use crate::engine::{lock, read, Storage};
use crate::error::{Result, StorageError};
use crate::filenames::DiscardOnError;
use crate::manifest::PartMeta;
use crate::merge::{replace_parts, EntriesByStream};
use crate::part::Part;
use crate::remote::Remote;
use crate::scan::{ScanRequest, ScanStats};

/// What a compactor does for one planned merge (see
/// [`crate::merge::plan_merges`]): reads `sources` from `remote` (their
/// owner's prefix) by ranged GETs, writes their entries as one part with id
/// `id` under `scratch`, uploads it beside them and removes the local file.
/// The owner lists it once it adopts the rewrite.
pub fn merge_in_bucket(
    remote: &Arc<Remote>,
    sources: &[PartMeta],
    id: u64,
    scratch: &Path,
    encoding: LineEncoding,
) -> Result<PartMeta> {
    let Some(first) = sources.first() else {
        return Err(StorageError::Invalid("a merge needs parts".into()));
    };
    let tenant = TenantId::new(&first.tenant)
        .map_err(|e| StorageError::Invalid(format!("tenant {}: {e}", first.tenant)))?;
    let all = |_: &Labels| true;
    let req = ScanRequest::everything(&tenant, &all);
    let mut streams = EntriesByStream::default();
    for meta in sources {
        let path = scratch.join(format!("source-{}.parquet", meta.id));
        let part = Part::open_remote(remote.clone(), &path, meta.clone())?;
        part.scan(&req, &mut ScanStats::default(), &mut |labels, entry| {
            streams.push(labels, entry);
            true
        })?;
    }
    std::fs::create_dir_all(scratch).map_err(|e| StorageError::io("create dir", scratch, e))?;
    let path = scratch.join(format!("merged-{id}.parquet"));
    let _local = DiscardOnError::new(&path);
    let written = streams.write(&path, encoding)?;
    let meta = PartMeta {
        id,
        tenant: first.tenant.clone(),
        day: first.day.clone(),
        rows: written.rows,
        min_ts: written.min_ts,
        max_ts: written.max_ts,
        size_bytes: written.size_bytes,
    };
    remote.upload_part(&meta, &path)?;
    let _ = std::fs::remove_file(&path);
    Ok(meta)
}

/// Most part ids one request may reserve.
pub const MAX_RESERVED_IDS: usize = 64;

impl Storage {
    /// The bucket prefix this store's parts and manifest are under, if it
    /// writes to a bucket.
    pub fn bucket_prefix(&self) -> Option<String> {
        self.inner
            .cfg
            .remote
            .as_ref()
            .map(|r| r.prefix().to_string())
    }

    /// Reserves `n` part ids for a compactor's parts. The manifest holding
    /// the next free id is published before they are handed out, so a
    /// restart never hands them out again (a compactor's upload must never
    /// land on a key this store uses).
    pub fn reserve_part_ids(&self, n: usize) -> Result<Vec<u64>> {
        if n == 0 || n > MAX_RESERVED_IDS {
            return Err(StorageError::Invalid(format!(
                "reserve 1 to {MAX_RESERVED_IDS} part ids, not {n}"
            )));
        }
        let inner = &self.inner;
        let _guard = lock(&inner.maintenance);
        let mut manifest = lock(&inner.manifest);
        let mut next = manifest.clone();
        let ids = (0..n).map(|_| next.allocate_id()).collect();
        next.publish(&inner.cfg.data_dir, inner.cfg.remote.as_deref())?;
        *manifest = next;
        Ok(ids)
    }

    /// Lists `written` (a part a compactor put in this store's bucket
    /// prefix, under a reserved id) in place of `tenant`'s parts `replaced`, or
    /// drops them if `written` is `None` (every entry expired or deleted).
    /// Returns false, changing nothing, if one of `replaced` is no longer
    /// listed: the compactor's part is then its own to delete.
    pub fn adopt_rewrite(
        &self,
        tenant: &str,
        replaced: &[u64],
        written: Option<PartMeta>,
    ) -> Result<bool> {
        let inner = &self.inner;
        let Some(remote) = inner.cfg.remote.clone() else {
            return Err(StorageError::Invalid(
                "rewrites by a compactor need a bucket (storage: s3)".into(),
            ));
        };
        let gone: HashSet<u64> = replaced.iter().copied().collect();
        if gone.is_empty() || gone.len() != replaced.len() {
            return Err(StorageError::Invalid(
                "a rewrite replaces one or more distinct parts".into(),
            ));
        }
        let _guard = lock(&inner.maintenance);
        let sources: Vec<Arc<Part>> = read(&inner.state)
            .parts
            .iter()
            .filter(|p| gone.contains(&p.meta.id))
            .cloned()
            .collect();
        if sources.len() != gone.len() {
            return Ok(false);
        }
        let day = &sources[0].meta.day;
        if sources
            .iter()
            .any(|p| p.meta.tenant != tenant || &p.meta.day != day)
        {
            return Err(StorageError::Invalid(
                "a rewrite's parts are of one tenant and day".into(),
            ));
        }
        let adopted = match written {
            Some(meta) => {
                if meta.tenant != tenant || &meta.day != day {
                    return Err(StorageError::Invalid(format!(
                        "the rewritten part is of {} {}, its sources of {tenant} {day}",
                        meta.tenant, meta.day
                    )));
                }
                let reserved = {
                    let manifest = lock(&inner.manifest);
                    meta.id < manifest.next_part_id
                        && !manifest.parts.iter().any(|p| p.id == meta.id)
                };
                if !reserved {
                    return Err(StorageError::Invalid(format!(
                        "part id {} was not reserved here",
                        meta.id
                    )));
                }
                // Checked before it is listed: a part the bucket lacks, or
                // that cannot be read, is refused here, not found by a query
                // (and publishing then knows the bucket holds it).
                if !remote.has_part(&meta)? {
                    return Err(StorageError::Invalid(format!(
                        "part {} is not in the bucket",
                        meta.id
                    )));
                }
                let path = meta.path(&inner.cfg.data_dir);
                Some(Arc::new(Part::open_remote(remote, &path, meta)?))
            }
            None => None,
        };
        {
            let mut manifest = lock(&inner.manifest);
            let mut next = manifest.clone();
            next.parts.retain(|p| !gone.contains(&p.id));
            next.parts.extend(adopted.as_ref().map(|p| p.meta.clone()));
            next.publish(&inner.cfg.data_dir, inner.cfg.remote.as_deref())?;
            *manifest = next;
        }
        replace_parts(inner, &sources, &gone, adopted);
        Ok(true)
    }
}
