//! Log levels normalised to `trace|debug|info|warn|error|fatal`, whatever
//! spelling or number the sender used, so one `| level="error"` finds them all.

/// The field every protocol stores the normalised level under.
pub const LEVEL_FIELD: &str = "level";

/// The label Loki 3 shows a line's level under (`discover_log_levels`):
/// Grafana's log volume histogram and Logs Drilldown group and filter by it.
pub const DETECTED_LEVEL_LABEL: &str = "detected_level";

/// What `detected_level` says of a line with no level, as in Loki.
pub const UNKNOWN_LEVEL: &str = "unknown";

/// Level spellings and what they mean, compared without regard to case.
const SPELLINGS: [(&str, &str); 31] = [
    ("info", "info"),
    ("error", "error"),
    ("warn", "warn"),
    ("debug", "debug"),
    ("warning", "warn"),
    ("trace", "trace"),
    ("fatal", "fatal"),
    ("err", "error"),
    ("inf", "info"),
    ("dbg", "debug"),
    ("wrn", "warn"),
    ("trc", "trace"),
    ("ftl", "fatal"),
    ("eror", "error"),
    ("information", "info"),
    ("informational", "info"),
    ("notice", "info"),
    ("severe", "error"),
    ("failure", "error"),
    ("critical", "fatal"),
    ("crit", "fatal"),
    ("alert", "fatal"),
    ("emerg", "fatal"),
    ("emergency", "fatal"),
    ("panic", "fatal"),
    ("finest", "trace"),
    ("finer", "trace"),
    ("fine", "debug"),
    ("config", "debug"),
    ("t", "trace"),
    ("d", "debug"),
];

/// One-letter spellings beyond `t` and `d`.
const LETTERS: [(&str, &str); 4] = [("i", "info"), ("w", "warn"), ("e", "error"), ("f", "fatal")];

/// A level from its text: `WARNING`, `Err`, `crit`, `E`, `notice`...
/// (no allocation: it runs on every line's header words).
pub fn level_from_text(text: &str) -> Option<&'static str> {
    let text = text.trim();
    if text.len() > "informational".len() {
        return None;
    }
    SPELLINGS
        .iter()
        .chain(LETTERS.iter())
        .find(|(spelling, _)| spelling.eq_ignore_ascii_case(text))
        .map(|(_, level)| *level)
}

/// A level from a field's value: a spelling ([`level_from_text`]) or a
/// number as Node's pino and Bunyan write them (10 trace, 20 debug, 30 info,
/// 40 warn, 50 error, 60 fatal) or as a syslog severity (0-7). Only for
/// values of level fields: a bare number in a line's header is no level.
pub fn level_from_value(text: &str) -> Option<&'static str> {
    if let Some(level) = level_from_text(text) {
        return Some(level);
    }
    match text.trim().parse::<u8>().ok()? {
        n @ 0..=7 => level_from_syslog_severity(n),
        10 => Some("trace"),
        20 => Some("debug"),
        30 => Some("info"),
        40 => Some("warn"),
        50 => Some("error"),
        60 => Some("fatal"),
        _ => None,
    }
}

/// A level from an OpenTelemetry severity number (1-4 trace ... 21-24 fatal).
pub fn level_from_otlp_severity(number: i32) -> Option<&'static str> {
    let level = match number {
        1..=4 => "trace",
        5..=8 => "debug",
        9..=12 => "info",
        13..=16 => "warn",
        17..=20 => "error",
        21..=24 => "fatal",
        _ => return None,
    };
    Some(level)
}

/// A level from a syslog severity (0 emergency ... 7 debug).
pub fn level_from_syslog_severity(severity: u8) -> Option<&'static str> {
    let level = match severity {
        0..=2 => "fatal",
        3 => "error",
        4 => "warn",
        5 | 6 => "info",
        7 => "debug",
        _ => return None,
    };
    Some(level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_normalise() {
        for (text, want) in [
            ("WARNING", Some("warn")),
            ("Err", Some("error")),
            ("crit", Some("fatal")),
            (" info ", Some("info")),
            ("notice", Some("info")),
            ("verbose-ish", None),
        ] {
            assert_eq!(level_from_text(text), want, "{text}");
        }
    }

    #[test]
    fn numbers_normalise() {
        assert_eq!(level_from_otlp_severity(9), Some("info"));
        assert_eq!(level_from_otlp_severity(17), Some("error"));
        assert_eq!(level_from_otlp_severity(24), Some("fatal"));
        assert_eq!(level_from_otlp_severity(0), None);
        assert_eq!(level_from_syslog_severity(3), Some("error"));
        assert_eq!(level_from_syslog_severity(6), Some("info"));
        assert_eq!(level_from_syslog_severity(8), None);
        assert_eq!(level_from_value("30"), Some("info"));
        assert_eq!(level_from_value("50"), Some("error"));
        assert_eq!(level_from_value("60"), Some("fatal"));
        assert_eq!(level_from_value("10"), Some("trace"));
        assert_eq!(level_from_value("3"), Some("error"));
        assert_eq!(level_from_value("Warning"), Some("warn"));
        assert_eq!(level_from_value("35"), None);
        assert_eq!(level_from_value("-1"), None);
        assert_eq!(level_from_text("30"), None, "numbers only as field values");
    }
}
