//! Log queries: select entries by stream, time and line filters, keep the
//! `limit` first (forward) or last (backward) of them, grouped by stream.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use basin_logql::{LogExpr, Stage};
use std::sync::Arc;

use basin_model::{Entry, Labels, TenantId, TimestampNs};
use basin_storage::{Columns, ScanRequest, ScanStats, Storage};

use crate::context::{Checker, QueryContext};
use crate::filter_stream::StreamFilter;
use crate::label_set::LabelSet;
use crate::memory;
use crate::pipeline::{Pipeline, Row};
use crate::QueryError;

/// Which end of the time range a limited answer keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Oldest first.
    Forward,
    /// Newest first (Loki's default).
    #[default]
    Backward,
}

/// A log query with its range and limit.
pub struct LogSelect<'a> {
    /// Whose logs.
    pub tenant: &'a TenantId,
    /// The parsed query.
    pub query: &'a LogExpr,
    /// Inclusive start.
    pub start: TimestampNs,
    /// Exclusive end.
    pub end: TimestampNs,
    /// Most entries in the answer.
    pub limit: usize,
    /// Which end to keep, and the order of entries.
    pub direction: Direction,
    /// Deadline and cancellation.
    pub ctx: &'a QueryContext,
}

/// One line of the answer, after the pipeline.
#[derive(Debug, Clone)]
pub struct LogRow {
    /// Entry time.
    pub ts: TimestampNs,
    /// The line, as the pipeline left it.
    pub line: String,
    /// Stream labels, structured metadata and extracted labels.
    pub labels: LabelSet,
}

/// A log query's answer.
#[derive(Debug, Clone, Default)]
pub struct LogSelection {
    /// Lines, ordered by `direction`.
    pub rows: Vec<LogRow>,
    /// What the scan cost.
    pub stats: ScanStats,
}

/// An entry in the running top-`limit`, ordered by time then arrival.
struct Candidate {
    ts: TimestampNs,
    seq: u64,
    row: Row,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        // The line breaks ties between workers deterministically.
        (self.ts, &self.row.line, self.seq).cmp(&(other.ts, &other.row.line, other.seq))
    }
}

/// One scan worker's share: its own top-`limit` and stop check.
struct Sink<'a> {
    top: TopK,
    checker: Checker<'a>,
    seq: u64,
    /// Estimated heap bytes of the rows in `top`.
    bytes: usize,
}

impl Candidate {
    /// Estimated heap bytes of the row: line, labels and the slot.
    fn bytes(&self) -> usize {
        self.row.line.len() + memory::key_bytes(&self.row.labels) + 64
    }
}

/// Keeps the `limit` entries nearest the chosen end of the range.
enum TopK {
    /// Forward keeps the smallest: a max-heap evicts the largest.
    Oldest(BinaryHeap<Candidate>),
    /// Backward keeps the largest: a min-heap evicts the smallest.
    Newest(BinaryHeap<Reverse<Candidate>>),
}

impl TopK {
    /// Whether an entry at `ts` (arriving after all so far) could enter.
    fn admits(&self, ts: TimestampNs, limit: usize) -> bool {
        match self {
            TopK::Oldest(heap) => heap.len() < limit || heap.peek().is_some_and(|top| ts < top.ts),
            TopK::Newest(heap) => {
                heap.len() < limit || heap.peek().is_some_and(|Reverse(top)| ts > top.ts)
            }
        }
    }

    /// Adds a candidate; returns the one it evicted, if any.
    fn push(&mut self, c: Candidate, limit: usize) -> Option<Candidate> {
        match self {
            TopK::Oldest(heap) => {
                heap.push(c);
                (heap.len() > limit).then(|| heap.pop()).flatten()
            }
            TopK::Newest(heap) => {
                heap.push(Reverse(c));
                (heap.len() > limit)
                    .then(|| heap.pop())
                    .flatten()
                    .map(|Reverse(c)| c)
            }
        }
    }

    fn into_vec(self) -> Vec<Candidate> {
        match self {
            TopK::Oldest(heap) => heap.into_vec(),
            TopK::Newest(heap) => heap.into_iter().map(|Reverse(c)| c).collect(),
        }
    }
}

/// Runs a log query.
pub fn select_logs(storage: &Storage, req: &LogSelect<'_>) -> Result<LogSelection, QueryError> {
    if req
        .query
        .stages
        .iter()
        .any(|s| matches!(s, Stage::Unwrap { .. }))
    {
        return Err(QueryError::Plan(
            "unwrap is only allowed in range aggregations such as sum_over_time(... | unwrap x [5m])".into(),
        ));
    }
    let streams = StreamFilter::new(&req.query.matchers)?;
    let pipeline =
        Pipeline::new(&req.query.stages)?.with_pattern_aliases(req.ctx.pattern_aliases());
    let stream_filter = |labels: &Labels| streams.matches(labels);
    let scan = ScanRequest {
        tenant: req.tenant,
        start: req.start,
        end: req.end,
        stream_filter: &stream_filter,
        needles: pipeline.needles(),
        columns: Columns::all(),
    };
    let new_top = || match req.direction {
        Direction::Forward => TopK::Oldest(BinaryHeap::new()),
        Direction::Backward => TopK::Newest(BinaryHeap::new()),
    };
    if req.limit == 0 {
        return Ok(LogSelection::default());
    }
    let make_sink = || Sink {
        top: new_top(),
        checker: Checker::new(req.ctx),
        seq: 0,
        bytes: 0,
    };
    let emit = |sink: &mut Sink<'_>, labels: &Arc<Labels>, entry: &Entry| {
        if !sink.checker.go_on() {
            return false;
        }
        if req.ctx.deleted(labels, entry) {
            return true;
        }
        if sink.top.admits(entry.ts, req.limit) {
            if let Some(row) = pipeline.run(entry, labels) {
                sink.seq += 1;
                let candidate = Candidate {
                    ts: entry.ts,
                    seq: sink.seq,
                    row,
                };
                sink.bytes += candidate.bytes();
                if let Some(evicted) = sink.top.push(candidate, req.limit) {
                    sink.bytes -= evicted.bytes();
                }
                return sink.checker.hold(sink.bytes);
            }
        }
        true
    };
    let (sinks, stats) = storage.scan_parallel(&scan, &make_sink, &emit)?;
    let mut kept = Vec::new();
    for sink in sinks {
        sink.checker.finish()?;
        kept.extend(sink.top.into_vec());
    }
    kept.sort();
    match req.direction {
        Direction::Forward => kept.truncate(req.limit),
        Direction::Backward => {
            kept.reverse();
            kept.truncate(req.limit);
        }
    }
    Ok(LogSelection {
        rows: kept
            .into_iter()
            .map(|c| LogRow {
                ts: c.ts,
                line: c.row.line,
                labels: c.row.labels,
            })
            .collect(),
        stats,
    })
}
