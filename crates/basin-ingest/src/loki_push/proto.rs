//! Loki's protobuf push messages (`logproto.PushRequest`), declared by hand with
//! prost so the build needs no `protoc`. Field numbers follow Loki's `push.proto`.

use basin_model::Entry;
use prost::Message;

use super::{RawLabels, RawStream};
use crate::IngestError;

/// `logproto.PushRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct PushRequest {
    /// The streams pushed.
    #[prost(message, repeated, tag = "1")]
    pub streams: Vec<StreamAdapter>,
}

/// `logproto.StreamAdapter`: one stream's label text and entries.
#[derive(Clone, PartialEq, Message)]
pub struct StreamAdapter {
    /// Label text, e.g. `{job="api"}`.
    #[prost(string, tag = "1")]
    pub labels: String,
    /// The entries.
    #[prost(message, repeated, tag = "2")]
    pub entries: Vec<EntryAdapter>,
    /// Set by Loki clients; ignored.
    #[prost(uint64, tag = "3")]
    pub hash: u64,
}

/// `logproto.EntryAdapter`: one line.
#[derive(Clone, PartialEq, Message)]
pub struct EntryAdapter {
    /// When the line was logged.
    #[prost(message, optional, tag = "1")]
    pub timestamp: Option<Timestamp>,
    /// The line.
    #[prost(string, tag = "2")]
    pub line: String,
    /// Structured metadata.
    #[prost(message, repeated, tag = "3")]
    pub structured_metadata: Vec<LabelPairAdapter>,
}

/// `logproto.LabelPairAdapter`: one structured metadata pair.
#[derive(Clone, PartialEq, Message)]
pub struct LabelPairAdapter {
    /// Key.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, PartialEq, Message)]
pub struct Timestamp {
    /// Seconds since the epoch.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds within the second.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

pub(super) fn decode(body: &[u8]) -> Result<Vec<RawStream>, IngestError> {
    let req = PushRequest::decode(body)
        .map_err(|e| IngestError::Malformed(format!("invalid Loki push protobuf: {e}")))?;
    Ok(req
        .streams
        .into_iter()
        .map(|stream| RawStream {
            labels: RawLabels::Text(stream.labels),
            entries: stream
                .entries
                .into_iter()
                .map(|e| {
                    let ts = e
                        .timestamp
                        .map(|t| t.seconds.saturating_mul(1_000_000_000) + i64::from(t.nanos))
                        .unwrap_or(0);
                    Entry {
                        ts,
                        line: e.line,
                        fields: e
                            .structured_metadata
                            .into_iter()
                            .map(|p| (p.name, p.value))
                            .collect(),
                        pattern_id: 0,
                    }
                })
                .collect(),
        })
        .collect())
}
