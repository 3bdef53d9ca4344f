//! Request bodies of every ingest protocol, built from corpus records before a
//! benchmark's clock starts, so the sender's encoding cost stays out of it.

use std::collections::BTreeMap;

use basin_ingest::loki_push::proto;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use serde_json::{json, Map, Value};

/// The protocols a load run can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// Loki push, snappy protobuf.
    LokiProto,
    /// Loki push, JSON.
    LokiJson,
    /// OTLP/HTTP, protobuf.
    OtlpProto,
    /// OTLP/HTTP, JSON.
    OtlpJson,
    /// Elasticsearch bulk NDJSON.
    EsBulk,
    /// Basin's NDJSON/text endpoint.
    Ndjson,
    /// Syslog RFC 5424 over TCP, octet-counted.
    SyslogTcp,
}

impl Protocol {
    /// Path and content type of the request, or `None` for syslog (a socket).
    pub fn http(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            Self::LokiProto => ("/loki/api/v1/push", "application/x-protobuf"),
            Self::LokiJson => ("/loki/api/v1/push", "application/json"),
            Self::OtlpProto => ("/v1/logs", "application/x-protobuf"),
            Self::OtlpJson => ("/v1/logs", "application/json"),
            Self::EsBulk => ("/elasticsearch/_bulk", "application/x-ndjson"),
            Self::Ndjson => ("/api/v1/logs", "application/x-ndjson"),
            Self::SyslogTcp => return None,
        })
    }
}

/// One corpus line: time, stream number, text.
#[derive(Debug, Clone)]
pub struct Line {
    /// Nanoseconds since the epoch.
    pub ts: i64,
    /// Index into the stream label texts.
    pub stream: usize,
    /// The line.
    pub text: String,
}

/// One encoded request: its body, the URL query it needs, its lines and bytes.
#[derive(Debug)]
pub struct Body {
    /// What is sent.
    pub bytes: Vec<u8>,
    /// Query string to add to the path (NDJSON's labels), empty if none.
    pub query: String,
    /// Lines in it.
    pub lines: usize,
    /// Raw line bytes in it (each line plus a newline).
    pub raw: usize,
}

/// Label pairs of a label text such as `{env="prod", service="api"}`.
pub fn label_pairs(text: &str) -> Vec<(String, String)> {
    basin_model::Labels::parse(text)
        .map(|l| l.pairs().to_vec())
        .unwrap_or_default()
}

/// Encodes `lines` of one batch (one request) in `protocol`.
pub fn encode(protocol: Protocol, lines: &[Line], labels: &[Vec<(String, String)>]) -> Vec<Body> {
    let raw: usize = lines.iter().map(|l| l.text.len() + 1).sum();
    let by_stream = || {
        let mut map: BTreeMap<usize, Vec<&Line>> = BTreeMap::new();
        for line in lines {
            map.entry(line.stream).or_default().push(line);
        }
        map
    };
    let one = |bytes: Vec<u8>| {
        vec![Body {
            bytes,
            query: String::new(),
            lines: lines.len(),
            raw,
        }]
    };
    match protocol {
        Protocol::LokiProto => {
            let req = proto::PushRequest {
                streams: by_stream()
                    .into_iter()
                    .map(|(stream, entries)| proto::StreamAdapter {
                        labels: label_text(&labels[stream]),
                        entries: entries
                            .into_iter()
                            .map(|l| proto::EntryAdapter {
                                timestamp: Some(proto::Timestamp {
                                    seconds: l.ts.div_euclid(1_000_000_000),
                                    nanos: l.ts.rem_euclid(1_000_000_000) as i32,
                                }),
                                line: l.text.clone(),
                                structured_metadata: Vec::new(),
                            })
                            .collect(),
                        hash: 0,
                    })
                    .collect(),
            };
            one(snap::raw::Encoder::new()
                .compress_vec(&req.encode_to_vec())
                .unwrap_or_default())
        }
        Protocol::LokiJson => {
            let streams: Vec<Value> = by_stream()
                .into_iter()
                .map(|(stream, entries)| {
                    let values: Vec<Value> = entries
                        .into_iter()
                        .map(|l| json!([l.ts.to_string(), l.text]))
                        .collect();
                    json!({"stream": label_map(&labels[stream]), "values": values})
                })
                .collect();
            one(json!({ "streams": streams }).to_string().into_bytes())
        }
        Protocol::OtlpProto | Protocol::OtlpJson => {
            let req = ExportLogsServiceRequest {
                resource_logs: by_stream()
                    .into_iter()
                    .map(|(stream, entries)| otlp_resource(&labels[stream], &entries))
                    .collect(),
            };
            one(if protocol == Protocol::OtlpProto {
                req.encode_to_vec()
            } else {
                serde_json::to_vec(&req).unwrap_or_default()
            })
        }
        Protocol::EsBulk => {
            let mut out = Vec::with_capacity(raw * 2);
            for line in lines {
                let mut doc = label_map(&labels[line.stream]);
                let index = doc.remove("service").unwrap_or(Value::from("logs"));
                doc.insert("@timestamp".into(), Value::from(line.ts));
                doc.insert("message".into(), Value::from(line.text.as_str()));
                out.extend_from_slice(json!({"create": {"_index": index}}).to_string().as_bytes());
                out.push(b'\n');
                out.extend_from_slice(Value::Object(doc).to_string().as_bytes());
                out.push(b'\n');
            }
            one(out)
        }
        // NDJSON takes one label set per request: one body per stream.
        Protocol::Ndjson => by_stream()
            .into_iter()
            .map(|(stream, entries)| {
                let mut bytes = Vec::new();
                for l in &entries {
                    // A multi-line entry would split into several lines.
                    bytes.extend_from_slice(l.text.replace('\n', " ").as_bytes());
                    bytes.push(b'\n');
                }
                Body {
                    query: format!("labels={}", percent(&label_text(&labels[stream]))),
                    lines: entries.len(),
                    raw: entries.iter().map(|l| l.text.len() + 1).sum(),
                    bytes,
                }
            })
            .collect(),
        Protocol::SyslogTcp => {
            let mut out = Vec::with_capacity(raw * 2);
            for line in lines {
                let pairs = &labels[line.stream];
                let get = |k: &str| {
                    pairs
                        .iter()
                        .find(|(n, _)| n == k)
                        .map_or("-", |(_, v)| v.as_str())
                };
                let secs = line.ts.div_euclid(1_000_000_000);
                let micros = line.ts.rem_euclid(1_000_000_000) / 1000;
                let time = chrono::DateTime::from_timestamp(secs, (micros * 1000) as u32)
                    .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
                    .unwrap_or_else(|| "-".into());
                let msg = format!(
                    "<14>1 {time} {} {} - - - {}",
                    get("pod"),
                    get("service"),
                    line.text
                );
                out.extend_from_slice(format!("{} {msg}", msg.len()).as_bytes());
            }
            one(out)
        }
    }
}

/// OTLP names for the corpus's labels, so they map back onto stream labels.
fn otlp_key(label: &str) -> &str {
    match label {
        "service" => "service.name",
        "env" => "deployment.environment",
        "pod" => "k8s.pod.name",
        other => other,
    }
}

fn otlp_resource(labels: &[(String, String)], entries: &[&Line]) -> ResourceLogs {
    let text = |s: &str| {
        Some(AnyValue {
            value: Some(any_value::Value::StringValue(s.to_string())),
        })
    };
    ResourceLogs {
        resource: Some(Resource {
            attributes: labels
                .iter()
                .map(|(k, v)| KeyValue {
                    key: otlp_key(k).to_string(),
                    value: text(v),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        scope_logs: vec![ScopeLogs {
            log_records: entries
                .iter()
                .map(|l| LogRecord {
                    time_unix_nano: l.ts as u64,
                    body: text(&l.text),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn label_text(pairs: &[(String, String)]) -> String {
    let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

fn label_map(pairs: &[(String, String)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect()
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protocol_encodes_every_line() {
        let labels = vec![label_pairs(r#"{env="prod", pod="p1", service="api"}"#)];
        let lines: Vec<Line> = (0..3)
            .map(|i| Line {
                ts: 1_700_000_000_000_000_000 + i,
                stream: 0,
                text: format!("line {i}"),
            })
            .collect();
        for protocol in [
            Protocol::LokiProto,
            Protocol::LokiJson,
            Protocol::OtlpProto,
            Protocol::OtlpJson,
            Protocol::EsBulk,
            Protocol::Ndjson,
            Protocol::SyslogTcp,
        ] {
            let bodies = encode(protocol, &lines, &labels);
            assert_eq!(
                bodies.iter().map(|b| b.lines).sum::<usize>(),
                3,
                "{protocol:?}"
            );
            assert!(bodies.iter().all(|b| !b.bytes.is_empty()), "{protocol:?}");
        }
        let syslog = &encode(Protocol::SyslogTcp, &lines, &labels)[0].bytes;
        assert!(String::from_utf8_lossy(syslog)
            .starts_with("53 <14>1 2023-11-14T22:13:20.000000Z p1 api - - - line 0"));
    }
}
