//! Apache httpd error logs: 2.2's `[Sun Dec 04 04:47:44 2005] [error]
//! [client 1.2.3.4] message` and 2.4's `[Wed Oct 11 14:32:52.123456 2000]
//! [core:error] [pid 1234:tid 5678] [client 1.2.3.4:5678] AH00037: message`.

use std::sync::LazyLock;

use basin_model::level::level_from_text;
use regex::Regex;

static HEADER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}(?:\.\d+)? \d{4}\] ",
        r"\[(?:(?P<module>[\w-]+):)?(?P<level>[a-z]+)\d?\]",
        r"(?: \[pid (?P<pid>\d+)(?::tid (?P<tid>\d+))?\])?",
        r"(?: \[client (?P<client>[^\]]+)\])?",
        r"(?: (?P<code>AH\d{5}):)?",
    ))
    .ok()
});

/// The level and header fields (`module`, `pid`, `tid`, `client`,
/// `error_code`) of an Apache error log line, or `None`.
pub fn parse(line: &str) -> Option<(&'static str, Vec<(String, String)>)> {
    let caps = HEADER.as_ref()?.captures(line)?;
    let level = level_from_text(caps.name("level")?.as_str())?;
    let fields = [
        ("module", "module"),
        ("pid", "pid"),
        ("tid", "tid"),
        ("client", "client"),
        ("code", "error_code"),
    ]
    .iter()
    .filter_map(|(group, name)| {
        caps.name(group)
            .map(|m| (name.to_string(), m.as_str().to_string()))
    })
    .collect();
    Some((level, fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_versions() {
        let (level, fields) = parse("[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 1234:tid 5678] [client 10.0.0.1:5678] AH00037: Symbolic link not allowed").unwrap();
        assert_eq!(level, "error");
        assert_eq!(
            fields,
            [
                ("module".to_string(), "core".to_string()),
                ("pid".to_string(), "1234".to_string()),
                ("tid".to_string(), "5678".to_string()),
                ("client".to_string(), "10.0.0.1:5678".to_string()),
                ("error_code".to_string(), "AH00037".to_string()),
            ]
        );
        let (level, fields) =
            parse("[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties").unwrap();
        assert_eq!(level, "info");
        assert!(fields.is_empty());
        let (level, _) = parse("[Sun Dec 04 04:47:44 2005] [trace3] x").unwrap();
        assert_eq!(level, "trace");
        assert!(parse("[Sun Dec 04 04:47:44 2005] [whatever] x").is_none());
        assert!(parse("[2024-05-01 12:00:00] [error] x").is_none());
    }
}
