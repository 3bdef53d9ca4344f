//! Web server access logs: the common and combined log formats of Apache and
//! nginx (`127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0"
//! 200 2326 "referer" "agent"`), field names as nginx's variables.

use std::sync::LazyLock;

use regex::Regex;

static ACCESS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r#"^(?P<remote_addr>\S+) \S+ (?P<remote_user>\S+) \[(?P<time_local>[^\]]+)\] "#,
        r#""(?P<method>[A-Z]+) (?P<path>\S+)(?: (?P<protocol>[^"]*))?" "#,
        r#"(?P<status>\d{3}) (?P<body_bytes_sent>\d+|-)"#,
        r#"(?: "(?P<http_referer>[^"]*)" "(?P<http_user_agent>[^"]*)")?"#,
    ))
    .ok()
});

/// Which of the two layouts a line has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// With referer and user agent.
    Combined,
    /// Without.
    Common,
}

/// The fields of an access-log line and its layout, or `None`.
pub fn parse(line: &str) -> Option<(Layout, Vec<(String, String)>)> {
    let caps = ACCESS.as_ref()?.captures(line)?;
    let names = [
        "remote_addr",
        "remote_user",
        "method",
        "path",
        "protocol",
        "status",
        "body_bytes_sent",
        "http_referer",
        "http_user_agent",
    ];
    let fields = names
        .iter()
        .filter_map(|name| {
            caps.name(name)
                .map(|m| m.as_str())
                .filter(|v| !v.is_empty() && *v != "-")
                .map(|v| (name.to_string(), v.to_string()))
        })
        .collect();
    let layout = if caps.name("http_user_agent").is_some() {
        Layout::Combined
    } else {
        Layout::Common
    };
    Some((layout, fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_and_common() {
        let (layout, f) = parse(r#"10.0.0.1 - - [01/May/2024:12:00:00 +0000] "POST /api/orders HTTP/1.1" 502 173 "-" "curl/8.0""#).unwrap();
        assert_eq!(layout, Layout::Combined);
        assert!(f.contains(&("status".into(), "502".into())));
        assert!(f.contains(&("method".into(), "POST".into())));
        assert!(f.contains(&("http_user_agent".into(), "curl/8.0".into())));
        assert!(!f.iter().any(|(n, _)| n == "http_referer"), "- is no value");
        let (layout, f) = parse(
            r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326"#,
        )
        .unwrap();
        assert_eq!(layout, Layout::Common);
        assert!(f.contains(&("remote_user".into(), "frank".into())));
        assert_eq!(parse("GET /index.html 200"), None);
    }
}
