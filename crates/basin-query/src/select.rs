//! Log queries: select entries by stream, time and line filters, keep the
//! `limit` first (forward) or last (backward) of them, grouped by stream.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use basin_logql::{LineFilterOp, LogQuery};
use basin_model::{Entry, Labels, StreamId, TenantId, TimestampNs};
use basin_storage::tokens::required_tokens;
use basin_storage::{ScanRequest, ScanStats, Storage};

use crate::filter_line::LineFilters;
use crate::filter_stream::StreamFilter;
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
    pub query: &'a LogQuery,
    /// Inclusive start.
    pub start: TimestampNs,
    /// Exclusive end.
    pub end: TimestampNs,
    /// Most entries in the answer.
    pub limit: usize,
    /// Which end to keep, and the order of entries.
    pub direction: Direction,
}

/// One stream's entries in the answer, ordered by `direction`.
#[derive(Debug, Clone)]
pub struct StreamEntries {
    /// The stream's labels.
    pub labels: Arc<Labels>,
    /// Its entries.
    pub entries: Vec<Entry>,
}

/// A log query's answer.
#[derive(Debug, Clone, Default)]
pub struct LogSelection {
    /// Streams with their entries.
    pub streams: Vec<StreamEntries>,
    /// What the scan cost.
    pub stats: ScanStats,
}

/// An entry in the running top-`limit`, ordered by time then arrival.
struct Candidate {
    ts: TimestampNs,
    seq: u64,
    labels: Arc<Labels>,
    entry: Entry,
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
        (self.ts, self.seq).cmp(&(other.ts, other.seq))
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
    fn push(&mut self, c: Candidate, limit: usize) {
        match self {
            TopK::Oldest(heap) => {
                if heap.len() < limit {
                    heap.push(c);
                } else if heap.peek().is_some_and(|top| c < *top) {
                    heap.pop();
                    heap.push(c);
                }
            }
            TopK::Newest(heap) => {
                if heap.len() < limit {
                    heap.push(Reverse(c));
                } else if heap.peek().is_some_and(|Reverse(top)| c > *top) {
                    heap.pop();
                    heap.push(Reverse(c));
                }
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
    let streams = StreamFilter::new(&req.query.matchers)?;
    let lines = LineFilters::new(&req.query.filters)?;
    let tokens: Vec<String> = req
        .query
        .filters
        .iter()
        .filter(|f| f.op == LineFilterOp::Contains)
        .flat_map(|f| required_tokens(&f.value))
        .collect();
    let stream_filter = |labels: &Labels| streams.matches(labels);
    let scan = ScanRequest {
        tenant: req.tenant,
        start: req.start,
        end: req.end,
        stream_filter: &stream_filter,
        required_tokens: &tokens,
    };
    let mut top = match req.direction {
        Direction::Forward => TopK::Oldest(BinaryHeap::new()),
        Direction::Backward => TopK::Newest(BinaryHeap::new()),
    };
    let mut seq = 0;
    let stats = if req.limit == 0 {
        ScanStats::default()
    } else {
        storage.scan(&scan, &mut |labels, entry| {
            if lines.matches(&entry.line) {
                seq += 1;
                top.push(
                    Candidate {
                        ts: entry.ts,
                        seq,
                        labels: labels.clone(),
                        entry: entry.clone(),
                    },
                    req.limit,
                );
            }
            true
        })?
    };
    let mut kept = top.into_vec();
    kept.sort();
    if req.direction == Direction::Backward {
        kept.reverse();
    }
    let mut by_stream: HashMap<StreamId, usize> = HashMap::new();
    let mut out: Vec<StreamEntries> = Vec::new();
    for c in kept {
        let slot = *by_stream.entry(c.labels.stream_id()).or_insert_with(|| {
            out.push(StreamEntries {
                labels: c.labels.clone(),
                entries: Vec::new(),
            });
            out.len() - 1
        });
        out[slot].entries.push(c.entry);
    }
    Ok(LogSelection {
        streams: out,
        stats,
    })
}
