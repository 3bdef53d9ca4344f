//! Retention: parts whose newest entry is older than `retention_period` are
//! dropped whole.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::{info, warn};

use crate::engine::{lock, write, Inner};
use crate::error::Result;

/// Drops every part past the retention period, if one is set.
pub fn apply_retention(inner: &Inner) -> Result<()> {
    let Some(period) = inner.cfg.retention_period else {
        return Ok(());
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    let cutoff = now.saturating_sub(period.as_nanos() as i64);
    let _guard = lock(&inner.maintenance);
    let dir = &inner.cfg.data_dir;
    let expired: Vec<_> = lock(&inner.manifest)
        .parts
        .iter()
        .filter(|p| p.max_ts < cutoff)
        .cloned()
        .collect();
    if expired.is_empty() {
        return Ok(());
    }
    let gone: HashSet<u64> = expired.iter().map(|p| p.id).collect();
    {
        let mut manifest = lock(&inner.manifest);
        let mut next = manifest.clone();
        next.parts.retain(|p| !gone.contains(&p.id));
        next.publish(dir, inner.cfg.remote.as_deref())?;
        *manifest = next;
    }
    write(&inner.state)
        .parts
        .retain(|p| !gone.contains(&p.meta.id));
    for meta in &expired {
        let path = meta.path(dir);
        // A part read from the bucket may have no local copy.
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                warn!(part = %path.display(), "cannot remove expired part: {e}");
            }
            _ => {}
        }
        if let Some(remote) = &inner.cfg.remote {
            remote.delete_part(meta);
        }
        info!(tenant = %meta.tenant, day = %meta.day, rows = meta.rows, "retention dropped part");
    }
    Ok(())
}
