//! Counts of the lines holding needles, block by block, from the block's
//! skeleton runs (see [`crate::part::skeleton_runs`]) and, where a skeleton
//! leaves it to them, the variable columns that may hold a needle: the
//! skeleton numbers, stream ids and times of the block are not decoded.

use super::{find_in_column, NeedleFilter, Part, NO_COLUMN};
use crate::error::{Result, StorageError};
use crate::limits::BLOCK_ROWS;
use crate::part::line_codec::Verdict;
use crate::part::schema::var_index;
use crate::scan::{RunSink, RunTimes, ScanRequest, ScanStats};
use arrow_array::cast::AsArray;

impl Part {
    /// Whether a read of `req` may count any block by skeleton: the part
    /// keeps runs in variable order (format 8), every needle has verdicts,
    /// no line must be rebuilt with its time and no field column is wanted.
    /// The same for every block of a read, so asked once per read.
    pub(super) fn may_count_by_skeleton(
        &self,
        req: &ScanRequest<'_>,
        needles: &NeedleFilter<'_>,
    ) -> bool {
        self.version >= 8
            && self.skeleton_runs.is_some()
            && needles.verdicts.len() == needles.tests.len()
            && !needles.may_need_time()
            && !self.wants_field_columns(req)
    }

    /// Whether [`Part::count_by_skeleton`] can answer `block` of a read
    /// [`Part::may_count_by_skeleton`] allows: it lies wholly in the
    /// request and in one window of the caller, and every wanted run's
    /// skeleton decides each needle or leaves it to the variables (none
    /// must be rebuilt, none is a line kept whole).
    pub(super) fn counts_by_skeleton(
        &self,
        req: &ScanRequest<'_>,
        wanted: &[bool],
        block: usize,
        needles: &NeedleFilter<'_>,
        times: RunTimes<'_>,
    ) -> Result<bool> {
        let Some(all) = self.skeleton_runs()? else {
            return Ok(false);
        };
        let (Some(runs), Some(info)) = (all.get(block), self.index.blocks.get(block)) else {
            return Ok(false);
        };
        if info.min_ts < req.start
            || info.max_ts >= req.end
            || !(times.same_windows)(info.min_ts, info.max_ts)
        {
            return Ok(false);
        }
        Ok(runs.iter().all(|run| {
            !wanted.get(run.stream as usize).copied().unwrap_or(false)
                || run.skeleton != 0
                    && needles.verdicts.iter().all(|v| {
                        matches!(
                            v.get(run.skeleton as usize),
                            Some(Verdict::Never | Verdict::Always | Verdict::InVars)
                        )
                    })
        }))
    }

    /// Passes, per wanted stream of `block` (one [`Part::counts_by_skeleton`]
    /// allows), how many of its rows hold every needle, at the block's last
    /// time. Returns false if `emit` stopped.
    pub(super) fn count_by_skeleton(
        &self,
        wanted: &[bool],
        block: usize,
        needles: &mut NeedleFilter<'_>,
        stats: &mut ScanStats,
        emit: &mut RunSink<'_>,
    ) -> Result<bool> {
        let all = self.skeleton_runs()?.unwrap_or_default();
        let (Some(runs), Some(info), Some(templates)) = (
            all.get(block),
            self.index.blocks.get(block),
            self.templates()?,
        ) else {
            return Ok(true);
        };
        let is_wanted = |stream: u32| wanted.get(stream as usize).copied().unwrap_or(false);
        let in_vars = runs.iter().any(|run| {
            is_wanted(run.stream)
                && needles
                    .verdicts
                    .iter()
                    .any(|v| v.get(run.skeleton as usize) == Some(&Verdict::InVars))
        });
        // Per needle, by position, the lowest variable column holding it.
        let rows = info.rows as usize;
        for hits in needles.var_hits.iter_mut() {
            hits.clear();
        }
        needles.var_hits.resize_with(needles.tests.len(), Vec::new);
        let searched = match in_vars {
            true => self.searched_columns(needles, &[block]),
            false => Vec::new(),
        };
        if searched.iter().any(|&s| s) {
            self.find_in_variables(block, &searched, needles, stats)?;
        } else {
            stats.blocks_counted += 1;
        }
        let mut counts: Vec<(u32, u32)> = Vec::new();
        let mut in_vars: Vec<&[u8]> = Vec::with_capacity(needles.tests.len());
        let mut at = 0usize;
        for run in runs {
            let end = at + run.rows as usize;
            if is_wanted(run.stream) {
                let id = run.skeleton as usize;
                // A hit counts in the skeleton's own variables only.
                let vars = templates.vars_of(run.skeleton).min(usize::from(NO_COLUMN));
                in_vars.clear();
                let mut never = false;
                for (verdicts, hits) in needles.verdicts.iter().zip(&needles.var_hits) {
                    match verdicts.get(id) {
                        Some(Verdict::Always) => {}
                        Some(Verdict::InVars) => match hits.get(at..end) {
                            Some(h) => in_vars.push(h),
                            None => never = true,
                        },
                        _ => never = true,
                    }
                }
                let kept = match (never, in_vars.as_slice()) {
                    (true, _) => 0,
                    (false, []) => run.rows,
                    // The common case, one needle: a loop the compiler
                    // turns into vector compares.
                    (false, [hits]) => {
                        hits.iter().filter(|&&h| usize::from(h) < vars).count() as u32
                    }
                    (false, many) => (0..end - at)
                        .filter(|&p| many.iter().all(|h| usize::from(h[p]) < vars))
                        .count() as u32,
                };
                match counts.last_mut() {
                    Some((stream, n)) if *stream == run.stream => *n += kept,
                    _ => counts.push((run.stream, kept)),
                }
            }
            at = end;
        }
        if at != rows {
            return Err(StorageError::Corruption {
                path: self.path.clone(),
                detail: format!("block {block}: skeleton runs hold {at} rows, not {rows}"),
            });
        }
        // Runs go skeleton by skeleton: gather each stream's counts.
        counts.sort_unstable_by_key(|&(stream, _)| stream);
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(counts.len());
        for (stream, n) in counts {
            match merged.last_mut() {
                Some((s, total)) if *s == stream => *total += n,
                _ => merged.push((stream, n)),
            }
        }
        for (stream, n) in merged {
            let Some(labels) = self.stream_labels.get(stream as usize) else {
                continue;
            };
            if n > 0 && !emit(labels, &[], &[info.max_ts], Some(&[n])) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Reads the variable columns `searched` of `block` and marks, per
    /// needle and position, the lowest one holding the needle.
    fn find_in_variables(
        &self,
        block: usize,
        searched: &[bool],
        needles: &mut NeedleFilter<'_>,
        stats: &mut ScanStats,
    ) -> Result<()> {
        let schema = self.arrow_meta.schema();
        let projected: Vec<usize> = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| var_index(f.name()).is_some_and(|n| searched.get(n) == Some(&true)))
            .map(|(i, _)| i)
            .collect();
        let group = self.arrow_meta.metadata().row_group(block);
        stats.blocks_read += 1;
        stats.bytes_read += projected
            .iter()
            .filter_map(|&i| group.columns().get(i))
            .map(|c| c.compressed_size() as u64)
            .sum::<u64>();
        let rows = group.num_rows().max(0) as usize;
        for hits in needles.var_hits.iter_mut() {
            hits.resize(rows, NO_COLUMN);
        }
        let mut start = 0;
        for batch in self.reader_of(projected, vec![block], None, BLOCK_ROWS)? {
            let batch = batch?;
            stats.rows_read += batch.num_rows() as u64;
            for (i, field) in batch.schema_ref().fields().iter().enumerate() {
                let Some(n) = var_index(field.name()) else {
                    continue;
                };
                let values = batch
                    .column(i)
                    .as_string_opt::<i32>()
                    .ok_or_else(|| self.corrupt_column(field.name()))?;
                for (test, hits) in needles.tests.iter().zip(needles.var_hits.iter_mut()) {
                    find_in_column(test, n, values, hits, |position| start + position);
                }
            }
            start += batch.num_rows();
        }
        Ok(())
    }
}
