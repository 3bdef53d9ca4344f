//! Field detection for Grafana Logs Drilldown (`detected_fields`): which
//! parser reads a line, what fields it yields, and what type a field's
//! values have.

use basin_model::level::{DETECTED_LEVEL_LABEL, LEVEL_FIELD};

use crate::label_set::{LabelSet, Origin};
use crate::pipe_label_filter::parse_go_duration;
use crate::pipe_parse;
use crate::pipeline::detected_level;

/// The parser that reads `line` (`json` or `logfmt`) and the fields it yields.
pub fn detect_fields(line: &str) -> Option<(&'static str, Vec<(String, String)>)> {
    let trimmed = line.trim_start();
    let mut set = LabelSet::default();
    if trimmed.starts_with('{') {
        pipe_parse::json_all(line, &mut set);
        if !set.has_error() {
            return Some(("json", set.of(Origin::Parsed)));
        }
        return None;
    }
    if line.contains('=') {
        pipe_parse::logfmt(line, true, false, &[], None, &mut set);
        if !set.has_error() && !set.is_empty() {
            return Some(("logfmt", set.of(Origin::Parsed)));
        }
    }
    None
}

/// Loki's `detected_level` of a line with `labels`: the one it carries, its
/// `level` normalised, the level detection finds in it, or `unknown`.
pub fn line_level(line: &str, ts: i64, labels: &LabelSet) -> String {
    if let Some(level) = labels.get(DETECTED_LEVEL_LABEL) {
        return level.to_string();
    }
    if let Some(level) = labels.get(LEVEL_FIELD) {
        return detected_level(Some(level));
    }
    let now = chrono::DateTime::from_timestamp_nanos(ts);
    let found = basin_pipeline::auto::extract(line, now)
        .into_iter()
        .find(|(name, _)| name == LEVEL_FIELD);
    detected_level(found.as_ref().map(|(_, v)| v.as_str()))
}

/// Loki's field types: `int`, `float`, `boolean`, `duration`, `bytes`, `string`.
pub fn field_type<'a>(values: impl IntoIterator<Item = &'a str>) -> &'static str {
    let mut kinds = [true; 5];
    let mut any = false;
    for v in values {
        any = true;
        let v = v.trim();
        kinds[0] &= v.parse::<i64>().is_ok();
        kinds[1] &= v.parse::<f64>().is_ok();
        kinds[2] &= matches!(v, "true" | "false");
        kinds[3] &= v.parse::<f64>().is_err() && parse_go_duration(v).is_some();
        kinds[4] &= v.parse::<f64>().is_err() && basin_logql::parse_bytes(v).is_some();
    }
    if !any {
        return "string";
    }
    ["int", "float", "boolean", "duration", "bytes"]
        .iter()
        .zip(kinds)
        .find(|(_, ok)| *ok)
        .map_or("string", |(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects() {
        let (parser, fields) = detect_fields(r#"{"a":1,"b":{"c":"x"}}"#).unwrap();
        assert_eq!(parser, "json");
        assert_eq!(
            fields,
            [("a".into(), "1".into()), ("b_c".into(), "x".into())]
        );
        let (parser, _) = detect_fields("level=info msg=\"hi\"").unwrap();
        assert_eq!(parser, "logfmt");
        assert!(detect_fields("plain words").is_none());
        assert_eq!(field_type(["1", "2"]), "int");
        assert_eq!(field_type(["1.5", "2"]), "float");
        assert_eq!(field_type(["true"]), "boolean");
        assert_eq!(field_type(["10ms", "1s"]), "duration");
        assert_eq!(field_type(["10KB"]), "bytes");
        assert_eq!(field_type(["GET"]), "string");
    }
}
