//! Loki's push API (`POST /loki/api/v1/push`): JSON and snappy-compressed protobuf.

mod json;
pub mod proto;

use basin_model::{PushBatch, TenantId};

use crate::decompress::{decode_content_encoding, with_snappy_decoded};
use crate::stream::{validate_stream, RawLabels, RawStream};
use crate::{IngestError, IngestLimits};

/// Decodes a push body as Loki does: JSON when the content type says so,
/// otherwise snappy-compressed protobuf (`logproto.PushRequest`).
pub fn decode(
    tenant: TenantId,
    body: &[u8],
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    limits: &IngestLimits,
) -> Result<PushBatch, IngestError> {
    let limit = limits.max_request_size_bytes;
    let body = decode_content_encoding(body, content_encoding, limit)?;
    let is_json = content_type
        .map(|ct| {
            ct.trim()
                .to_ascii_lowercase()
                .starts_with("application/json")
        })
        .unwrap_or(false);
    let raw_streams = if is_json {
        json::decode(&body)?
    } else {
        with_snappy_decoded(&body, limit, proto::decode)?
    };
    let mut streams = Vec::with_capacity(raw_streams.len());
    for raw in raw_streams {
        streams.push(validate_stream(raw, limits)?);
    }
    Ok(PushBatch { tenant, streams })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_push(body: &str, limits: &IngestLimits) -> Result<PushBatch, IngestError> {
        decode(
            TenantId::default_tenant(),
            body.as_bytes(),
            Some("application/json"),
            None,
            limits,
        )
    }

    #[test]
    fn json_body_decodes() {
        let body = r#"{"streams":[{"stream":{"job":"api","env":"prod"},"values":[
            ["1700000000000000001","first"],
            ["1700000000000000000","second",{"trace_id":"abc"}]]}]}"#;
        let batch = json_push(body, &IngestLimits::default()).unwrap();
        assert_eq!(batch.streams.len(), 1);
        let stream = &batch.streams[0];
        assert_eq!(stream.labels.to_string(), r#"{env="prod", job="api"}"#);
        assert_eq!(stream.entries[0].ts, 1_700_000_000_000_000_001);
        assert_eq!(stream.entries[1].line, "second");
        assert_eq!(
            stream.entries[1].fields,
            vec![("trace_id".to_string(), "abc".to_string())]
        );
    }

    #[test]
    fn limits_are_enforced() {
        let limits = IngestLimits {
            max_line_size_bytes: 5,
            max_label_names_per_series: 2,
            ..IngestLimits::default()
        };
        let check = |body: &str, want: &str| {
            let err = json_push(body, &limits).unwrap_err().to_string();
            assert!(err.contains(want), "{body}: {err}");
        };
        check(
            r#"{"streams":[{"stream":{"a":"1"},"values":[["1","too long"]]}]}"#,
            "max_line_size_bytes",
        );
        check(
            r#"{"streams":[{"stream":{"a":"1","b":"2","c":"3"},"values":[]}]}"#,
            "max_label_names_per_series",
        );
        check(
            r#"{"streams":[{"stream":{"1a":"1"},"values":[]}]}"#,
            "invalid label name",
        );
        check(
            r#"{"streams":[{"stream":{},"values":[]}]}"#,
            "at least one label",
        );
        check(
            r#"{"streams":[{"stream":{"a":"1"},"values":[["soon","x"]]}]}"#,
            "invalid timestamp",
        );
        check(r#"{"streams":[{"stream":"#, "malformed");
    }

    #[test]
    fn protobuf_body_decodes() {
        use prost::Message;
        let req = proto::PushRequest {
            streams: vec![proto::StreamAdapter {
                labels: r#"{job="api"}"#.into(),
                entries: vec![proto::EntryAdapter {
                    timestamp: Some(proto::Timestamp {
                        seconds: 1_700_000_000,
                        nanos: 5,
                    }),
                    line: "hello".into(),
                    structured_metadata: vec![proto::LabelPairAdapter {
                        name: "user".into(),
                        value: "42".into(),
                    }],
                }],
                hash: 0,
            }],
        };
        let body = snap::raw::Encoder::new()
            .compress_vec(&req.encode_to_vec())
            .unwrap();
        let batch = decode(
            TenantId::default_tenant(),
            &body,
            Some("application/x-protobuf"),
            None,
            &IngestLimits::default(),
        )
        .unwrap();
        let entry = &batch.streams[0].entries[0];
        assert_eq!(entry.ts, 1_700_000_000_000_000_005);
        assert_eq!(entry.fields, vec![("user".into(), "42".into())]);
        let truncated = &body[..body.len() / 2];
        assert!(decode(
            TenantId::default_tenant(),
            truncated,
            None,
            None,
            &IngestLimits::default()
        )
        .is_err());
    }
}
