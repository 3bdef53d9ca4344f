//! Merges: many small parts of a tenant and day become one, so scans open
//! fewer files and blocks hold longer runs of each stream.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use basin_model::{Entry, Labels, StreamId, TenantId};
use tracing::{info, warn};

use crate::engine::{lock, read, write, Inner};
use crate::error::Result;
use crate::filenames::DiscardOnError;
use crate::limits::{MERGE_MAX_PARTS, MERGE_MAX_PART_ROWS, MERGE_MAX_ROWS, MERGE_MIN_PARTS};
use crate::manifest::PartMeta;
use crate::part::{write_part, Part};
use crate::scan::{Columns, ScanRequest, ScanStats};

/// Merges every (tenant, day) that has enough small parts.
pub fn merge_all(inner: &Inner) -> Result<()> {
    let _guard = lock(&inner.maintenance);
    let mut groups: BTreeMap<(String, String), Vec<Arc<Part>>> = BTreeMap::new();
    for part in &read(&inner.state).parts {
        if part.meta.rows <= MERGE_MAX_PART_ROWS {
            groups
                .entry((part.meta.tenant.clone(), part.meta.day.clone()))
                .or_default()
                .push(part.clone());
        }
    }
    for ((tenant, day), mut parts) in groups {
        if parts.len() < MERGE_MIN_PARTS {
            continue;
        }
        parts.sort_by_key(|p| p.meta.rows);
        let mut rows = 0;
        let take = parts
            .iter()
            .take(MERGE_MAX_PARTS)
            .take_while(|p| {
                rows += p.meta.rows;
                rows <= MERGE_MAX_ROWS
            })
            .count();
        if take >= 2 {
            merge(inner, &tenant, &day, &parts[..take])?;
        }
    }
    Ok(())
}

fn merge(inner: &Inner, tenant: &str, day: &str, sources: &[Arc<Part>]) -> Result<()> {
    let dir = &inner.cfg.data_dir;
    let Ok(tenant_id) = TenantId::new(tenant) else {
        warn!(
            tenant,
            "skipping merge of parts with an invalid tenant name"
        );
        return Ok(());
    };
    let mut streams: HashMap<StreamId, (Arc<Labels>, Vec<Entry>)> = HashMap::new();
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
    for part in sources {
        part.scan(&req, &mut stats, &mut |labels, entry| {
            streams
                .entry(labels.stream_id())
                .or_insert_with(|| (labels.clone(), Vec::new()))
                .1
                .push(entry.clone());
            true
        })?;
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
    let w = write_part(
        &path,
        streams
            .values()
            .map(|(labels, entries)| (labels.clone(), entries.iter().collect()))
            .collect(),
        inner.cfg.line_encoding,
    )?;
    let unlisted = DiscardOnError::new(&path);
    meta.rows = w.rows;
    meta.min_ts = w.min_ts;
    meta.max_ts = w.max_ts;
    meta.size_bytes = w.size_bytes;
    let merged = Arc::new(Part::open(&path, meta)?);
    let gone: HashSet<u64> = sources.iter().map(|p| p.meta.id).collect();
    {
        let mut manifest = lock(&inner.manifest);
        let mut next = manifest.clone();
        next.parts.retain(|p| !gone.contains(&p.id));
        next.parts.push(merged.meta.clone());
        next.save(dir)?;
        *manifest = next;
    }
    unlisted.keep();
    {
        let mut state = write(&inner.state);
        state.parts.retain(|p| !gone.contains(&p.meta.id));
        state.parts.push(merged.clone());
    }
    for part in sources {
        // Open scans keep their file handles; the data stays readable to them.
        if let Err(e) = std::fs::remove_file(part.path()) {
            warn!(part = %part.path().display(), "cannot remove merged part: {e}");
        }
    }
    info!(
        tenant,
        day,
        sources = sources.len(),
        rows = merged.meta.rows,
        "merged parts"
    );
    Ok(())
}
