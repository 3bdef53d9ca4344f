//! Multi-line entries: continuation lines (Java, Python and Go stack traces,
//! indented detail) joined to the entry they belong to, for sources that
//! deliver text line by line (`basin import`, text lines at `/api/v1/logs`).
//!
//! A line continues the previous entry when it has no time of its own at its
//! start and it is indented, or it is a stack-trace line (`Caused by:`,
//! `... 12 more`, `Traceback (most recent call last):`, an exception such as
//! `java.lang.IllegalStateException: x` or `ValueError: x`, `goroutine 1
//! [running]:`, `panic: x`, or a Go frame `main.main()`).

use std::sync::LazyLock;

use basin_model::Entry;
use chrono::Utc;
use regex::Regex;

use crate::timestamp::find_timestamp;

/// Most bytes one joined entry grows to; later continuations start entries.
pub const MAX_JOINED_BYTES: usize = 64 * 1024;

static TRACE_LINE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:Caused by: |Suppressed: |\.\.\. \d+ (?:more|common frames omitted)",
        r"|Traceback \(most recent call last\):|During handling of the above exception",
        r"|The above exception was the direct cause",
        r"|goroutine \d+ \[[^\]]+\]:$|panic: |created by ",
        r"|(?:[A-Za-z_][\w$]*\.)*[\w$]*(?:Error|Exception|Exit|Interrupt|Throwable)(?::|$)",
        r"|[a-z_][\w]*(?:/[\w.\-]+)*\.[\w.*()]+\(.*\)$)",
    ))
    .ok()
});

/// Whether `line` continues the entry before it.
pub fn is_continuation(line: &str) -> bool {
    if line.is_empty() {
        return false;
    }
    if line.starts_with([' ', '\t']) {
        return !line.trim().is_empty();
    }
    // The one regex first: most lines fail it, and the time search is dearer.
    TRACE_LINE.as_ref().is_some_and(|re| re.is_match(line))
        && find_timestamp(line, Utc::now()).is_none_or(|t| t.start > 2)
}

/// Joins continuation lines of `entries` (one stream, in order) into the
/// entry before them, with a newline; the joined entry keeps its own time
/// and grows to at most `max_bytes` (and [`MAX_JOINED_BYTES`]).
pub fn join_continuations(entries: &mut Vec<Entry>, max_bytes: usize) {
    let max_bytes = max_bytes.min(MAX_JOINED_BYTES);
    let old = std::mem::take(entries);
    for entry in old {
        let joins = entries.last().is_some_and(|prev| {
            entry.fields.is_empty()
                && prev.line.len() + 1 + entry.line.len() <= max_bytes
                && is_continuation(&entry.line)
        });
        match entries.last_mut() {
            Some(prev) if joins => {
                prev.line.push('\n');
                prev.line.push_str(&entry.line);
            }
            _ => entries.push(entry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(text: &str) -> Vec<String> {
        let mut entries: Vec<Entry> = text
            .lines()
            .enumerate()
            .map(|(i, l)| Entry::new(i as i64, l))
            .collect();
        join_continuations(&mut entries, usize::MAX);
        entries.into_iter().map(|e| e.line).collect()
    }

    #[test]
    fn java_stack_trace() {
        let text = "2024-05-01 12:00:00,123 ERROR [main] a.B: failed\n\
java.lang.IllegalStateException: card declined\n\
\tat com.shop.Pay.go(Pay.java:9)\n\
java.lang.Exception: wrapped\n\
\tat com.shop.Billing.charge(Billing.java:42)\n\
\tat com.shop.Worker.run(Worker.java:17)\n\
Caused by: java.io.IOException: timeout\n\
\t... 2 more\n\
2024-05-01 12:00:01,000 INFO [main] a.B: next";
        let out = joined(text);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out[0].ends_with("\t... 2 more"));
        assert!(out[1].contains("next"));
    }

    #[test]
    fn python_traceback() {
        let text = "2024-05-01 12:00:00,123 ERROR root: boom\n\
Traceback (most recent call last):\n  File \"app.py\", line 3, in <module>\n    main()\n\
ValueError: bad input\n\
2024-05-01 12:00:02,000 INFO root: recovered";
        let out = joined(text);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out[0].ends_with("ValueError: bad input"));
    }

    #[test]
    fn go_panic() {
        // (Callers drop blank lines before joining.)
        let text = "panic: runtime error: index out of range [3] with length 2\n\
goroutine 1 [running]:\n\
main.main()\n\
\t/app/main.go:12 +0x1d\n\
exit status 2";
        let out = joined(text);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out[0].ends_with("goroutine 1 [running]:\nmain.main()\n\t/app/main.go:12 +0x1d"));
        assert_eq!(out[1], "exit status 2");
    }

    #[test]
    fn ordinary_lines_stay_apart() {
        let text = "user logged in\nuser logged out\nGET /health 200\nError budget fine";
        assert_eq!(joined(text).len(), 4);
    }
}
