//! WAL records of format 1 (segments opening with `BASINWL1`): entries
//! without a pattern id. Kept so a WAL written by an older build is
//! replayed, not lost, after an upgrade.

use basin_model::{Entry, Labels, PushBatch, StreamBatch, TenantId};
use serde::Deserialize;

#[derive(Deserialize)]
struct EntryV1 {
    ts: i64,
    line: String,
    fields: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct StreamBatchV1 {
    labels: Labels,
    entries: Vec<EntryV1>,
}

#[derive(Deserialize)]
struct PushBatchV1 {
    tenant: TenantId,
    streams: Vec<StreamBatchV1>,
}

/// Decodes a format-1 record payload.
pub fn decode_v1(payload: &[u8]) -> Option<PushBatch> {
    let old: PushBatchV1 = postcard::from_bytes(payload).ok()?;
    Some(PushBatch {
        tenant: old.tenant,
        streams: old
            .streams
            .into_iter()
            .map(|s| StreamBatch {
                labels: s.labels,
                entries: s
                    .entries
                    .into_iter()
                    .map(|e| Entry {
                        ts: e.ts,
                        line: e.line,
                        fields: e.fields,
                        pattern_id: 0,
                    })
                    .collect(),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;

    #[derive(Serialize)]
    struct EntryV1Out<'a> {
        ts: i64,
        line: &'a str,
        fields: Vec<(&'a str, &'a str)>,
    }

    #[test]
    fn format_1_records_decode() {
        // A format-1 batch as an older build wrote it.
        #[derive(Serialize)]
        struct Stream<'a> {
            labels: Labels,
            entries: Vec<EntryV1Out<'a>>,
        }
        #[derive(Serialize)]
        struct Batch<'a> {
            tenant: TenantId,
            streams: Vec<Stream<'a>>,
        }
        let old = Batch {
            tenant: TenantId::default_tenant(),
            streams: vec![Stream {
                labels: Labels::parse(r#"{job="a"}"#).unwrap(),
                entries: vec![EntryV1Out {
                    ts: 7,
                    line: "hello",
                    fields: vec![("k", "v")],
                }],
            }],
        };
        let payload = postcard::to_allocvec(&old).unwrap();
        let batch = decode_v1(&payload).unwrap();
        let e = &batch.streams[0].entries[0];
        assert_eq!((e.ts, e.line.as_str(), e.pattern_id), (7, "hello", 0));
        assert_eq!(e.fields, vec![("k".to_string(), "v".to_string())]);
        assert!(decode_v1(b"\xff\xff").is_none());
    }
}
