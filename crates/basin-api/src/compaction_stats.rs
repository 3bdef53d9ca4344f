//! A compactor's counters, on its `/metrics` (see `target: compact`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use basin_storage::remote::RemoteStats;

/// What a compactor did, and its requests to the bucket.
#[derive(Default)]
pub struct CompactionStats {
    /// Merges an indexer adopted.
    pub merges: AtomicU64,
    /// Merges an indexer refused as stale (their part deleted).
    pub stale: AtomicU64,
    /// Rounds on an indexer that failed (it was down, say).
    pub failures: AtomicU64,
    /// Requests to the bucket, over every indexer's prefix.
    pub remote: Arc<RemoteStats>,
}

impl CompactionStats {
    /// Counters in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let rows = [
            (
                "basin_compactor_merges_total",
                "Merges an indexer adopted.",
                self.merges.load(Ordering::Relaxed),
            ),
            (
                "basin_compactor_stale_merges_total",
                "Merges an indexer refused because a source had gone meanwhile.",
                self.stale.load(Ordering::Relaxed),
            ),
            (
                "basin_compactor_failures_total",
                "Compaction rounds on an indexer that failed.",
                self.failures.load(Ordering::Relaxed),
            ),
        ];
        basin_model::exposition::counters(out, &rows);
        out.push_str(&self.remote.exposition());
    }
}
