//! Merges: many small parts of a tenant and day become one, so scans open
//! fewer files and blocks hold longer runs of each stream.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use basin_model::{Entry, Labels, StreamId, TenantId};
use tracing::{info, warn};

use crate::config::LineEncoding;
use crate::engine::{lock, read, write, Inner};
use crate::error::Result;
use crate::filenames::DiscardOnError;
use crate::limits::{MERGE_MAX_PARTS, MERGE_MAX_PART_ROWS, MERGE_MAX_ROWS, MERGE_MIN_PARTS};
use crate::manifest::PartMeta;
use crate::part::{write_part, Part, WrittenPart};
use crate::scan::{Columns, ScanRequest, ScanStats};

/// Merges every (tenant, day) that has enough small parts.
pub fn merge_all(inner: &Inner) -> Result<()> {
    let _guard = lock(&inner.maintenance);
    let parts = read(&inner.state).parts.clone();
    let metas: Vec<PartMeta> = parts.iter().map(|p| p.meta.clone()).collect();
    for group in plan_merges(&metas) {
        let ids: HashSet<u64> = group.iter().map(|m| m.id).collect();
        let sources: Vec<Arc<Part>> = parts
            .iter()
            .filter(|p| ids.contains(&p.meta.id))
            .cloned()
            .collect();
        merge(inner, &group[0].tenant, &group[0].day, &sources)?;
    }
    Ok(())
}

/// The merges due among `parts`: per (tenant, day) with enough small
/// parts, the smallest of them up to the bounds on parts and rows. A
/// store's own merges and a compactor's follow the same plan.
pub fn plan_merges(parts: &[PartMeta]) -> Vec<Vec<PartMeta>> {
    let mut groups: BTreeMap<(&str, &str), Vec<&PartMeta>> = BTreeMap::new();
    for part in parts.iter().filter(|p| p.rows <= MERGE_MAX_PART_ROWS) {
        groups
            .entry((part.tenant.as_str(), part.day.as_str()))
            .or_default()
            .push(part);
    }
    let mut out = Vec::new();
    for (_, mut group) in groups {
        if group.len() < MERGE_MIN_PARTS {
            continue;
        }
        group.sort_by_key(|p| (p.rows, p.id));
        let mut rows = 0;
        let take = group
            .iter()
            .take(MERGE_MAX_PARTS)
            .take_while(|p| {
                rows += p.rows;
                rows <= MERGE_MAX_ROWS
            })
            .count();
        if take >= 2 {
            out.push(group[..take].iter().map(|&p| p.clone()).collect());
        }
    }
    out
}

fn merge(inner: &Inner, tenant: &str, day: &str, sources: &[Arc<Part>]) -> Result<()> {
    rewrite(inner, tenant, day, sources, &|_, _| false, true).map(|_| ())
}

/// Rewrites every part of `tenant` holding entries in `[start, end]`
/// without the entries there that `drop` picks (deletes). Parts with
/// nothing to drop stay as they are. Returns the entries removed.
pub fn purge(
    inner: &Inner,
    tenant: &TenantId,
    (start, end): (i64, i64),
    drop: &(dyn Fn(&Labels, &Entry) -> bool + Sync),
) -> Result<u64> {
    let _guard = lock(&inner.maintenance);
    let mut by_day: BTreeMap<String, Vec<Arc<Part>>> = BTreeMap::new();
    for part in &read(&inner.state).parts {
        if part.meta.tenant == tenant.as_str()
            && part.meta.min_ts <= end
            && part.meta.max_ts >= start
        {
            by_day
                .entry(part.meta.day.clone())
                .or_default()
                .push(part.clone());
        }
    }
    let in_range = |labels: &Labels, entry: &Entry| {
        entry.ts >= start && entry.ts <= end && drop(labels, entry)
    };
    let mut removed = 0;
    for (day, parts) in by_day {
        for part in parts {
            removed += rewrite(inner, tenant.as_str(), &day, &[part], &in_range, false)?;
        }
    }
    Ok(removed)
}

/// Writes the entries of `sources` but those `drop` picks into one new
/// part that replaces them. `always`: write even when nothing is dropped
/// (merges); otherwise such sources are left alone. Returns the entries
/// dropped.
fn rewrite(
    inner: &Inner,
    tenant: &str,
    day: &str,
    sources: &[Arc<Part>],
    drop: &(dyn Fn(&Labels, &Entry) -> bool + Sync),
    always: bool,
) -> Result<u64> {
    let dir = &inner.cfg.data_dir;
    let Ok(tenant_id) = TenantId::new(tenant) else {
        warn!(
            tenant,
            "skipping merge of parts with an invalid tenant name"
        );
        return Ok(0);
    };
    let mut streams = EntriesByStream::default();
    let all = |_: &Labels| true;
    let req = ScanRequest {
        tenant: &tenant_id,
        start: i64::MIN,
        end: i64::MAX,
        stream_filter: &all,
        needles: &[],
        columns: Columns::all(),
    };
    let mut stats = ScanStats::default();
    let mut dropped = 0u64;
    for part in sources {
        part.scan(&req, &mut stats, &mut |labels, entry| {
            if drop(labels, entry) {
                dropped += 1;
            } else {
                streams.push(labels, entry);
            }
            true
        })?;
    }
    if dropped == 0 && !always {
        return Ok(0);
    }
    let gone: HashSet<u64> = sources.iter().map(|p| p.meta.id).collect();
    if streams.is_empty() {
        // Everything went: the sources leave the manifest, no part replaces them.
        let mut manifest = lock(&inner.manifest);
        let mut next = manifest.clone();
        next.parts.retain(|p| !gone.contains(&p.id));
        next.publish(dir, inner.cfg.remote.as_deref())?;
        *manifest = next;
        replace_parts(inner, sources, &gone, None);
        info!(tenant, day, dropped, "deleted every entry of parts");
        return Ok(dropped);
    }
    let id = lock(&inner.manifest).allocate_id();
    let mut meta = PartMeta {
        id,
        tenant: tenant.to_string(),
        day: day.to_string(),
        rows: 0,
        min_ts: 0,
        max_ts: 0,
        size_bytes: 0,
    };
    let path = meta.path(dir);
    let w = streams.write(&path, inner.cfg.line_encoding)?;
    let unlisted = DiscardOnError::new(&path);
    meta.rows = w.rows;
    meta.min_ts = w.min_ts;
    meta.max_ts = w.max_ts;
    meta.size_bytes = w.size_bytes;
    let merged = Arc::new(Part::open(&path, meta)?);
    {
        let mut manifest = lock(&inner.manifest);
        let mut next = manifest.clone();
        next.parts.retain(|p| !gone.contains(&p.id));
        next.parts.push(merged.meta.clone());
        next.publish(dir, inner.cfg.remote.as_deref())?;
        *manifest = next;
    }
    unlisted.keep();
    replace_parts(inner, sources, &gone, Some(merged.clone()));
    info!(
        tenant,
        day,
        sources = sources.len(),
        rows = merged.meta.rows,
        dropped,
        "rewrote parts"
    );
    Ok(dropped)
}

/// Swaps parts the manifest no longer lists for their replacement, at once
/// for scans (which would otherwise see rows twice), and removes their files.
pub(crate) fn replace_parts(
    inner: &Inner,
    sources: &[Arc<Part>],
    gone: &HashSet<u64>,
    replacement: Option<Arc<Part>>,
) {
    {
        let mut state = write(&inner.state);
        state.parts.retain(|p| !gone.contains(&p.meta.id));
        state.parts.extend(replacement);
    }
    for part in sources {
        // Open scans keep their file handles; the data stays readable to them.
        // A part read from the bucket may have no local copy.
        match std::fs::remove_file(part.path()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                warn!(part = %part.path().display(), "cannot remove replaced part: {e}");
            }
            _ => {}
        }
        if let Some(remote) = &inner.cfg.remote {
            remote.delete_part(&part.meta);
        }
    }
}

/// Entries read from parts, gathered by stream for one new part.
#[derive(Default)]
pub(crate) struct EntriesByStream(HashMap<StreamId, (Arc<Labels>, Vec<Entry>)>);

impl EntriesByStream {
    /// Takes an entry of stream `labels`.
    pub(crate) fn push(&mut self, labels: &Arc<Labels>, entry: &Entry) {
        self.0
            .entry(labels.stream_id())
            .or_insert_with(|| (labels.clone(), Vec::new()))
            .1
            .push(entry.clone());
    }

    /// Whether no entry was taken.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Writes them as one part at `path`.
    pub(crate) fn write(&self, path: &Path, encoding: LineEncoding) -> Result<WrittenPart> {
        write_part(
            path,
            self.0
                .values()
                .map(|(labels, entries)| (labels.clone(), entries.iter().collect()))
                .collect(),
            encoding,
        )
    }
}
