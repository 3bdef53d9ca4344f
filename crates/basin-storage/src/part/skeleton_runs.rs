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
//!
//! Stored column by column ([`StoredRuns`]): a block of the default corpus
//! holds ~2,400 runs, and as (skeleton, stream, rows) triples they took
//! 10.6 MB of a 272 MB part set; as steps in three columns, a third. A
//! part keeps them compressed until a count first needs them.

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

/// A part's runs as stored: per block its number of runs, then each
/// run's skeleton as a step from the previous run's (0 at a block's
/// start), its stream as a step from the previous run's of the same
/// skeleton (from 0 at a new skeleton), and its rows.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRuns {
    per_block: Vec<u32>,
    skeleton_steps: Vec<u32>,
    stream_steps: Vec<u32>,
    rows: Vec<u32>,
}

impl StoredRuns {
    /// The stored form of `blocks`' runs (each block's as
    /// [`runs_of_block`] orders them).
    pub fn of(blocks: &[Vec<SkeletonRun>]) -> Self {
        let mut out = Self::default();
        for runs in blocks {
            out.per_block.push(runs.len() as u32);
            let (mut skeleton, mut stream) = (0, 0);
            for run in runs {
                if run.skeleton != skeleton {
                    stream = 0;
                }
                out.skeleton_steps.push(run.skeleton.wrapping_sub(skeleton));
                out.stream_steps.push(run.stream.wrapping_sub(stream));
                out.rows.push(run.rows);
                (skeleton, stream) = (run.skeleton, run.stream);
            }
        }
        out
    }

    /// The runs of each block, or why the stored form is not whole.
    pub fn runs(&self) -> Result<Vec<Vec<SkeletonRun>>, String> {
        let total: u64 = self.per_block.iter().map(|&n| u64::from(n)).sum();
        let n = self.rows.len();
        if total != n as u64 || self.skeleton_steps.len() != n || self.stream_steps.len() != n {
            return Err(format!(
                "{total} runs in blocks, {n} rows, {} skeletons, {} streams",
                self.skeleton_steps.len(),
                self.stream_steps.len()
            ));
        }
        let mut at = 0;
        let mut blocks = Vec::with_capacity(self.per_block.len());
        for &count in &self.per_block {
            let (mut skeleton, mut stream) = (0u32, 0u32);
            let mut runs = Vec::with_capacity(count as usize);
            for _ in 0..count {
                let next = skeleton.wrapping_add(self.skeleton_steps[at]);
                if next != skeleton {
                    stream = 0;
                }
                skeleton = next;
                stream = stream.wrapping_add(self.stream_steps[at]);
                runs.push(SkeletonRun {
                    skeleton,
                    stream,
                    rows: self.rows[at],
                });
                at += 1;
            }
            blocks.push(runs);
        }
        Ok(blocks)
    }
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
        // Stored and read back, beside a block with none and one more.
        let blocks = vec![
            runs.clone(),
            Vec::new(),
            runs_of_block(&[4, 4, 9], &[2, 7, 2]),
        ];
        let stored = StoredRuns::of(&blocks);
        assert_eq!(stored.runs().unwrap(), blocks);
        let mut cut = stored.clone();
        cut.rows.pop();
        assert!(cut.runs().is_err());
    }
}
