//! Lines per pattern over time, for the patterns APIs: every entry a log
//! query keeps in a range, counted by its pattern id (as the caller
//! resolves it) and by step, with the mix of levels.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use basin_logql::LogExpr;
use basin_model::level::{level_from_value, LEVEL_FIELD};
use basin_model::{Entry, Labels, TenantId};
use basin_storage::{Columns, ScanRequest, Storage};

use crate::context::{Checker, QueryContext};
use crate::filter_stream::StreamFilter;
use crate::pipeline::Pipeline;
use crate::QueryError;

/// What was counted for one pattern.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PatternCounts {
    /// Step start (ns) → lines.
    pub samples: BTreeMap<i64, u64>,
    /// Level → lines (`unknown` when none is found).
    pub levels: BTreeMap<&'static str, u64>,
    /// Lines in all.
    pub total: u64,
}

/// Estimated heap bytes of a pattern's counts, and of one step in them.
const PATTERN_BYTES: usize = 256;
const BUCKET_BYTES: usize = 48;

/// Counts the entries `query` keeps in `[start, end)` by pattern and by
/// `step`; `resolve` maps a stored pattern id to the one it is shown
/// under (templates merge). Entries without a pattern are left out.
#[allow(clippy::too_many_arguments)]
pub fn count_patterns(
    storage: &Storage,
    tenant: &TenantId,
    query: &LogExpr,
    start: i64,
    end: i64,
    step: i64,
    resolve: &(dyn Fn(u64) -> u64 + Sync),
    ctx: &QueryContext,
) -> Result<HashMap<u64, PatternCounts>, QueryError> {
    let streams = StreamFilter::new(&query.matchers)?;
    let pipeline = Pipeline::new(&query.stages)?;
    let stream_filter = |labels: &Labels| streams.matches(labels);
    let scan = ScanRequest {
        tenant,
        start,
        end,
        stream_filter: &stream_filter,
        needles: pipeline.needles(),
        columns: Columns::all(),
    };
    let step = step.max(1);
    let make_sink = || {
        (
            HashMap::<u64, PatternCounts>::new(),
            Checker::new(ctx),
            0usize,
        )
    };
    let emit = |sink: &mut (HashMap<u64, PatternCounts>, Checker<'_>, usize),
                labels: &Arc<Labels>,
                entry: &Entry| {
        if !sink.1.go_on() {
            return false;
        }
        if ctx.deleted(labels, entry) {
            return true;
        }
        if entry.pattern_id == 0 {
            return true;
        }
        if pipeline.has_stages() && pipeline.run(entry, labels).is_none() {
            return true;
        }
        let id = resolve(entry.pattern_id);
        if !sink.0.contains_key(&id) {
            sink.2 += PATTERN_BYTES;
        }
        let counts = sink.0.entry(id).or_default();
        let bucket = start + (entry.ts - start) / step * step;
        let held = counts.samples.len();
        *counts.samples.entry(bucket).or_default() += 1;
        if counts.samples.len() > held {
            sink.2 += BUCKET_BYTES;
        }
        *counts.levels.entry(level_of(entry)).or_default() += 1;
        counts.total += 1;
        sink.1.hold(sink.2)
    };
    let (sinks, _) = storage.scan_parallel(&scan, &make_sink, &emit)?;
    let mut out: HashMap<u64, PatternCounts> = HashMap::new();
    for (counts, checker, _) in sinks {
        checker.finish()?;
        for (id, c) in counts {
            let all = out.entry(id).or_default();
            for (t, n) in c.samples {
                *all.samples.entry(t).or_default() += n;
            }
            for (l, n) in c.levels {
                *all.levels.entry(l).or_default() += n;
            }
            all.total += c.total;
        }
    }
    Ok(out)
}

/// The entry's level: its `level` field, else the one in its header.
fn level_of(entry: &Entry) -> &'static str {
    entry
        .fields
        .iter()
        .find(|(n, _)| n == LEVEL_FIELD)
        .and_then(|(_, v)| level_from_value(v))
        .or_else(|| basin_pipeline::level::find_level(&entry.line).map(|f| f.level))
        .unwrap_or("unknown")
}
