//! Elasticsearch's bulk API (`/elasticsearch/_bulk`): NDJSON pairs of an
//! action line and a document line. `index` and `create` store the document;
//! the index name becomes the stream label `index`, configured fields become
//! labels too, and every other field, flattened, a field. The message field's
//! text is the line (the whole document when it has none).
//!
//! Items are judged one by one, as Elasticsearch does: an item breaking a
//! limit gets its own error status while the others are stored. A line that
//! is not JSON refuses the whole request, as it does in Elasticsearch.

use std::collections::HashMap;

use basin_model::{PushBatch, StreamBatch, TenantId};
use serde::ser::SerializeMap;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::stream::{check_line, validate_labels, RawLabels};
use crate::{IngestError, IngestLimits};
use basin_pipeline::json_doc::{doc_to_entry, take_label_fields, DocRules};

/// How bulk documents map onto entries.
#[derive(Debug, Clone)]
pub struct BulkOptions {
    /// Fields whose text is the line, first found wins.
    pub message_fields: Vec<String>,
    /// Fields holding the time, first found wins.
    pub time_fields: Vec<String>,
    /// Document fields (dotted paths) that become stream labels besides `index`.
    pub label_fields: Vec<String>,
    /// Index used when neither the path nor the action names one.
    pub default_index: String,
}

impl Default for BulkOptions {
    fn default() -> Self {
        Self {
            message_fields: vec!["message".into(), "msg".into(), "log".into()],
            time_fields: vec!["@timestamp".into(), "timestamp".into(), "time".into()],
            label_fields: Vec::new(),
            default_index: "default".into(),
        }
    }
}

impl BulkOptions {
    /// These options with per-request overrides: comma-separated field lists.
    pub fn with_overrides(
        &self,
        message_field: Option<&str>,
        time_field: Option<&str>,
        label_fields: Option<&str>,
    ) -> Self {
        let split = |s: &str| -> Vec<String> {
            s.split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(String::from)
                .collect()
        };
        Self {
            message_fields: message_field.map_or_else(|| self.message_fields.clone(), split),
            time_fields: time_field.map_or_else(|| self.time_fields.clone(), split),
            label_fields: label_fields.map_or_else(|| self.label_fields.clone(), split),
            default_index: self.default_index.clone(),
        }
    }
}

/// One item's outcome, in request order, for the bulk answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemResult {
    /// `index`, `create`, `update` or `delete`.
    pub action: String,
    /// The index it named.
    pub index: String,
    /// HTTP-like status: 201 stored, 400 refused.
    pub status: u16,
    /// Why it was refused.
    pub error: Option<String>,
}

/// A decoded bulk request: the batch to store and every item's outcome.
#[derive(Debug)]
pub struct BulkDecoded {
    /// The documents accepted.
    pub batch: PushBatch,
    /// Each item's outcome, in order.
    pub items: Vec<ItemResult>,
}

/// Decodes a bulk body; `path_index` is the index named in the URL path.
pub fn decode(
    tenant: TenantId,
    body: &[u8],
    path_index: Option<&str>,
    limits: &IngestLimits,
    options: &BulkOptions,
    now: i64,
) -> Result<BulkDecoded, IngestError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| IngestError::Malformed(format!("bulk body is not UTF-8: {e}")))?;
    let time_keys: Vec<&str> = options.time_fields.iter().map(String::as_str).collect();
    let message_keys: Vec<&str> = options.message_fields.iter().map(String::as_str).collect();
    let rules = DocRules {
        time_keys: &time_keys,
        message_keys: &message_keys,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    // Streams in order of first appearance, found by their label text.
    let mut streams: Vec<StreamBatch> = Vec::new();
    let mut stream_of: HashMap<Vec<(String, String)>, usize> = HashMap::new();
    let mut items = Vec::new();
    while let Some((n, action_line)) = lines.next() {
        let action: Map<String, Value> = serde_json::from_str(action_line).map_err(|e| {
            IngestError::Malformed(format!("bulk line {}: invalid action JSON: {e}", n + 1))
        })?;
        let Some((verb, meta)) = action.iter().next().filter(|_| action.len() == 1) else {
            return Err(IngestError::Malformed(format!(
                "bulk line {}: an action is an object with one key (index, create, update or delete)",
                n + 1
            )));
        };
        let index = meta
            .get("_index")
            .and_then(Value::as_str)
            .or(path_index)
            .unwrap_or(&options.default_index)
            .to_string();
        let mut item = ItemResult {
            action: verb.clone(),
            index: index.clone(),
            status: 201,
            error: None,
        };
        if verb == "delete" {
            item.status = 400;
            item.error = Some("delete is not supported: logs are append-only".into());
            items.push(item);
            continue;
        }
        let Some((m, doc_line)) = lines.next() else {
            return Err(IngestError::Malformed(format!(
                "bulk line {}: the {verb} action has no document line after it",
                n + 1
            )));
        };
        let doc: Map<String, Value> = serde_json::from_str(doc_line).map_err(|e| {
            IngestError::Malformed(format!("bulk line {}: invalid document JSON: {e}", m + 1))
        })?;
        if verb != "index" && verb != "create" {
            item.status = 400;
            item.error = Some(format!(
                "{verb} is not supported: use index or create (logs are append-only)"
            ));
            items.push(item);
            continue;
        }
        let mut entry = doc_to_entry(&doc, doc_line, rules, now);
        let mut pairs = vec![("index".to_string(), index)];
        pairs.extend(take_label_fields(&mut entry.fields, &options.label_fields));
        // Label sets repeat: each distinct one is checked once.
        let slot = match stream_of.get(&pairs) {
            Some(&slot) => Ok(slot),
            None => validate_labels(RawLabels::Pairs(pairs.clone()), limits).map(|labels| {
                streams.push(StreamBatch {
                    labels,
                    entries: Vec::new(),
                });
                stream_of.insert(pairs, streams.len() - 1);
                streams.len() - 1
            }),
        };
        let stored = slot.and_then(|slot| {
            check_line(&streams[slot].labels, &entry, limits)?;
            streams[slot].entries.push(entry);
            Ok(())
        });
        if let Err(e) = stored {
            item.status = 400;
            item.error = Some(e.to_string());
        }
        items.push(item);
    }
    Ok(BulkDecoded {
        batch: PushBatch { tenant, streams },
        items,
    })
}

/// The bulk answer Elasticsearch gives: `errors` and one entry per item,
/// as JSON bytes (written directly: a 5,000-item answer built as `Value`s cost
/// a tenth of the request's CPU).
pub fn response(items: &[ItemResult], took_ms: u64) -> Vec<u8> {
    let answer = Answer {
        took: took_ms,
        errors: items.iter().any(|i| i.error.is_some()),
        items: items.iter().map(AnswerItem).collect(),
    };
    serde_json::to_vec(&answer).unwrap_or_else(|_| b"{}".to_vec())
}

#[derive(Serialize)]
struct Answer<'a> {
    took: u64,
    errors: bool,
    items: Vec<AnswerItem<'a>>,
}

/// `{"<action>": {"_index": .., "status": .., "result"|"error": ..}}`.
struct AnswerItem<'a>(&'a ItemResult);

#[derive(Serialize)]
struct ItemBody<'a> {
    _index: &'a str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ItemError<'a>>,
}

#[derive(Serialize)]
struct ItemError<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    reason: &'a str,
}

impl Serialize for AnswerItem<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let item = self.0;
        let body = ItemBody {
            _index: &item.index,
            status: item.status,
            result: item.error.is_none().then_some("created"),
            error: item.error.as_deref().map(|reason| ItemError {
                kind: "illegal_argument_exception",
                reason,
            }),
        };
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(&item.action, &body)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_body(body: &str, options: &BulkOptions) -> Result<BulkDecoded, IngestError> {
        decode(
            TenantId::default_tenant(),
            body.as_bytes(),
            None,
            &IngestLimits {
                max_line_size_bytes: 100,
                ..IngestLimits::default()
            },
            options,
            5,
        )
    }

    #[test]
    fn documents_become_entries() {
        let body = r#"{"index":{"_index":"app-logs"}}
{"@timestamp":"2023-11-14T22:13:20Z","message":"user login","host":{"name":"web-1"},"status":200}
{"create":{"_index":"app-logs"}}
{"message":"no time here","service":"api"}
"#;
        let options = BulkOptions {
            label_fields: vec!["service".into()],
            ..BulkOptions::default()
        };
        let decoded = decode_body(body, &options).unwrap();
        assert!(decoded.items.iter().all(|i| i.status == 201));
        let streams: Vec<String> = decoded
            .batch
            .streams
            .iter()
            .map(|s| s.labels.to_string())
            .collect();
        assert_eq!(
            streams,
            [
                r#"{index="app-logs"}"#,
                r#"{index="app-logs", service="api"}"#
            ]
        );
        let first = &decoded.batch.streams[0].entries[0];
        assert_eq!(first.ts, 1_700_000_000_000_000_000);
        assert_eq!(first.line, "user login");
        assert!(first.fields.contains(&("host_name".into(), "web-1".into())));
        assert!(first.fields.contains(&("status".into(), "200".into())));
        assert_eq!(decoded.batch.streams[1].entries[0].ts, 5);
    }

    #[test]
    fn items_fail_alone_and_bad_json_fails_all() {
        let long = "x".repeat(200);
        let body = format!(
            "{{\"index\":{{}}}}\n{{\"message\":\"{long}\"}}\n{{\"delete\":{{\"_id\":\"1\"}}}}\n{{\"index\":{{}}}}\n{{\"message\":\"ok\"}}\n"
        );
        let decoded = decode_body(&body, &BulkOptions::default()).unwrap();
        let statuses: Vec<u16> = decoded.items.iter().map(|i| i.status).collect();
        assert_eq!(statuses, [400, 400, 201]);
        assert_eq!(decoded.batch.entry_count(), 1);
        let answer: Value = serde_json::from_slice(&response(&decoded.items, 1)).unwrap();
        assert_eq!(answer["errors"], true);
        assert_eq!(answer["items"][2]["index"]["status"], 201);
        assert!(answer["items"][0]["index"]["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("max_line_size_bytes"));
        for bad in [
            "{\"index\":{}}\n{\"message\": \"unterminated\n",
            "not json\n",
            "{\"index\":{}}\n",
            "{\"index\":{},\"create\":{}}\n{}\n",
        ] {
            assert!(
                decode_body(bad, &BulkOptions::default()).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn overrides_replace_field_names() {
        let options = BulkOptions::default().with_overrides(Some("text"), Some("at"), None);
        let decoded = decode_body(
            "{\"index\":{}}\n{\"text\":\"hi\",\"at\":1700000000}\n",
            &options,
        )
        .unwrap();
        let entry = &decoded.batch.streams[0].entries[0];
        assert_eq!(entry.line, "hi");
        assert_eq!(entry.ts, 1_700_000_000_000_000_000);
    }
}
