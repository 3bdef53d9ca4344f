//! Three modes ([`ParseMode`]): off (the default), levels only, or fields. Fields mode is auto-detection: each entry's line is parsed in its stream's format, found
//! by trying every format on the stream's lines and remembered per stream; a
//! line the remembered format does not fit is detected again. Extracted
//! fields join the entry's fields (what the sender sent wins on a clash), the
//! format's name is stored as `log_format`, and `level` is set, normalised,
//! from the format or the line's header.

use std::collections::HashMap;
use std::sync::Mutex;

use basin_model::level::{level_from_value, LEVEL_FIELD};
use basin_model::{PushBatch, StreamId, TenantId};
use chrono::{DateTime, Utc};

use crate::formats::{Format, Parsed, ALL};
use crate::level::find_level;

/// The field holding the detected format's name.
pub const FORMAT_FIELD: &str = "log_format";

/// Streams whose format is remembered at most; past this the memory is
/// cleared and formats are found again (a cheap bound, not an LRU).
const MAX_REMEMBERED: usize = 100_000;

/// How much the pipeline looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParseMode {
    /// Nothing: entries are stored as sent (the default until levels have
    /// their own column: as a field, a level costs two heap strings per entry).
    #[default]
    Off,
    /// Only the level (from a `level` field or the line's header), normalised.
    Levels,
    /// Formats, their fields, `log_format` and the level.
    Fields,
}

/// Finds formats, levels and fields in every entry of a batch.
#[derive(Debug, Default)]
pub struct AutoParse {
    mode: ParseMode,
    formats: Mutex<HashMap<(TenantId, StreamId), Option<Format>>>,
}

impl AutoParse {
    /// A pipeline looking for what `mode` asks.
    pub fn new(mode: ParseMode) -> Self {
        Self {
            mode,
            formats: Mutex::default(),
        }
    }

    /// Adds what can be found in each entry of `batch` to its fields.
    pub fn process(&self, batch: &mut PushBatch) {
        match self.mode {
            ParseMode::Off => {}
            ParseMode::Levels => {
                for entry in batch.streams.iter_mut().flat_map(|s| s.entries.iter_mut()) {
                    set_level(&mut entry.fields, &entry.line, None);
                }
            }
            ParseMode::Fields => self.parse_fields(batch),
        }
    }

    fn parse_fields(&self, batch: &mut PushBatch) {
        let now = Utc::now();
        // The lock is held only to read and record formats, not while
        // parsing, so concurrent pushes parse in parallel.
        let keys: Vec<(TenantId, StreamId)> = batch
            .streams
            .iter()
            .map(|s| (batch.tenant.clone(), s.labels.stream_id()))
            .collect();
        let remembered: Vec<Option<Format>> = {
            let formats = self.lock();
            keys.iter()
                .map(|k| formats.get(k).copied().flatten())
                .collect()
        };
        let mut found = Vec::with_capacity(keys.len());
        for (stream, mut known) in batch.streams.iter_mut().zip(remembered) {
            for entry in &mut stream.entries {
                let level = match detect(&entry.line, known, now) {
                    Some((format, parsed)) => {
                        known = Some(format);
                        add_fields(&mut entry.fields, parsed.fields);
                        add_fields(
                            &mut entry.fields,
                            vec![(FORMAT_FIELD.into(), format.name().into())],
                        );
                        parsed.level
                    }
                    None => None,
                };
                set_level(&mut entry.fields, &entry.line, level);
            }
            found.push(known);
        }
        let mut formats = self.lock();
        if formats.len() > MAX_REMEMBERED {
            formats.clear();
        }
        formats.extend(keys.into_iter().zip(found));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(TenantId, StreamId), Option<Format>>> {
        self.formats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The format `line` is in, trying `known` first, and what it yields.
pub fn detect(line: &str, known: Option<Format>, now: DateTime<Utc>) -> Option<(Format, Parsed)> {
    known
        .and_then(|f| f.parse(line, now).map(|p| (f, p)))
        .or_else(|| {
            ALL.iter()
                .filter(|f| Some(**f) != known)
                .find_map(|f| f.parse(line, now).map(|p| (*f, p)))
        })
}

/// Everything fields mode would add to an entry with no fields: the format's
/// fields, `log_format` and the normalised level. The query engine calls this
/// when a label filter names a field the entry was stored without, so plain
/// filters work on streams ingested with `auto_parse: off`.
pub fn extract(line: &str, now: DateTime<Utc>) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let level = detect(line, None, now).and_then(|(format, parsed)| {
        add_fields(&mut fields, parsed.fields);
        add_fields(
            &mut fields,
            vec![(FORMAT_FIELD.into(), format.name().into())],
        );
        parsed.level
    });
    set_level(&mut fields, line, level);
    fields
}

/// Adds fields whose names the entry did not come with. Only those names are
/// checked (a parser rarely yields a name twice; JSON's `{"a_b":1,"a":{"b":2}}`
/// can, and then the part's column keeps the last).
fn add_fields(to: &mut Vec<(String, String)>, fields: Vec<(String, String)>) {
    let sent = to.len();
    for (name, value) in fields {
        if !to[..sent].iter().any(|(n, _)| *n == name) {
            to.push((name, value));
        }
    }
}

/// Normalises a `level` the entry has, or sets one from `found` or the header.
fn set_level(fields: &mut Vec<(String, String)>, line: &str, found: Option<&'static str>) {
    if let Some((_, value)) = fields.iter_mut().find(|(n, _)| n == LEVEL_FIELD) {
        if let Some(level) = level_from_value(value) {
            *value = level.to_string();
        }
        return;
    }
    let level = found.or_else(|| find_level(line).map(|f| f.level));
    if let Some(level) = level {
        fields.push((LEVEL_FIELD.to_string(), level.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use basin_model::{Entry, Labels, StreamBatch};

    use super::*;

    fn run(lines: &[&str]) -> Vec<Vec<(String, String)>> {
        let mut batch = PushBatch {
            tenant: TenantId::default_tenant(),
            streams: vec![StreamBatch {
                labels: Labels::parse(r#"{job="web"}"#).unwrap(),
                entries: lines.iter().map(|l| Entry::new(1, *l)).collect(),
            }],
        };
        AutoParse::new(ParseMode::Fields).process(&mut batch);
        batch.streams[0]
            .entries
            .iter()
            .map(|e| e.fields.clone())
            .collect()
    }

    fn get<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn every_format_is_found() {
        let out = run(&[
            r#"10.0.0.1 - - [01/May/2024:12:00:00 +0000] "POST /api HTTP/1.1" 503 17 "-" "curl/8""#,
            r#"{"level":"ERROR","http":{"request":{"method":"POST"}}}"#,
            r#"ts=2024-05-01T12:00:00Z level=warning msg="slow""#,
            "2024-05-01 12:00:00,123 ERROR [main] com.shop.Checkout: failed\n\tat x",
            "<11>1 2024-05-01T12:00:00Z db-1 postgres 77 - - refused",
            "just some words",
            "WARN: disk almost full",
            r#"2024-05-01T12:00:00.1Z stderr F {"level":"warn","msg":"retry"}"#,
            r#"{"log":"E0501 12:00:00.123456 1 main.go:9] boom\n","stream":"stderr","time":"2024-05-01T12:00:00Z"}"#,
            "[Wed Oct 11 14:32:52.123456 2000] [ssl:warn] [pid 9] AH01909: no cert",
        ]);
        assert_eq!(get(&out[0], "status"), Some("503"));
        assert_eq!(get(&out[0], "log_format"), Some("access_combined"));
        assert_eq!(get(&out[1], "http_request_method"), Some("POST"));
        assert_eq!(get(&out[1], "level"), Some("error"));
        assert_eq!(get(&out[2], "level"), Some("warn"));
        assert_eq!(get(&out[2], "log_format"), Some("logfmt"));
        assert_eq!(get(&out[3], "logger"), Some("com.shop.Checkout"));
        assert_eq!(get(&out[3], "level"), Some("error"));
        assert_eq!(get(&out[4], "app_name"), Some("postgres"));
        assert_eq!(get(&out[4], "level"), Some("error"));
        assert!(out[5].is_empty(), "{:?}", out[5]);
        assert_eq!(out[6], vec![("level".to_string(), "warn".to_string())]);
        assert_eq!(get(&out[7], "log_format"), Some("cri"));
        assert_eq!(get(&out[7], "stream"), Some("stderr"));
        assert_eq!(get(&out[7], "msg"), Some("retry"));
        assert_eq!(get(&out[7], "level"), Some("warn"));
        assert_eq!(get(&out[8], "log_format"), Some("docker"));
        assert_eq!(get(&out[8], "source"), Some("main.go:9"));
        assert_eq!(get(&out[8], "level"), Some("error"));
        assert_eq!(get(&out[9], "log_format"), Some("apache_error"));
        assert_eq!(get(&out[9], "module"), Some("ssl"));
        assert_eq!(get(&out[9], "level"), Some("warn"));
    }

    #[test]
    fn levels_mode_sets_only_levels() {
        let mut batch = PushBatch {
            tenant: TenantId::default_tenant(),
            streams: vec![StreamBatch {
                labels: Labels::parse(r#"{job="x"}"#).unwrap(),
                entries: vec![
                    Entry::new(1, "2024-05-01 12:00:00 ERROR [main] a.B: boom"),
                    Entry::new(2, "a=1 b=2"),
                ],
            }],
        };
        AutoParse::new(ParseMode::Levels).process(&mut batch);
        let entries = &batch.streams[0].entries;
        assert_eq!(
            entries[0].fields,
            vec![("level".to_string(), "error".to_string())]
        );
        assert!(entries[1].fields.is_empty());
        AutoParse::new(ParseMode::Off).process(&mut batch);
    }

    #[test]
    fn sent_fields_win() {
        let mut batch = PushBatch {
            tenant: TenantId::default_tenant(),
            streams: vec![StreamBatch {
                labels: Labels::parse(r#"{job="x"}"#).unwrap(),
                entries: vec![Entry {
                    ts: 1,
                    line: "a=1 b=2 level=info".into(),
                    fields: vec![("a".into(), "sent".into()), ("level".into(), "ERR".into())],
                    pattern_id: 0,
                }],
            }],
        };
        AutoParse::new(ParseMode::Fields).process(&mut batch);
        let fields = &batch.streams[0].entries[0].fields;
        assert_eq!(get(fields, "a"), Some("sent"));
        assert_eq!(get(fields, "b"), Some("2"));
        assert_eq!(get(fields, "level"), Some("error"));
    }

    #[test]
    fn extract_gives_what_fields_mode_stores() {
        let now = Utc::now();
        let fields = extract(r#"ts=1 level=WARNING msg="slow disk""#, now);
        assert_eq!(get(&fields, "msg"), Some("slow disk"));
        assert_eq!(get(&fields, "level"), Some("warn"));
        assert_eq!(get(&fields, "log_format"), Some("logfmt"));
        assert_eq!(
            extract("FATAL: out of memory", now),
            vec![("level".to_string(), "fatal".to_string())]
        );
        assert!(extract("plain words", now).is_empty());
        // pino / Bunyan numeric levels.
        let fields = extract(r#"{"level":50,"time":1714564800000,"msg":"db down"}"#, now);
        assert_eq!(get(&fields, "level"), Some("error"));
        assert_eq!(
            get(&extract("ts=1 level=30 msg=ok", now), "level"),
            Some("info")
        );
    }
}
