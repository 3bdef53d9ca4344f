//! The level a line's header names: `INFO`, `[error]`, `<Warning>`, `level=warn`,
//! klog's `E0102` prefix. Only the header counts, and only words written as
//! levels are (upper case, capitalised in brackets, or after `level=`), so a
//! message that merely says "error" is not taken for an error line.

use basin_model::level::{level_from_text, level_from_value};

/// How far into a line a level is looked for.
pub const HEADER_BYTES: usize = 160;

/// Most header tokens looked at before giving up.
const MAX_TOKENS: usize = 24;

/// A level found in a line: the normalised name and the word as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoundLevel<'a> {
    /// `trace|debug|info|warn|error|fatal`.
    pub level: &'static str,
    /// The word in the line (`WARNING`).
    pub word: &'a str,
}

/// Upper-case words that are levels only in a header; in the middle of a
/// message (`ERR_CONNECTION_REFUSED`) they are not separate tokens anyway.
fn is_level_shaped(word: &str, bracketed: bool) -> bool {
    let upper = word.bytes().all(|b| b.is_ascii_uppercase());
    let capitalised = word.len() > 1
        && word.as_bytes()[0].is_ascii_uppercase()
        && word[1..].bytes().all(|b| b.is_ascii_lowercase());
    let lower = word.bytes().all(|b| b.is_ascii_lowercase());
    // One-letter levels (E, W) are too common as words to trust; plain words
    // count only in brackets (`[error]`, `<Warning>`).
    (upper && word.len() > 1) || (bracketed && (capitalised || lower))
}

/// The level in `line`'s header, if it names one.
pub fn find_level(line: &str) -> Option<FoundLevel<'_>> {
    let mut end = line.len().min(HEADER_BYTES);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    let head = &line[..end];
    if let Some(found) = klog_prefix(head) {
        return Some(found);
    }
    let bytes = head.as_bytes();
    let mut tokens = 0;
    let mut i = 0;
    while i < bytes.len() && tokens < MAX_TOKENS {
        if !bytes[i].is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        tokens += 1;
        let word = &head[start..i];
        let before = start.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i).copied();
        // level=warn, severity: "error", "level":"ERROR" (JSON)
        let mut key_end = i;
        if after == Some(b'"') && bytes.get(i + 1) == Some(&b':') {
            key_end = i + 1;
        }
        let after_key = bytes.get(key_end).copied();
        if matches!(after_key, Some(b'=') | Some(b':'))
            && ["level", "lvl", "severity", "loglevel", "levelname"]
                .iter()
                .any(|k| k.eq_ignore_ascii_case(word))
        {
            let rest = &head[key_end + 1..];
            let value: &str = rest
                .trim_start_matches([' ', '"', '\''])
                .split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap_or("");
            if let Some(level) = level_from_value(value) {
                return Some(FoundLevel { level, word: value });
            }
            continue;
        }
        // A word glued to letters or digits on either side is not a level.
        if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'.')
            || after.is_some_and(|b| b == b'.' || b == b'(')
        {
            continue;
        }
        let bracketed = matches!(before, Some(b'[') | Some(b'<') | Some(b'('))
            && matches!(after, Some(b']') | Some(b'>') | Some(b')'));
        if is_level_shaped(word, bracketed) {
            if let Some(level) = level_from_text(word) {
                return Some(FoundLevel { level, word });
            }
        }
    }
    None
}

/// Go klog's `I0102 15:04:05.123456` prefix: the letter is the level.
fn klog_prefix(head: &str) -> Option<FoundLevel<'_>> {
    let b = head.as_bytes();
    let shaped = b.len() > 6
        && matches!(b[0], b'I' | b'W' | b'E' | b'F')
        && b[1..5].iter().all(u8::is_ascii_digit)
        && b[5] == b' '
        && b[6].is_ascii_digit();
    if !shaped {
        return None;
    }
    let level = match b[0] {
        b'I' => "info",
        b'W' => "warn",
        b'E' => "error",
        _ => "fatal",
    };
    Some(FoundLevel {
        level,
        word: &head[..1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(line: &str) -> Option<&'static str> {
        find_level(line).map(|f| f.level)
    }

    #[test]
    fn header_levels() {
        let cases = [
            ("2015-10-18 18:01:47,978 INFO [main] org.X: y", "info"),
            ("2015-07-29 17:41:44,747 - WARN  [QuorumPeer] - z", "warn"),
            (
                "081109 203615 148 INFO dfs.DataNode$PacketResponder: x",
                "info",
            ),
            (
                "- 1117838570 2005.06.03 R02 2005-06-03-15.42.50.675872 R02 RAS KERNEL FATAL x",
                "fatal",
            ),
            (
                "[Sun Dec 04 04:47:44 2005] [error] mod_jk child init 1 -2",
                "error",
            ),
            ("2024-05-01 12:00:00 [Warning] disk nearly full", "warn"),
            ("ts=2024-05-01T12:00:00Z level=error msg=\"boom\"", "error"),
            ("E1120 15:04:05.123456   1 main.go:10] failed", "error"),
            ("2024-05-01 12:00:00,001 SEVERE [x] y", "error"),
            (
                "17/06/09 20:10:40 ERROR executor.Executor: Exception",
                "error",
            ),
        ];
        for (line, want) in cases {
            assert_eq!(level(line), Some(want), "{line}");
        }
    }

    #[test]
    fn messages_that_mention_levels_are_not_levels() {
        for line in [
            "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0",
            "user reported an error in the checkout",
            "GET /api/v1/errors HTTP/1.1 200",
            "ERR_CONNECTION_REFUSED while fetching",
            "E is for elephant",
        ] {
            assert_eq!(level(line), None, "{line}");
        }
    }
}
