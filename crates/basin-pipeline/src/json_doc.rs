//! JSON documents as entries: the time taken from a time key, nested objects
//! flattened into fields with label-safe names (`http.request.method` becomes
//! `http_request_method`), arrays kept as JSON text. Shared by the pipeline's
//! JSON format and the NDJSON, Elasticsearch bulk and `basin import` paths,
//! so they agree on every rule.

use basin_model::{sanitize_label_name, Entry};
use serde_json::{Map, Value};

use basin_model::level::{level_from_value, LEVEL_FIELD};

/// Keys a document's time is read from when none is named, in order.
pub const TIME_KEYS: [&str; 5] = ["timestamp", "time", "ts", "@timestamp", "_time"];

/// Deepest nesting flattened; deeper objects are kept as JSON text.
pub const MAX_FLATTEN_DEPTH: usize = 8;

/// Most fields taken from one document; the rest stay in the line only.
pub const MAX_FIELDS: usize = 256;

/// How a document becomes an entry.
#[derive(Debug, Clone, Copy)]
pub struct DocRules<'a> {
    /// Keys to read the time from, first found wins.
    pub time_keys: &'a [&'a str],
    /// Keys whose string value becomes the line; none found: the whole
    /// document is the line.
    pub message_keys: &'a [&'a str],
}

impl Default for DocRules<'_> {
    fn default() -> Self {
        Self {
            time_keys: &TIME_KEYS,
            message_keys: &[],
        }
    }
}

/// An entry from a JSON object: `text` is the object as sent, kept as the line
/// unless a message key holds a string; `now` is the time when none is found.
pub fn doc_to_entry(
    object: &Map<String, Value>,
    text: &str,
    rules: DocRules<'_>,
    now: i64,
) -> Entry {
    let ts = rules
        .time_keys
        .iter()
        .find_map(|k| object.get(*k).and_then(json_time_ns))
        .unwrap_or(now);
    let message = rules
        .message_keys
        .iter()
        .find_map(|k| object.get(*k).and_then(Value::as_str).map(|m| (*k, m)));
    let mut fields = Vec::new();
    for (key, value) in object {
        if message.is_some_and(|(k, _)| k == key) {
            continue;
        }
        flatten_into(&sanitize_label_name(key), value, 1, &mut fields);
    }
    normalise_level(&mut fields);
    Entry {
        ts,
        line: message.map_or_else(|| text.to_string(), |(_, m)| m.to_string()),
        fields,
        pattern_id: 0,
    }
}

/// Flattened field names a document's level is read from, in order.
const LEVEL_KEYS: [&str; 6] = [
    "level",
    "log_level",
    "severity",
    "lvl",
    "loglevel",
    "levelname",
];

/// The normalised level of the first level-like field (`log_level: "ERROR"`
/// gives `error`), if its spelling is known.
pub fn level_of_fields(fields: &[(String, String)]) -> Option<&'static str> {
    LEVEL_KEYS.iter().find_map(|key| {
        fields
            .iter()
            .find(|(name, _)| name == key)
            .and_then(|(_, value)| level_from_value(value))
    })
}

/// Sets the `level` field to [`level_of_fields`]; unknown spellings are left
/// as sent.
fn normalise_level(fields: &mut Vec<(String, String)>) {
    if let Some(level) = level_of_fields(fields) {
        fields.retain(|(name, _)| name != LEVEL_FIELD);
        fields.push((LEVEL_FIELD.to_string(), level.to_string()));
    }
}

/// Moves the fields named by `paths` (dotted, as in the document) out of
/// `fields` into label pairs.
pub fn take_label_fields(
    fields: &mut Vec<(String, String)>,
    paths: &[String],
) -> Vec<(String, String)> {
    let mut labels = Vec::new();
    for path in paths {
        let name = sanitize_label_name(&path.replace('.', "_"));
        if let Some(pos) = fields.iter().position(|(n, _)| *n == name) {
            labels.push(fields.remove(pos));
        }
    }
    labels
}

/// Adds `value` under `name` to `fields`, objects as `name_key` recursively.
pub fn flatten_into(name: &str, value: &Value, depth: usize, fields: &mut Vec<(String, String)>) {
    if fields.len() >= MAX_FIELDS {
        return;
    }
    match value {
        Value::Object(map) if depth < MAX_FLATTEN_DEPTH && !map.is_empty() => {
            for (key, inner) in map {
                let joined = format!("{name}_{}", sanitize_label_name(key));
                flatten_into(&joined, inner, depth + 1, fields);
            }
        }
        Value::Null => {}
        Value::String(s) => fields.push((name.to_string(), s.clone())),
        other => fields.push((name.to_string(), other.to_string())),
    }
}

/// A JSON time: RFC 3339 text, or epoch seconds/millis/micros/nanos by size.
pub fn json_time_ns(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .and_then(|t| t.timestamp_nanos_opt())
            .or_else(|| s.trim().parse::<f64>().ok().and_then(epoch_to_ns)),
        // Integers keep every digit: nanoseconds do not fit an f64 exactly.
        Value::Number(n) => match n.as_i64() {
            Some(i) if i >= 100_000_000_000_000_000 => Some(i),
            _ => n.as_f64().and_then(epoch_to_ns),
        },
        _ => None,
    }
}

/// Epoch seconds, millis, micros or nanos, told apart by magnitude.
pub fn epoch_to_ns(n: f64) -> Option<i64> {
    if !n.is_finite() || n <= 0.0 {
        return None;
    }
    let ns = if n < 1e11 {
        n * 1e9
    } else if n < 1e14 {
        n * 1e6
    } else if n < 1e17 {
        n * 1e3
    } else {
        n
    };
    Some(ns as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str, rules: DocRules<'_>) -> Entry {
        let Value::Object(object) = serde_json::from_str(text).unwrap() else {
            panic!("not an object: {text}");
        };
        doc_to_entry(&object, text, rules, 7)
    }

    #[test]
    fn nested_objects_flatten_and_time_is_read() {
        let text = r#"{"ts":"2023-11-14T22:13:20Z","level":"info","http":{"request":{"method":"POST"},"status":200},"tags":["a","b"],"gone":null}"#;
        let e = entry(text, DocRules::default());
        assert_eq!(e.ts, 1_700_000_000_000_000_000);
        assert_eq!(e.line, text);
        let get = |k: &str| {
            e.fields
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("http_request_method"), Some("POST"));
        assert_eq!(get("http_status"), Some("200"));
        assert_eq!(get("tags"), Some(r#"["a","b"]"#));
        assert_eq!(get("level"), Some("info"));
        assert_eq!(get("gone"), None);
        let e = entry(r#"{"log":{"level":"WARNING"}}"#, DocRules::default());
        assert!(
            e.fields.contains(&("level".into(), "warn".into())),
            "{:?}",
            e.fields
        );
    }

    #[test]
    fn message_key_becomes_the_line() {
        let rules = DocRules {
            message_keys: &["message", "msg"],
            ..DocRules::default()
        };
        let e = entry(r#"{"msg":"hello","n":1}"#, rules);
        assert_eq!(e.line, "hello");
        assert_eq!(e.ts, 7, "no time key: the fallback time");
        assert_eq!(e.fields, vec![("n".to_string(), "1".to_string())]);
    }

    #[test]
    fn depth_and_count_are_capped() {
        let mut deep = String::from("1");
        for i in 0..12 {
            deep = format!(r#"{{"k{i}":{deep}}}"#);
        }
        let e = entry(&deep, DocRules::default());
        assert_eq!(e.fields.len(), 1);
        assert!(e.fields[0].1.starts_with('{'), "{:?}", e.fields);
        let wide: Vec<String> = (0..1000).map(|i| format!(r#""f{i}":{i}"#)).collect();
        let e = entry(&format!("{{{}}}", wide.join(",")), DocRules::default());
        assert_eq!(e.fields.len(), MAX_FIELDS);
    }

    #[test]
    fn epoch_units() {
        let check = |n: f64, want: i64| assert_eq!(epoch_to_ns(n), Some(want), "{n}");
        check(1_700_000_000.0, 1_700_000_000_000_000_000);
        check(1_700_000_000_000.0, 1_700_000_000_000_000_000);
        check(1_700_000_000_000_000.0, 1_700_000_000_000_000_000);
        check(1.7e18, 1_700_000_000_000_000_000);
    }
}
