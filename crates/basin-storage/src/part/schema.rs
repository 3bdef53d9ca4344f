//! Column layout of a part (format version 5: template columns added).
//!
//! Fixed columns start with `_`; each field (structured metadata key) has a
//! column of its own, named after it. A field whose name starts with `_` is
//! stored as `_f` + name, so it cannot collide with a fixed column.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, TimeUnit};

use super::line_codec::{var_column, TEMPLATE};

/// Entry time, nanoseconds, UTC.
pub const TIME: &str = "_time";
/// Stream id (hash of the label text).
pub const STREAM_ID: &str = "_stream_id";
/// Stream label text, for readers outside Basin (dictionary-encoded, so cheap).
pub const STREAM: &str = "_stream";
/// The log line.
pub const LINE: &str = "_line";
/// The line's pattern id (0: not mined); from format version 4.
pub const PATTERN_ID: &str = "_pattern_id";

const ESCAPE: &str = "_f";

/// The column that holds field `name`.
pub fn field_column(name: &str) -> String {
    if name.starts_with('_') {
        format!("{ESCAPE}{name}")
    } else {
        name.to_string()
    }
}

/// Whether a column belongs to the line's template encoding (`_tpl`, `_v0`, ...).
pub fn is_line_column(column: &str) -> bool {
    column == TEMPLATE
        || column
            .strip_prefix("_v")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The field a column holds, or `None` for a fixed column.
pub fn column_field(column: &str) -> Option<&str> {
    if let Some(rest) = column.strip_prefix(ESCAPE) {
        if rest.starts_with('_') {
            return Some(rest);
        }
    }
    (!column.starts_with('_')).then_some(column)
}

/// The schema of a part holding the given fields (sorted), with the
/// template columns for `vars` variables when lines are stored as templates
/// (see [`super::line_codec`]).
pub fn part_schema(field_names: &[String], vars: Option<usize>) -> Arc<Schema> {
    let mut fields = vec![
        Field::new(
            TIME,
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            false,
        ),
        Field::new(STREAM_ID, DataType::UInt64, false),
        Field::new(STREAM, DataType::Utf8, false),
        Field::new(LINE, DataType::Utf8, vars.is_some()),
        Field::new(PATTERN_ID, DataType::UInt64, false),
    ];
    fields.extend(
        field_names
            .iter()
            .map(|name| Field::new(field_column(name), DataType::Utf8, true)),
    );
    if let Some(n) = vars {
        fields.push(Field::new(TEMPLATE, DataType::UInt32, false));
        fields.extend((0..n).map(|i| Field::new(var_column(i), DataType::Utf8, true)));
    }
    Arc::new(Schema::new(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_round_trip() {
        for name in ["trace_id", "_private", "__error__", "f", "_f"] {
            let column = field_column(name);
            assert_eq!(column_field(&column), Some(name), "{name} as {column}");
        }
        for fixed in [TIME, STREAM_ID, STREAM, LINE, TEMPLATE, "_v0", "_v12"] {
            assert_eq!(column_field(fixed), None);
        }
        assert!(is_line_column("_v12") && is_line_column(TEMPLATE));
        assert!(!is_line_column("_v") && !is_line_column("_vx") && !is_line_column("v1"));
    }
}
