//! Per-minute line counts of each stream in each block, kept in the part's
//! footer under `basin.counts`, so `count_over_time` and `rate` over a bare
//! selector at minute-aligned steps read a few numbers instead of a time per
//! line (the dashboard query: `sum by (x) (count_over_time({...}[5m]))`).
//!
//! A bucket covers `(k * BUCKET_NS, (k + 1) * BUCKET_NS]`, left-open like a
//! range window, so a window whose ends are multiples of the bucket holds
//! each bucket whole or not at all.

use serde::{Deserialize, Serialize};

/// Footer key holding the counts.
pub const COUNTS_KEY: &str = "basin.counts";

/// Width of a bucket: one minute, the smallest step dashboards use for
/// ranges of hours to days.
pub const BUCKET_NS: i64 = 60_000_000_000;

/// The bucket holding time `t`.
pub fn bucket_of(t: i64) -> i64 {
    t.saturating_sub(1).div_euclid(BUCKET_NS)
}

/// The end of bucket `k` (the latest time it holds).
pub fn bucket_end(k: i64) -> i64 {
    k.saturating_add(1).saturating_mul(BUCKET_NS)
}

/// Counts of every block of a part, in block order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartCounts {
    /// Per block, the runs of its streams.
    pub blocks: Vec<Vec<RunCounts>>,
}

/// One stream's rows in one block, counted per bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// Position of the stream in the part index's stream list.
    pub stream: u32,
    /// First bucket with rows.
    pub first: i64,
    /// Buckets after the previous one (0 for the first), rising.
    pub gaps: Vec<u32>,
    /// Rows in each bucket.
    pub counts: Vec<u32>,
}

impl RunCounts {
    /// Calls `f` with each bucket and its count.
    pub fn for_each(&self, mut f: impl FnMut(i64, u32)) {
        let mut bucket = self.first;
        for (gap, &count) in self.gaps.iter().zip(&self.counts) {
            bucket = bucket.saturating_add(i64::from(*gap));
            f(bucket, count);
        }
    }
}

/// Counts a block's rows: `(stream position, time)`, sorted by stream then
/// time, as parts store them.
pub fn count_block(rows: impl IntoIterator<Item = (u32, i64)>) -> Vec<RunCounts> {
    let mut runs: Vec<RunCounts> = Vec::new();
    let mut last_bucket = 0;
    for (stream, t) in rows {
        let bucket = bucket_of(t);
        match runs.last_mut() {
            Some(run) if run.stream == stream && bucket == last_bucket => {
                if let Some(c) = run.counts.last_mut() {
                    *c += 1;
                }
            }
            Some(run) if run.stream == stream && bucket > last_bucket => {
                let gap = u32::try_from(bucket - last_bucket).unwrap_or(u32::MAX);
                if gap == u32::MAX {
                    // Buckets over 8,000 years apart: start a new run.
                    runs.push(new_run(stream, bucket));
                } else {
                    run.gaps.push(gap);
                    run.counts.push(1);
                }
            }
            _ => runs.push(new_run(stream, bucket)),
        }
        last_bucket = bucket;
    }
    runs
}

fn new_run(stream: u32, bucket: i64) -> RunCounts {
    RunCounts {
        stream,
        first: bucket,
        gaps: vec![0],
        counts: vec![1],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_left_open() {
        assert_eq!(bucket_of(BUCKET_NS), 0);
        assert_eq!(bucket_of(BUCKET_NS + 1), 1);
        assert_eq!(bucket_of(1), 0);
        assert_eq!(bucket_of(0), -1);
        assert_eq!(bucket_end(bucket_of(BUCKET_NS * 7)), BUCKET_NS * 7);
    }

    #[test]
    fn counts_runs_per_stream_and_bucket() {
        let m = BUCKET_NS;
        let rows = [(0, 1), (0, m), (0, m + 1), (0, 5 * m), (1, 2), (1, 3)];
        let runs = count_block(rows);
        let mut seen = Vec::new();
        for run in &runs {
            run.for_each(|b, c| seen.push((run.stream, b, c)));
        }
        assert_eq!(seen, [(0, 0, 2), (0, 1, 1), (0, 4, 1), (1, 0, 2)]);
        let part = PartCounts { blocks: vec![runs] };
        let stored = crate::part::index::encode_value(&part).unwrap();
        let raw = crate::part::index::unpack(stored, 6).unwrap();
        assert_eq!(
            crate::part::index::decode_value::<PartCounts>(&raw).unwrap(),
            part
        );
    }
}
