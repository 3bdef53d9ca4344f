use serde::{Deserialize, Serialize};

use crate::{Labels, TenantId};

/// Nanoseconds since the Unix epoch, UTC.
pub type TimestampNs = i64;

/// One log line with its time and structured metadata (fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// When the line was logged.
    pub ts: TimestampNs,
    /// The line as sent.
    pub line: String,
    /// Structured metadata: any key/value, any cardinality (trace ids, user ids...).
    pub fields: Vec<(String, String)>,
    /// The id of the line's pattern (template); 0 when it was not mined.
    pub pattern_id: u64,
}

impl Entry {
    /// An entry without fields or pattern.
    pub fn new(ts: TimestampNs, line: impl Into<String>) -> Self {
        Self {
            ts,
            line: line.into(),
            fields: Vec::new(),
            pattern_id: 0,
        }
    }

    /// Approximate bytes this entry holds, for memory accounting.
    pub fn size_bytes(&self) -> usize {
        8 + self.line.len()
            + self
                .fields
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
    }
}

/// Entries of one stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamBatch {
    /// The stream's labels.
    pub labels: Labels,
    /// Its entries, in any time order.
    pub entries: Vec<Entry>,
}

/// Everything one push request of one tenant carried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushBatch {
    /// Whose logs these are.
    pub tenant: TenantId,
    /// The streams, each with its entries.
    pub streams: Vec<StreamBatch>,
}

impl PushBatch {
    /// Number of entries over all streams.
    pub fn entry_count(&self) -> usize {
        self.streams.iter().map(|s| s.entries.len()).sum()
    }

    /// Approximate bytes of all entries.
    pub fn size_bytes(&self) -> usize {
        self.streams
            .iter()
            .flat_map(|s| s.entries.iter())
            .map(Entry::size_bytes)
            .sum()
    }
}
