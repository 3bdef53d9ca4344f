//! How many rows each stream has of each skeleton, per block, in the order
//! the block's variables sit (format 8: skeleton number, then row), kept in
//! the footer under `basin.skeleton_runs` (written from format 8 on; parts
//! without it are read as before).
//!
//! A count of the lines holding a word (`count_over_time({...} |= "error"
//! [1d])`) over a block wholly inside one window needs, per stream, only
//! how many rows hold it. A skeleton decides most rows, and these runs say
//! how many rows of each stream it has: the block's skeleton numbers,
//! stream ids and times are not decoded. The rows a skeleton leaves to
//! their variables are placed by position, since runs follow the variables'
//! order: a variable column is searched and each hit's position names its
//! run.

use serde::{Deserialize, Serialize};

/// Footer key holding the runs.
pub const SKELETON_RUNS_KEY: &str = "basin.skeleton_runs";

/// Rows of one stream with one skeleton, consecutive in a block's
/// variable order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkeletonRun {
    /// Skeleton number (0: lines kept whole).
    pub skeleton: u32,
    /// Position of the stream in the part index's stream list.
    pub stream: u32,
    /// Rows in the run.
    pub rows: u32,
}

/// The runs of a block whose rows have `streams` (stream positions,
/// ascending, as parts store rows) and skeleton numbers `skeletons`.
pub fn runs_of_block(streams: &[u32], skeletons: &[u32]) -> Vec<SkeletonRun> {
    let mut keyed: Vec<(u32, u32)> = skeletons
        .iter()
        .copied()
        .zip(streams.iter().copied())
        .collect();
    // Rows are in stream order: sorted by skeleton, then stream, they are
    // in the order of the block's variables (see `var_order`).
    keyed.sort_unstable();
    let mut runs: Vec<SkeletonRun> = Vec::new();
    for (skeleton, stream) in keyed {
        match runs.last_mut() {
            Some(run) if run.skeleton == skeleton && run.stream == stream => run.rows += 1,
            _ => runs.push(SkeletonRun {
                skeleton,
                stream,
                rows: 1,
            }),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::part::var_order::VarOrder;

    #[test]
    fn runs_follow_the_order_of_the_variables() {
        let streams = [0, 0, 0, 1, 1, 2, 2, 2];
        let skeletons = [3, 1, 3, 1, 0, 3, 3, 1];
        let runs = runs_of_block(&streams, &skeletons);
        let run = |skeleton, stream, rows| SkeletonRun {
            skeleton,
            stream,
            rows,
        };
        assert_eq!(
            runs,
            [
                run(0, 1, 1),
                run(1, 0, 1),
                run(1, 1, 1),
                run(1, 2, 1),
                run(3, 0, 2),
                run(3, 2, 2)
            ]
        );
        // Position by position, the runs name each row's stream and
        // skeleton as the variable order places it.
        let order = VarOrder::of(&skeletons);
        let mut at = 0;
        for run in &runs {
            for _ in 0..run.rows {
                let row = order.row(at);
                assert_eq!((skeletons[row], streams[row]), (run.skeleton, run.stream));
                at += 1;
            }
        }
        assert_eq!(at, streams.len());
    }
}
