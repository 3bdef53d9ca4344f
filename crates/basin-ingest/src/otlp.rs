//! OTLP logs over HTTP (`/v1/logs`), protobuf or JSON, mapped as Loki maps them:
//! chosen resource attributes become stream labels (`service.name` →
//! `service_name`), every other attribute a field; trace and span ids, severity
//! text and number are kept as fields, and the severity sets `level`.
//!
//! A record that breaks a limit is rejected alone and counted in the
//! response's `partial_success`; a body that cannot be decoded stores nothing.

use std::collections::HashSet;

use basin_model::{sanitize_label_name, Entry, PushBatch, StreamBatch, TenantId};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use prost::Message;
use serde_json::Value;

use crate::decompress::decode_content_encoding;
use crate::stream::{check_line, validate_labels, RawLabels};
use crate::{IngestError, IngestLimits};
use basin_model::level::{level_from_otlp_severity, level_from_text, LEVEL_FIELD};

/// Resource attributes that become stream labels by default: Loki's list.
pub const DEFAULT_RESOURCE_LABELS: [&str; 18] = [
    "service.name",
    "service.namespace",
    "service.instance.id",
    "deployment.environment",
    "deployment.environment.name",
    "cloud.region",
    "cloud.availability_zone",
    "k8s.cluster.name",
    "k8s.namespace.name",
    "k8s.pod.name",
    "k8s.container.name",
    "container.name",
    "k8s.replicaset.name",
    "k8s.deployment.name",
    "k8s.statefulset.name",
    "k8s.daemonset.name",
    "k8s.cronjob.name",
    "k8s.job.name",
];

/// The label every OTLP stream gets, `unknown_service` when the resource has
/// no `service.name` (as Loki does).
const SERVICE_LABEL: &str = "service_name";

/// How OTLP resources map onto streams.
#[derive(Debug, Clone)]
pub struct OtlpOptions {
    /// Resource attribute names (as sent, dotted) that become stream labels.
    pub resource_labels: Vec<String>,
}

impl Default for OtlpOptions {
    fn default() -> Self {
        Self {
            resource_labels: DEFAULT_RESOURCE_LABELS
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

/// The two OTLP/HTTP body encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpEncoding {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json`.
    Json,
}

impl OtlpEncoding {
    /// The encoding a `Content-Type` names; OTLP/HTTP allows only these two.
    pub fn of(content_type: Option<&str>) -> Result<Self, IngestError> {
        let ct = content_type.unwrap_or("").trim().to_ascii_lowercase();
        if ct.starts_with("application/x-protobuf") || ct.starts_with("application/protobuf") {
            Ok(Self::Protobuf)
        } else if ct.starts_with("application/json") {
            Ok(Self::Json)
        } else {
            Err(IngestError::UnsupportedContentType {
                got: content_type.unwrap_or("").to_string(),
                expected: "application/x-protobuf or application/json",
            })
        }
    }

    /// The `Content-Type` of answers in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Protobuf => "application/x-protobuf",
            Self::Json => "application/json",
        }
    }
}

/// What a request carried: the accepted entries and the rejected count.
#[derive(Debug)]
pub struct OtlpDecoded {
    /// The records accepted, by stream.
    pub batch: PushBatch,
    /// Records refused, each for a limit it broke.
    pub rejected: u64,
    /// Why the first refused record was refused.
    pub first_rejection: Option<String>,
}

/// Decodes an OTLP logs request body.
pub fn decode(
    tenant: TenantId,
    body: &[u8],
    encoding: OtlpEncoding,
    content_encoding: Option<&str>,
    limits: &IngestLimits,
    options: &OtlpOptions,
) -> Result<OtlpDecoded, IngestError> {
    let body = decode_content_encoding(body, content_encoding, limits.max_request_size_bytes)?;
    let request = match encoding {
        OtlpEncoding::Protobuf => ExportLogsServiceRequest::decode(&body[..])
            .map_err(|e| IngestError::Malformed(format!("invalid OTLP protobuf: {e}")))?,
        OtlpEncoding::Json => serde_json::from_slice(&body)
            .map_err(|e| IngestError::Malformed(format!("invalid OTLP JSON: {e}")))?,
    };
    let label_keys: HashSet<&str> = options.resource_labels.iter().map(String::as_str).collect();
    let mut decoded = OtlpDecoded {
        batch: PushBatch {
            tenant,
            streams: Vec::new(),
        },
        rejected: 0,
        first_rejection: None,
    };
    let reject = |decoded: &mut OtlpDecoded, count: u64, why: &IngestError| {
        decoded.rejected += count;
        decoded
            .first_rejection
            .get_or_insert_with(|| why.to_string());
    };
    for resource_logs in request.resource_logs {
        let attributes = resource_logs
            .resource
            .map(|r| r.attributes)
            .unwrap_or_default();
        let mut labels = Vec::new();
        let mut resource_fields = Vec::new();
        for kv in &attributes {
            if label_keys.contains(kv.key.as_str()) {
                labels.push((sanitize_label_name(&kv.key), value_text(kv.value.as_ref())));
            } else {
                add_attribute(kv, "", &mut resource_fields);
            }
        }
        if !labels.iter().any(|(name, _)| name == SERVICE_LABEL) {
            labels.push((SERVICE_LABEL.to_string(), "unknown_service".to_string()));
        }
        let records: usize = resource_logs
            .scope_logs
            .iter()
            .map(|s| s.log_records.len())
            .sum();
        let labels = match validate_labels(RawLabels::Pairs(labels), limits) {
            Ok(labels) => labels,
            Err(e) => {
                reject(&mut decoded, records as u64, &e);
                continue;
            }
        };
        let mut entries = Vec::with_capacity(records);
        for scope_logs in resource_logs.scope_logs {
            let mut scope_fields = resource_fields.clone();
            if let Some(scope) = &scope_logs.scope {
                if !scope.name.is_empty() {
                    scope_fields.push(("scope_name".into(), scope.name.clone()));
                }
                if !scope.version.is_empty() {
                    scope_fields.push(("scope_version".into(), scope.version.clone()));
                }
                for kv in &scope.attributes {
                    add_attribute(kv, "", &mut scope_fields);
                }
            }
            for record in scope_logs.log_records {
                let entry = record_to_entry(record, &scope_fields);
                match check_line(&labels, &entry, limits) {
                    Ok(()) => entries.push(entry),
                    Err(e) => reject(&mut decoded, 1, &e),
                }
            }
        }
        if !entries.is_empty() {
            decoded.batch.streams.push(StreamBatch { labels, entries });
        }
    }
    Ok(decoded)
}

/// The success answer, with `partial_success` when records were refused.
pub fn response_body(encoding: OtlpEncoding, rejected: u64, why: Option<&str>) -> Vec<u8> {
    let response = ExportLogsServiceResponse {
        partial_success: (rejected > 0).then(|| ExportLogsPartialSuccess {
            rejected_log_records: rejected as i64,
            error_message: why.unwrap_or_default().to_string(),
        }),
    };
    match encoding {
        OtlpEncoding::Protobuf => response.encode_to_vec(),
        OtlpEncoding::Json => serde_json::to_vec(&response).unwrap_or_else(|_| b"{}".to_vec()),
    }
}

/// `google.rpc.Status`, the body OTLP/HTTP error answers carry.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// An error answer's body: a `google.rpc.Status` with `INVALID_ARGUMENT`.
pub fn status_body(encoding: OtlpEncoding, message: &str) -> Vec<u8> {
    const INVALID_ARGUMENT: i32 = 3;
    match encoding {
        OtlpEncoding::Protobuf => RpcStatus {
            code: INVALID_ARGUMENT,
            message: message.to_string(),
        }
        .encode_to_vec(),
        OtlpEncoding::Json => serde_json::json!({"code": INVALID_ARGUMENT, "message": message})
            .to_string()
            .into_bytes(),
    }
}

fn record_to_entry(record: LogRecord, scope_fields: &[(String, String)]) -> Entry {
    let ts = if record.time_unix_nano != 0 {
        record.time_unix_nano
    } else if record.observed_time_unix_nano != 0 {
        record.observed_time_unix_nano
    } else {
        now_ns()
    };
    let mut fields = scope_fields.to_vec();
    for kv in &record.attributes {
        add_attribute(kv, "", &mut fields);
    }
    if !record.trace_id.is_empty() {
        fields.push(("trace_id".into(), hex(&record.trace_id)));
    }
    if !record.span_id.is_empty() {
        fields.push(("span_id".into(), hex(&record.span_id)));
    }
    if !record.event_name.is_empty() {
        fields.push(("event_name".into(), record.event_name.clone()));
    }
    if !record.severity_text.is_empty() {
        fields.push(("severity_text".into(), record.severity_text.clone()));
    }
    if record.severity_number != 0 {
        fields.push(("severity_number".into(), record.severity_number.to_string()));
    }
    let level = level_from_otlp_severity(record.severity_number)
        .or_else(|| level_from_text(&record.severity_text));
    if let Some(level) = level {
        fields.retain(|(name, _)| name != LEVEL_FIELD);
        fields.push((LEVEL_FIELD.into(), level.into()));
    }
    Entry {
        ts: i64::try_from(ts).unwrap_or(i64::MAX),
        line: value_text(record.body.as_ref()),
        fields: keep_last_of_each_name(fields),
        pattern_id: 0,
    }
}

/// Adds an attribute as fields; a key-value list nests into `key_inner` names.
fn add_attribute(kv: &KeyValue, prefix: &str, fields: &mut Vec<(String, String)>) {
    let name = format!("{prefix}{}", sanitize_label_name(&kv.key));
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::KvlistValue(list)) => {
            let prefix = format!("{name}_");
            for inner in &list.values {
                add_attribute(inner, &prefix, fields);
            }
        }
        None => {}
        Some(_) => fields.push((name, value_text(kv.value.as_ref()))),
    }
}

/// A value as text: strings as they are, everything else as JSON.
fn value_text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        _ => to_json(value).to_string(),
    }
}

fn to_json(value: Option<&AnyValue>) -> Value {
    let Some(value) = value.and_then(|v| v.value.as_ref()) else {
        return Value::Null;
    };
    match value {
        any_value::Value::StringValue(s) => Value::String(s.clone()),
        any_value::Value::BoolValue(b) => Value::Bool(*b),
        any_value::Value::IntValue(i) => Value::from(*i),
        any_value::Value::DoubleValue(d) => Value::from(*d),
        any_value::Value::BytesValue(b) => Value::String(hex(b)),
        any_value::Value::ArrayValue(a) => {
            Value::Array(a.values.iter().map(|v| to_json(Some(v))).collect())
        }
        any_value::Value::KvlistValue(l) => Value::Object(
            l.values
                .iter()
                .map(|kv| (kv.key.clone(), to_json(kv.value.as_ref())))
                .collect(),
        ),
        any_value::Value::StringValueStrindex(i) => Value::from(*i),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Fields with one value per name: a record's attribute wins over its
/// resource's or scope's of the same name, as it comes later.
fn keep_last_of_each_name(fields: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut seen = HashSet::new();
    let mut kept: Vec<(String, String)> = fields
        .into_iter()
        .rev()
        .filter(|(name, _)| seen.insert(name.clone()))
        .collect();
    kept.reverse();
    kept
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValueList};
    use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::resource::v1::Resource;

    use super::*;

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    fn text(s: &str) -> any_value::Value {
        any_value::Value::StringValue(s.into())
    }

    fn request(lines: &[&str]) -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![
                        kv("service.name", text("checkout")),
                        kv("host.name", text("web-1")),
                    ],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "app.payments".into(),
                        ..Default::default()
                    }),
                    log_records: lines
                        .iter()
                        .map(|line| LogRecord {
                            time_unix_nano: 1_700_000_000_000_000_123,
                            severity_number: 17,
                            severity_text: "ERROR".into(),
                            body: Some(AnyValue {
                                value: Some(text(line)),
                            }),
                            attributes: vec![
                                kv("user.id", any_value::Value::IntValue(42)),
                                kv(
                                    "http",
                                    any_value::Value::KvlistValue(KeyValueList {
                                        values: vec![kv("method", text("POST"))],
                                    }),
                                ),
                            ],
                            trace_id: vec![0xab; 16],
                            span_id: vec![0x01; 8],
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn decode_proto(body: &[u8], limits: &IngestLimits) -> Result<OtlpDecoded, IngestError> {
        decode(
            TenantId::default_tenant(),
            body,
            OtlpEncoding::Protobuf,
            None,
            limits,
            &OtlpOptions::default(),
        )
    }

    #[test]
    fn records_map_to_labels_and_fields() {
        let body = request(&["card declined"]).encode_to_vec();
        let decoded = decode_proto(&body, &IngestLimits::default()).unwrap();
        assert_eq!(decoded.rejected, 0);
        let stream = &decoded.batch.streams[0];
        assert_eq!(stream.labels.to_string(), r#"{service_name="checkout"}"#);
        let entry = &stream.entries[0];
        assert_eq!(entry.ts, 1_700_000_000_000_000_123);
        assert_eq!(entry.line, "card declined");
        let get = |k: &str| {
            entry
                .fields
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("host_name"), Some("web-1"));
        assert_eq!(get("scope_name"), Some("app.payments"));
        assert_eq!(get("user_id"), Some("42"));
        assert_eq!(get("http_method"), Some("POST"));
        assert_eq!(get("trace_id"), Some("abababababababababababababababab"));
        assert_eq!(get("span_id"), Some("0101010101010101"));
        assert_eq!(get("severity_text"), Some("ERROR"));
        assert_eq!(get("level"), Some("error"));
    }

    #[test]
    fn json_encoding_decodes_the_same() {
        let req = request(&["card declined"]);
        let json = serde_json::to_vec(&req).unwrap();
        assert!(String::from_utf8_lossy(&json).contains("\"traceId\":\"abab"));
        let from_json = decode(
            TenantId::default_tenant(),
            &json,
            OtlpEncoding::Json,
            None,
            &IngestLimits::default(),
            &OtlpOptions::default(),
        )
        .unwrap();
        let from_proto = decode_proto(&req.encode_to_vec(), &IngestLimits::default()).unwrap();
        assert_eq!(from_json.batch, from_proto.batch);
    }

    #[test]
    fn a_long_record_is_rejected_alone() {
        let limits = IngestLimits {
            max_line_size_bytes: 10,
            ..IngestLimits::default()
        };
        let body = request(&["short", "far too long for the limit"]).encode_to_vec();
        let decoded = decode_proto(&body, &limits).unwrap();
        assert_eq!(decoded.rejected, 1);
        assert_eq!(decoded.batch.entry_count(), 1);
        assert!(decoded
            .first_rejection
            .unwrap()
            .contains("max_line_size_bytes"));
        let answer = ExportLogsServiceResponse::decode(
            response_body(OtlpEncoding::Protobuf, 1, Some("why")).as_slice(),
        )
        .unwrap();
        assert_eq!(answer.partial_success.unwrap().rejected_log_records, 1);
    }

    #[test]
    fn bad_bodies_are_refused() {
        let body = request(&["x"]).encode_to_vec();
        assert!(decode_proto(&body[..body.len() - 3], &IngestLimits::default()).is_err());
        let err = decode(
            TenantId::default_tenant(),
            b"{\"resourceLogs\": 5}",
            OtlpEncoding::Json,
            None,
            &IngestLimits::default(),
            &OtlpOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("invalid OTLP JSON"), "{err}");
        assert!(OtlpEncoding::of(Some("text/plain")).is_err());
        assert_eq!(
            OtlpEncoding::of(Some("application/json; charset=utf-8")).unwrap(),
            OtlpEncoding::Json
        );
    }

    #[test]
    fn missing_service_name_is_unknown_service() {
        let mut req = request(&["x"]);
        req.resource_logs[0].resource = None;
        let decoded = decode_proto(&req.encode_to_vec(), &IngestLimits::default()).unwrap();
        assert_eq!(
            decoded.batch.streams[0].labels.to_string(),
            r#"{service_name="unknown_service"}"#
        );
    }
}
