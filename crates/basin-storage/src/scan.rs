//! What a read asks of storage, and what it cost.

use std::sync::Arc;

use basin_model::{Labels, TenantId, TimestampNs};

/// A read: one tenant, a time range, the streams wanted, and texts every
/// matching line contains (so blocks whose token filter rules one out are
/// skipped).
pub struct ScanRequest<'a> {
    /// Whose logs.
    pub tenant: &'a TenantId,
    /// Inclusive start.
    pub start: TimestampNs,
    /// Exclusive end.
    pub end: TimestampNs,
    /// Which streams are wanted.
    pub stream_filter: &'a (dyn Fn(&Labels) -> bool + Sync),
    /// Texts every matching line contains (as `|=` does: case-sensitive
    /// substrings): blocks whose token filter rules one out are skipped,
    /// and parts leave out rows whose line lacks one (the head may not).
    pub needles: &'a [String],
    /// Which parts of an entry the reader needs decoded.
    pub columns: Columns,
}

impl<'a> ScanRequest<'a> {
    /// Every entry of `tenant` in the streams `stream_filter` admits, whole.
    pub fn everything(
        tenant: &'a TenantId,
        stream_filter: &'a (dyn Fn(&Labels) -> bool + Sync),
    ) -> Self {
        Self {
            tenant,
            start: TimestampNs::MIN,
            end: TimestampNs::MAX,
            stream_filter,
            needles: &[],
            columns: Columns::all(),
        }
    }
}

/// Field name and value pairs, as an entry holds them.
pub type FieldPairs = [(String, String)];

/// Receives a run of rows: one stream, equal projected fields, their times
/// and, where they come from per-minute counts, how many rows each time
/// stands for (`None`: one each); returns false to stop the scan.
pub type RunSink<'a> = dyn FnMut(&Arc<Labels>, &FieldPairs, &[i64], Option<&[u32]>) -> bool + 'a;

/// How a run read may pass times, as the caller's windows allow.
#[derive(Clone, Copy)]
pub struct RunTimes<'a> {
    /// Parts may pass per-minute counts (bucket ends and counts) where they
    /// keep them: only when every window starts and ends on a whole minute.
    pub minute_counts: bool,
    /// Whether every time in `[a, b]` lies in the same windows of the
    /// caller: then the rows of a run there may arrive as one time (`b`)
    /// with their number, and parts need not read their times.
    pub same_windows: &'a (dyn Fn(i64, i64) -> bool + Sync),
}

impl RunTimes<'_> {
    /// Every time, as it is.
    pub fn exact() -> RunTimes<'static> {
        RunTimes {
            minute_counts: false,
            same_windows: &|_, _| false,
        }
    }
}

/// Like [`RunSink`], for parallel scans: each worker passes its own sink `S`.
pub type ParallelRunSink<'a, S> =
    dyn Fn(&mut S, &Arc<Labels>, &FieldPairs, &[i64], Option<&[u32]>) -> bool + Sync + 'a;

/// The parts of an entry a read needs. Parts skip the columns left out (the
/// line column is most of a block's bytes); the head, already in memory,
/// passes whole entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// Whether the line is needed (if not, entries arrive with an empty line).
    pub line: bool,
    /// Which fields are needed: `None` for all of them.
    pub fields: Option<Vec<String>>,
}

impl Columns {
    /// Everything: line and all fields.
    pub fn all() -> Self {
        Self {
            line: true,
            fields: None,
        }
    }

    /// Whether field `name` is needed.
    pub fn wants_field(&self, name: &str) -> bool {
        self.fields
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == name))
    }
}

/// Work a scan did, reported in query answers (`stats`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScanStats {
    /// Parts of the tenant overlapping the time range.
    pub parts_considered: u64,
    /// Blocks in those parts.
    pub blocks_total: u64,
    /// Blocks ruled out by time range or stream ids.
    pub blocks_pruned_by_range_or_stream: u64,
    /// Blocks ruled out by the token filter.
    pub blocks_pruned_by_tokens: u64,
    /// Blocks decoded.
    pub blocks_read: u64,
    /// Blocks answered from counts their part keeps (per minute, or per
    /// skeleton for needles), without decoding.
    pub blocks_counted: u64,
    /// Rows decoded from blocks.
    pub rows_read: u64,
    /// Bytes of compressed block data read.
    pub bytes_read: u64,
    /// Entries looked at in the head.
    pub head_entries_read: u64,
}

impl ScanStats {
    /// Adds another scan's work to this one.
    pub fn add(&mut self, o: &ScanStats) {
        self.parts_considered += o.parts_considered;
        self.blocks_total += o.blocks_total;
        self.blocks_pruned_by_range_or_stream += o.blocks_pruned_by_range_or_stream;
        self.blocks_pruned_by_tokens += o.blocks_pruned_by_tokens;
        self.blocks_read += o.blocks_read;
        self.blocks_counted += o.blocks_counted;
        self.rows_read += o.rows_read;
        self.bytes_read += o.bytes_read;
        self.head_entries_read += o.head_entries_read;
    }
}
