//! Application log headers: a time, a level, then optionally a `[thread]` and
//! a logger name, as Log4j/Logback, Python logging and most frameworks write
//! (`2024-05-01 12:00:00,123 ERROR [main] com.shop.Checkout: payment failed`).
//! Continuation lines (stack traces) stay in the entry's line.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use regex::Regex;

use crate::level::find_level;
use crate::timestamp::find_timestamp;

/// Go klog's header after its level letter and time: thread id and source.
static KLOG: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+ +(\d+) ([^\s:\]]+:\d+)\] ").ok()
});

/// Header fields of an application log line (`thread`, `logger`), with the
/// level, or `None` when the line does not start with a time and a level.
pub fn parse(line: &str, now: DateTime<Utc>) -> Option<(&'static str, Vec<(String, String)>)> {
    let first = line.lines().next().unwrap_or("");
    let time = find_timestamp(first, now)?;
    if time.start > 2 {
        return None;
    }
    let level = find_level(first)?;
    if let Some(caps) = KLOG.as_ref().and_then(|re| re.captures(first)) {
        let fields = vec![
            ("thread".to_string(), caps[1].to_string()),
            ("source".to_string(), caps[2].to_string()),
        ];
        return Some((level.level, fields));
    }
    let mut fields = Vec::new();
    // After the level word: `[thread] logger:` or `[thread] logger -`.
    let rest = first
        .find(level.word)
        .map(|at| &first[at + level.word.len()..])
        .unwrap_or("");
    let mut rest = rest.trim_start_matches([' ', ']', '-', ':']);
    if let Some(inner) = rest.strip_prefix('[') {
        if let Some(end) = inner.find(']') {
            fields.push(("thread".to_string(), inner[..end].to_string()));
            rest = inner[end + 1..].trim_start();
        }
    }
    let logger: &str = rest
        .split([' ', ':'])
        .next()
        .unwrap_or("")
        .trim_end_matches(['-', ':']);
    let logger_like = logger.len() > 1
        && logger.contains(['.', '$', '_'])
        && logger
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'$' | b'_'));
    if logger_like {
        fields.push(("logger".to_string(), logger.to_string()));
    }
    Some((level.level, fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc::now()
    }

    #[test]
    fn log4j_with_stack_trace() {
        let line = "2024-05-01 12:00:00,123 ERROR [http-nio-8080-exec-1] com.shop.Checkout: payment failed\njava.lang.IllegalStateException: card declined\n\tat com.shop.Checkout.pay(Checkout.java:42)";
        let (level, f) = parse(line, now()).unwrap();
        assert_eq!(level, "error");
        assert_eq!(
            f,
            vec![
                ("thread".into(), "http-nio-8080-exec-1".into()),
                ("logger".into(), "com.shop.Checkout".into())
            ]
        );
        let (level, f) = parse("2015-07-29 17:41:44,747 - WARN  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - Notification", now()).unwrap();
        assert_eq!(level, "warn");
        assert!(f.iter().any(|(n, _)| n == "thread"));
        assert_eq!(
            parse("payment failed at 2024-05-01 12:00:00 ERROR", now()),
            None
        );
    }

    #[test]
    fn other_headers() {
        let (level, f) = parse(
            "E0501 12:00:00.123456    4242 reconciler.go:318] failed to sync pod",
            now(),
        )
        .unwrap();
        assert_eq!(level, "error");
        assert_eq!(
            f,
            vec![
                ("thread".into(), "4242".into()),
                ("source".into(), "reconciler.go:318".into())
            ]
        );
        // Python logging's `%(asctime)s - %(name)s - %(levelname)s - %(message)s`.
        let (level, _) = parse(
            "2024-05-01 12:00:00,123 - billing.worker - CRITICAL - queue lost",
            now(),
        )
        .unwrap();
        assert_eq!(level, "fatal");
        // nginx error log.
        let (level, _) = parse(
            "2024/05/01 12:00:00 [error] 7#7: *1 connect() failed (111: Connection refused)",
            now(),
        )
        .unwrap();
        assert_eq!(level, "error");
    }
}
