//! `POST /api/v1/logs`: newline-delimited JSON objects or plain text lines,
//! for scripts, batch jobs and browsers. Stream labels come from the request
//! (`?labels={job="batch"}`) and optionally from fields of each object
//! (`?label_fields=app,env`); JSON objects are read as `basin import` reads
//! them (time from a time key, nested objects flattened into fields), text
//! lines get the arrival time, and continuation lines (stack traces) join
//! the entry before them.

use std::collections::HashMap;

use basin_model::{Labels, PushBatch, StreamBatch, TenantId};
use serde_json::{Map, Value};

use crate::stream::{check_line, validate_labels, RawLabels};
use crate::{IngestError, IngestLimits};
use basin_pipeline::json_doc::{doc_to_entry, take_label_fields, DocRules, TIME_KEYS};
use basin_pipeline::multiline::join_continuations;
use basin_pipeline::timestamp::find_timestamp;

/// Labels of lines sent without `?labels=`.
pub const DEFAULT_LABELS: &str = r#"{job="default"}"#;

/// What the request's parameters ask for.
#[derive(Debug, Clone, Default)]
pub struct LinesRequest<'a> {
    /// Stream labels, in LogQL selector form; [`DEFAULT_LABELS`] when absent.
    pub labels: Option<&'a str>,
    /// Comma-separated fields of JSON lines that become labels too.
    pub label_fields: Option<&'a str>,
    /// Comma-separated keys whose text becomes the line (default: the whole object).
    pub message_field: Option<&'a str>,
    /// Comma-separated keys to take the time from (default: [`TIME_KEYS`]).
    pub time_field: Option<&'a str>,
}

fn split(list: Option<&str>) -> Vec<&str> {
    list.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

/// Decodes a body of lines; any invalid line refuses the whole request.
/// A text line takes the time in its header (`basin_pipeline::timestamp`);
/// without one it gets `now`, each next line 1 ns more, so their order
/// survives.
pub fn decode(
    tenant: TenantId,
    body: &[u8],
    request: &LinesRequest<'_>,
    limits: &IngestLimits,
    now: i64,
) -> Result<PushBatch, IngestError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| IngestError::Malformed(format!("body is not UTF-8: {e}")))?;
    let base = Labels::parse(request.labels.unwrap_or(DEFAULT_LABELS)).map_err(|e| {
        IngestError::InvalidLabels {
            stream: request.labels.unwrap_or_default().to_string(),
            msg: format!("?labels= {e}"),
        }
    })?;
    let label_fields: Vec<String> = split(request.label_fields)
        .into_iter()
        .map(String::from)
        .collect();
    let message_keys = split(request.message_field);
    let time_keys = match split(request.time_field) {
        keys if keys.is_empty() => TIME_KEYS.to_vec(),
        keys => keys,
    };
    let rules = DocRules {
        time_keys: &time_keys,
        message_keys: &message_keys,
    };
    let mut streams: Vec<StreamBatch> = Vec::new();
    let mut stream_of: HashMap<String, usize> = HashMap::new();
    let mut clock = now;
    let received = chrono::DateTime::from_timestamp_nanos(now);
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        clock += 1;
        let object = line
            .trim_start()
            .starts_with('{')
            .then(|| serde_json::from_str::<Map<String, Value>>(line).ok())
            .flatten();
        let (entry, extra_labels) = match object {
            Some(object) => {
                let mut entry = doc_to_entry(&object, line, rules, clock);
                let extra = take_label_fields(&mut entry.fields, &label_fields);
                (entry, extra)
            }
            // A text line's own header time, when it has one (an old file
            // sent now keeps its times); else the receive clock.
            None => {
                let ts = find_timestamp(line, received).map_or(clock, |t| t.ns);
                (basin_model::Entry::new(ts, line), Vec::new())
            }
        };
        let labels = if extra_labels.is_empty() {
            base.clone()
        } else {
            let mut pairs = base.pairs().to_vec();
            pairs.retain(|(name, _)| !extra_labels.iter().any(|(n, _)| n == name));
            pairs.extend(extra_labels);
            validate_labels(RawLabels::Pairs(pairs), limits)?
        };
        check_line(&labels, &entry, limits)
            .map_err(|e| IngestError::Malformed(format!("line {}: {e}", n + 1)))?;
        let slot = *stream_of.entry(labels.to_string()).or_insert_with(|| {
            streams.push(StreamBatch {
                labels,
                entries: Vec::new(),
            });
            streams.len() - 1
        });
        streams[slot].entries.push(entry);
    }
    for stream in &mut streams {
        // Stack traces sent line by line become one entry again.
        join_continuations(&mut stream.entries, limits.max_line_size_bytes);
        stream.labels = validate_labels(RawLabels::Pairs(stream.labels.pairs().to_vec()), limits)?;
    }
    Ok(PushBatch { tenant, streams })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_lines(body: &str, request: &LinesRequest<'_>) -> Result<PushBatch, IngestError> {
        decode(
            TenantId::default_tenant(),
            body.as_bytes(),
            request,
            &IngestLimits {
                max_line_size_bytes: 80,
                ..IngestLimits::default()
            },
            1000,
        )
    }

    #[test]
    fn json_and_text_lines() {
        let body = "{\"ts\":1700000000,\"msg\":\"started\",\"app\":\"etl\",\"rows\":{\"read\":5}}\nplain text line\n\n{not json either\n";
        let request = LinesRequest {
            labels: Some(r#"{job="batch"}"#),
            label_fields: Some("app"),
            ..LinesRequest::default()
        };
        let batch = decode_lines(body, &request).unwrap();
        let labels: Vec<String> = batch.streams.iter().map(|s| s.labels.to_string()).collect();
        assert_eq!(labels, [r#"{app="etl", job="batch"}"#, r#"{job="batch"}"#]);
        let json = &batch.streams[0].entries[0];
        assert_eq!(json.ts, 1_700_000_000_000_000_000);
        assert!(json.fields.contains(&("rows_read".into(), "5".into())));
        assert!(!json.fields.iter().any(|(n, _)| n == "app"));
        let text = &batch.streams[1].entries;
        assert_eq!(text[0].line, "plain text line");
        assert_eq!(text[1].line, "{not json either");
        assert!(text[0].ts < text[1].ts, "text lines keep their order");
    }

    #[test]
    fn text_lines_keep_their_own_time() {
        let body = "2024-05-01T12:00:00.5Z GET /\n[Sun Dec 04 04:47:44 2005] [error] x\nno time\n";
        let batch = decode_lines(body, &LinesRequest::default()).unwrap();
        let ts: Vec<i64> = batch.streams[0].entries.iter().map(|e| e.ts).collect();
        assert_eq!(ts[0], 1_714_564_800_500_000_000);
        assert_eq!(ts[1], 1_133_671_664_000_000_000);
        assert_eq!(
            ts[2], 1003,
            "the receive clock (1000 in the test), third line"
        );
    }

    #[test]
    fn stack_traces_join() {
        // Joined entries stay within max_line_size_bytes (80 here).
        let body = "2024-05-01 12:00:00 ERROR f\njava.lang.Exception: x\n\tat a.B(B.java:1)\n\tat c.D(D.java:2)\nnext line\n";
        let batch = decode_lines(body, &LinesRequest::default()).unwrap();
        let lines: Vec<&str> = batch.streams[0]
            .entries
            .iter()
            .map(|e| e.line.as_str())
            .collect();
        assert_eq!(
            lines,
            [
                "2024-05-01 12:00:00 ERROR f\njava.lang.Exception: x\n\tat a.B(B.java:1)",
                "\tat c.D(D.java:2)",
                "next line"
            ]
        );
    }

    #[test]
    fn message_field_and_defaults() {
        let request = LinesRequest {
            message_field: Some("msg"),
            ..LinesRequest::default()
        };
        let batch = decode_lines("{\"msg\":\"hi\",\"n\":1}\n", &request).unwrap();
        assert_eq!(batch.streams[0].labels.to_string(), DEFAULT_LABELS);
        assert_eq!(batch.streams[0].entries[0].line, "hi");
    }

    #[test]
    fn bad_requests_are_refused() {
        let long = "y".repeat(100);
        let err = decode_lines(&format!("ok\n{long}\n"), &LinesRequest::default()).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let bad_labels = LinesRequest {
            labels: Some("{job=unquoted}"),
            ..LinesRequest::default()
        };
        assert!(decode_lines("x\n", &bad_labels).is_err());
        assert!(decode(
            TenantId::default_tenant(),
            b"\xff\xfe",
            &LinesRequest::default(),
            &IngestLimits::default(),
            0
        )
        .is_err());
    }
}
