//! The head: acknowledged entries not yet written to a part, queryable at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use basin_model::{Entry, Labels, PushBatch, StreamId, TenantId};

use crate::limits::HEAD_ENTRY_OVERHEAD_BYTES;
use crate::scan::{ScanRequest, ScanStats};

/// One stream's entries in the head, in arrival order.
#[derive(Debug)]
pub struct HeadStream {
    /// The stream's labels.
    pub labels: Arc<Labels>,
    /// Its entries, in arrival order (not time order).
    pub entries: Vec<Entry>,
}

/// Entries in memory, by tenant and stream.
#[derive(Debug)]
pub struct Head {
    /// Tenants, each with its streams.
    pub tenants: HashMap<TenantId, HashMap<StreamId, HeadStream>>,
    bytes: usize,
    entries: usize,
    created: Instant,
}

impl Default for Head {
    fn default() -> Self {
        Self {
            tenants: HashMap::new(),
            bytes: 0,
            entries: 0,
            created: Instant::now(),
        }
    }
}

impl Head {
    /// Adds a batch's entries.
    pub fn insert(&mut self, batch: PushBatch) {
        let streams = self.tenants.entry(batch.tenant).or_default();
        for stream in batch.streams {
            let id = stream.labels.stream_id();
            let slot = streams.entry(id).or_insert_with(|| HeadStream {
                labels: Arc::new(stream.labels),
                entries: Vec::new(),
            });
            self.bytes += stream
                .entries
                .iter()
                .map(|e| e.size_bytes() + HEAD_ENTRY_OVERHEAD_BYTES)
                .sum::<usize>();
            self.entries += stream.entries.len();
            // Moved in one go (a new stream takes the batch's vector).
            if slot.entries.is_empty() {
                slot.entries = stream.entries;
            } else {
                slot.entries.extend(stream.entries);
            }
        }
    }

    /// Approximate memory held: entries' bytes and their overhead.
    pub fn size_bytes(&self) -> usize {
        self.bytes
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// When this head was started.
    pub fn created(&self) -> Instant {
        self.created
    }

    /// Adds to `out` the streams of `tenant` with an entry in `[start, end)`.
    pub fn streams_in(
        &self,
        tenant: &TenantId,
        start: i64,
        end: i64,
        filter: &dyn Fn(&Labels) -> bool,
        out: &mut HashMap<StreamId, Arc<Labels>>,
    ) {
        let Some(streams) = self.tenants.get(tenant) else {
            return;
        };
        for (id, stream) in streams {
            if !out.contains_key(id)
                && stream.entries.iter().any(|e| e.ts >= start && e.ts < end)
                && filter(&stream.labels)
            {
                out.insert(*id, stream.labels.clone());
            }
        }
    }

    /// Passes the entries matching `req` to `emit`; stops when it returns false.
    pub fn scan(
        &self,
        req: &ScanRequest<'_>,
        stats: &mut ScanStats,
        emit: &mut dyn FnMut(&Arc<Labels>, &Entry) -> bool,
    ) -> bool {
        let Some(streams) = self.tenants.get(req.tenant) else {
            return true;
        };
        for stream in streams.values() {
            if !(req.stream_filter)(&stream.labels) {
                continue;
            }
            for entry in &stream.entries {
                stats.head_entries_read += 1;
                if entry.ts >= req.start && entry.ts < req.end && !emit(&stream.labels, entry) {
                    return false;
                }
            }
        }
        true
    }
}
