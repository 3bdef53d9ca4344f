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

/// Which variable a column `_v{n}` holds.
pub fn var_index(column: &str) -> Option<usize> {
    column
        .strip_prefix("_v")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse().ok())
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

/// The coarsest unit every time of a part is a whole number of, and the
/// nanoseconds in it. Times in seconds, milliseconds or microseconds (what
/// most sources send) then take fewer bits between rows than nanoseconds.
pub fn time_unit(times: impl Iterator<Item = i64>) -> (TimeUnit, i64) {
    let mut scale = 1_000_000_000;
    for ts in times {
        while scale > 1 && ts % scale != 0 {
            scale /= 1000;
        }
        if scale == 1 {
            break;
        }
    }
    match scale {
        1_000_000_000 => (TimeUnit::Second, scale),
        1_000_000 => (TimeUnit::Millisecond, scale),
        1_000 => (TimeUnit::Microsecond, scale),
        _ => (TimeUnit::Nanosecond, 1),
    }
}

/// The schema of a part holding the given fields (sorted), with times in
/// `unit`, and the template columns for `vars` variables when lines are
/// stored as templates (see [`super::line_codec`]).
pub fn part_schema(field_names: &[String], unit: TimeUnit, vars: Option<usize>) -> Arc<Schema> {
    let mut fields = vec![
        Field::new(TIME, DataType::Timestamp(unit, Some("UTC".into())), false),
        Field::new(STREAM_ID, DataType::UInt64, false),
        Field::new(STREAM, DataType::Utf8, false),
        Field::new(LINE, DataType::Utf8, vars.is_some()),
        // Null in templated parts where the skeleton's id applies.
        Field::new(PATTERN_ID, DataType::UInt64, vars.is_some()),
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
    fn times_take_the_coarsest_unit_that_holds_them() {
        let unit = |times: &[i64]| time_unit(times.iter().copied());
        assert_eq!(unit(&[]), (TimeUnit::Second, 1_000_000_000));
        assert_eq!(
            unit(&[3_000_000_000, -2_000_000_000]),
            (TimeUnit::Second, 1_000_000_000)
        );
        assert_eq!(
            unit(&[3_000_000_000, 5_000_000]),
            (TimeUnit::Millisecond, 1_000_000)
        );
        assert_eq!(
            unit(&[1_767_225_600_086_400_000]),
            (TimeUnit::Microsecond, 1_000)
        );
        assert_eq!(unit(&[1_000, 7]), (TimeUnit::Nanosecond, 1));
    }

    #[test]
    fn field_names_round_trip() {
        for name in ["trace_id", "_private", "__error__", "f", "_f"] {
            let column = field_column(name);
            assert_eq!(column_field(&column), Some(name), "{name} as {column}");
        }
        for fixed in [TIME, STREAM_ID, STREAM, LINE, TEMPLATE, "_v0", "_v12"] {
            assert_eq!(column_field(fixed), None);
        }
        assert_eq!(var_index("_v12"), Some(12));
        assert!(
            var_index("_v").is_none() && var_index("_vx").is_none() && var_index("v1").is_none()
        );
    }
}
