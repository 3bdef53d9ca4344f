//! Kubernetes container logs as the node writes them: CRI
//! (`2024-05-01T12:00:00.123456789Z stderr F message`, containerd and
//! CRI-O) and Docker's json-file (`{"log":"message\n","stream":"stderr",
//! "time":"..."}`). The wrapper gives `stream` (and CRI's `flags`, `P` for
//! a partial line); the message inside is detected again, so a JSON or
//! logfmt application log in a container still yields its own fields.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use regex::Regex;
use serde::Deserialize;

use super::{Format, Parsed, INNER};

static CRI: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}) (stdout|stderr) ([FP]) ").ok()
});

/// A Docker json-file record.
#[derive(Deserialize)]
struct DockerLine<'a> {
    #[serde(borrow)]
    log: std::borrow::Cow<'a, str>,
    stream: &'a str,
}

/// A CRI line's fields and the inner message's, or `None`.
pub fn parse_cri(line: &str, now: DateTime<Utc>) -> Option<Parsed> {
    let caps = CRI.as_ref()?.captures(line)?;
    let whole = caps.get(0)?;
    let mut fields = vec![
        ("stream".to_string(), caps[1].to_string()),
        ("flags".to_string(), caps[2].to_string()),
    ];
    Some(with_inner(&line[whole.end()..], now, &mut fields))
}

/// A Docker json-file line's fields and the inner message's, or `None`.
pub fn parse_docker(line: &str, now: DateTime<Utc>) -> Option<Parsed> {
    if !line.starts_with(r#"{"log":"#) {
        return None;
    }
    let record: DockerLine<'_> = serde_json::from_str(line).ok()?;
    let mut fields = vec![("stream".to_string(), record.stream.to_string())];
    Some(with_inner(
        record.log.trim_end_matches('\n'),
        now,
        &mut fields,
    ))
}

/// Adds what the message inside the wrapper yields (the wrapper's own
/// fields win) and names its format in `inner_format`.
fn with_inner(message: &str, now: DateTime<Utc>, fields: &mut Vec<(String, String)>) -> Parsed {
    let inner = INNER
        .iter()
        .find_map(|f| f.parse(message, now).map(|p| (*f, p)));
    let level = match inner {
        Some((format, parsed)) => {
            for (name, value) in parsed.fields {
                if !fields.iter().any(|(n, _)| *n == name) {
                    fields.push((name, value));
                }
            }
            fields.push(("inner_format".to_string(), Format::name(format).to_string()));
            parsed.level
        }
        None => crate::level::find_level(message).map(|f| f.level),
    };
    Parsed {
        fields: std::mem::take(fields),
        level,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(p: &'a Parsed, name: &str) -> Option<&'a str> {
        p.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn cri_lines() {
        let p = parse_cri(
            r#"2024-05-01T12:00:00.123456789Z stderr F {"level":"error","msg":"boom","user":{"id":7}}"#,
            Utc::now(),
        )
        .unwrap();
        assert_eq!(get(&p, "stream"), Some("stderr"));
        assert_eq!(get(&p, "flags"), Some("F"));
        assert_eq!(get(&p, "user_id"), Some("7"));
        assert_eq!(get(&p, "inner_format"), Some("json"));
        assert_eq!(p.level, Some("error"));
        let p = parse_cri(
            "2024-05-01T12:00:00+02:00 stdout P WARN partial line",
            Utc::now(),
        )
        .unwrap();
        assert_eq!(get(&p, "flags"), Some("P"));
        assert_eq!(p.level, Some("warn"));
        assert_eq!(get(&p, "inner_format"), None);
        assert!(parse_cri("2024-05-01T12:00:00Z stdin F x", Utc::now()).is_none());
        assert!(parse_cri("2024-05-01T12:00:00Z GET /", Utc::now()).is_none());
    }

    #[test]
    fn docker_json_file_lines() {
        let p = parse_docker(
            r#"{"log":"level=warn msg=\"disk slow\" took=3s\n","stream":"stdout","time":"2024-05-01T12:00:00.1Z"}"#,
            Utc::now(),
        )
        .unwrap();
        assert_eq!(get(&p, "stream"), Some("stdout"));
        assert_eq!(get(&p, "msg"), Some("disk slow"));
        assert_eq!(get(&p, "inner_format"), Some("logfmt"));
        assert_eq!(p.level, Some("warn"));
        assert!(parse_docker(r#"{"msg":"x"}"#, Utc::now()).is_none());
        assert!(parse_docker(r#"{"log":1,"stream":"stdout"}"#, Utc::now()).is_none());
    }
}
