//! Syslog lines as files and forwarders keep them: `Jun 14 15:16:01 host
//! app[pid]: message` (RFC 3164 without its `<PRI>`, as in /var/log), and
//! lines that still start with one (`<34>1 2024-... host app ...`).

use std::sync::LazyLock;

use basin_model::level::{level_from_syslog_severity, LEVEL_FIELD};
use regex::Regex;

use crate::timestamp::year_before;

static FILE_LINE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} \d{2}:\d{2}:\d{2} ",
        r"(?P<hostname>[\w.\-]+) (?P<app_name>[^\s\[:]+)(?:\[(?P<procid>\d+)\])?: "
    ))
    .ok()
});

/// The header fields of a syslog line, or `None`.
pub fn parse(line: &str) -> Option<Vec<(String, String)>> {
    if line.starts_with('<') {
        return with_pri(line);
    }
    let caps = FILE_LINE.as_ref()?.captures(line)?;
    Some(
        ["hostname", "app_name", "procid"]
            .iter()
            .filter_map(|n| {
                caps.name(n)
                    .map(|m| (n.to_string(), m.as_str().to_string()))
            })
            .collect(),
    )
}

fn with_pri(line: &str) -> Option<Vec<(String, String)>> {
    let m = syslog_loose::parse_message_with_year_exact(
        line,
        |(month, day, ..)| year_before(chrono::Utc::now(), month, day),
        syslog_loose::Variant::Either,
    )
    .ok()?;
    let mut fields = Vec::new();
    let mut add = |name: &str, value: Option<&str>| {
        if let Some(v) = value.filter(|v| *v != "-" && !v.is_empty()) {
            fields.push((name.to_string(), v.to_string()));
        }
    };
    add("hostname", m.hostname);
    add("app_name", m.appname);
    add("msgid", m.msgid);
    let procid = m.procid.as_ref().map(ToString::to_string);
    add("procid", procid.as_deref());
    add("facility", m.facility.map(|f| f.as_str()));
    add("severity", m.severity.map(|s| s.as_str()));
    if let Some(level) = m.severity.and_then(|s| level_from_syslog_severity(s as u8)) {
        fields.push((LEVEL_FIELD.to_string(), level.to_string()));
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_lines_and_pri_lines() {
        let f =
            parse("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure").unwrap();
        assert_eq!(
            f,
            vec![
                ("hostname".into(), "combo".into()),
                ("app_name".into(), "sshd(pam_unix)".into()),
                ("procid".into(), "19939".into())
            ]
        );
        let f =
            parse("<11>1 2024-05-01T12:00:00Z db-1 postgres 77 - - connection refused").unwrap();
        assert!(f.contains(&("level".into(), "error".into())));
        assert!(f.contains(&("app_name".into(), "postgres".into())));
        assert_eq!(parse("June is a month"), None);
        assert_eq!(parse("<not syslog"), None);
    }
}
