//! Lines to template tokens: split on whitespace, and inside each token the
//! words that vary from line to line (anything with a digit, day and month
//! names) replaced by the wildcard, keeping the punctuation around them
//! (`size=<_>`, `<_>:<_>`, `core.<_>`), so lines of one template line up
//! token by token. The rules are written once, on bytes, because every line
//! goes through them at ingest ([`signature`]).

use std::borrow::Cow;

/// The wildcard of a template, as Loki writes it.
pub const WILDCARD: &str = "<_>";

/// Names in dates (`Sat Jul  9 11:35:59 2005`), which vary like numbers.
const DATE_WORDS: [&str; 19] = [
    "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Size and time units, part of the value they follow (`12.0 KB`, `3 ms`,
/// `size=3 ms`): the unit changes with the value, and may be written joined.
const UNITS: [&str; 14] = [
    "B", "KB", "MB", "GB", "TB", "PB", "KiB", "MiB", "GiB", "TiB", "ms", "us", "µs", "ns",
];

/// Byte classes: other, digit, delimiter (punctuation but `_` and `-`,
/// which ids and names are written with), ASCII whitespace.
const OTHER: u8 = 0;
const DIGIT: u8 = 1;
const DELIMITER: u8 = 2;
const SPACE: u8 = 3;

static CLASS: [u8; 256] = {
    let mut table = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = if c.is_ascii_digit() {
            DIGIT
        } else if c.is_ascii_punctuation() && c != b'_' && c != b'-' {
            DELIMITER
        } else if c.is_ascii_whitespace() {
            SPACE
        } else {
            OTHER
        };
        b += 1;
    }
    table
};

/// A run of variable-only tokens being written: tokens made of variables
/// and punctuation alone (`<_>`, `[<_>`, `/<_>:<_>`, `(<_>)`), which say how
/// values are written, not which event a line is.
struct Run {
    /// Where it starts in the output (its separating space, or 0).
    start: usize,
    /// Whether its first token opens a bracket.
    opened: bool,
    /// Whether its last token (so far) closes one.
    closed: bool,
}

/// Whether a masked token ends a bracket.
fn closes(token: &[u8]) -> bool {
    matches!(token.last(), Some(b')' | b']'))
}

/// Writes the template tokens of `line` into `out`, separated by one space,
/// in one pass over its bytes. Only whole words and ASCII bytes are copied,
/// so `out` is UTF-8.
///
/// How values are written does not split an event. Of each run of
/// variable-only tokens ([`Run`]):
/// - a run the line starts with is dropped: it is a header (times, dates,
///   ids, `[10.30 16:49:06]`), whatever its layout;
/// - a bracketed run is dropped: an optional annotation of a value
///   (`1200 bytes (1.2 KB) sent` is `12 bytes sent`);
/// - any other run becomes one wildcard (`12 ms` is `12ms`, `Jul  9 11:35`
///   is one date).
///
/// A line of nothing else keeps one wildcard.
fn write_masked(line: &str, out: &mut Vec<u8>) {
    out.clear();
    let bytes = line.as_bytes();
    let mut i = 0;
    // Whether the last token written ends with a variable (a number).
    let mut after_number = false;
    let mut run: Option<Run> = None;
    loop {
        while i < bytes.len() && CLASS[usize::from(bytes[i])] == SPACE {
            i += 1;
        }
        if i == bytes.len() {
            break;
        }
        let separator = out.len();
        if !out.is_empty() {
            out.push(b' ');
        }
        let token_start = out.len();
        // Only a unit's first letters are worth looking further.
        if after_number
            && matches!(
                bytes[i],
                b'B' | b'K' | b'M' | b'G' | b'T' | b'P' | b'm' | b'u' | b'n' | 0xC2
            )
        {
            let end = bytes[i..]
                .iter()
                .position(|&b| CLASS[usize::from(b)] == SPACE)
                .map_or(bytes.len(), |p| i + p);
            if let Some(rest) = unit_rest(&bytes[i..end]) {
                // Part of the value before it: `12 KB` is written as `12KB`.
                out.truncate(separator);
                out.extend_from_slice(rest);
                if let Some(run) = &mut run {
                    run.closed = closes(out);
                }
                i = end;
                after_number = false;
                continue;
            }
        }
        let (end, kept) = mask_token_at(bytes, i, out);
        i = end;
        let token = &out[token_start..];
        after_number = token.ends_with(WILDCARD.as_bytes());
        if kept == KEPT_VARIABLE {
            let closed = closes(token);
            match &mut run {
                Some(run) => run.closed = closed,
                None => {
                    run = Some(Run {
                        start: separator,
                        opened: matches!(token[0], b'(' | b'['),
                        closed,
                    })
                }
            }
        } else if let Some(run) = run.take() {
            // Leading: the token loses its separator too.
            let (from, to, with) = if run.start == 0 {
                (0, token_start, &b""[..])
            } else if run.opened && run.closed {
                (run.start, separator, &b""[..])
            } else {
                (run.start, separator, &b" <_>"[..])
            };
            // `with` is never longer than the run it replaces.
            out[from..from + with.len()].copy_from_slice(with);
            out.copy_within(to.., from + with.len());
            out.truncate(out.len() - (to - from - with.len()));
        }
    }
    if let Some(run) = run {
        out.truncate(run.start);
        if run.start == 0 {
            out.extend_from_slice(WILDCARD.as_bytes());
        } else if !(run.opened && run.closed) {
            out.extend_from_slice(b" <_>");
        }
    }
}

/// What [`push_part`] kept of a part: bits, or'd over a token's parts.
const KEPT_WORD: u8 = 1;
const KEPT_VARIABLE: u8 = 2;

/// Appends the template form of the token starting at `bytes[i]`; returns
/// where it ends (whitespace or the end of `bytes`) and what its parts kept
/// (`KEPT_*` bits: [`KEPT_VARIABLE`] alone is a variable-only token).
fn mask_token_at(bytes: &[u8], mut i: usize, out: &mut Vec<u8>) -> (usize, u8) {
    let mut kept = 0;
    loop {
        let start = i;
        // Branch-free for digits: where they fall is unpredictable.
        let mut digit = 0;
        let mut class = SPACE;
        while i < bytes.len() {
            class = CLASS[usize::from(bytes[i])];
            if class >= DELIMITER {
                break;
            }
            digit |= class;
            i += 1;
        }
        kept |= push_part(out, &bytes[start..i], digit == DIGIT);
        if i == bytes.len() || class == SPACE {
            return (i, kept);
        }
        out.push(bytes[i]);
        i += 1;
    }
}

/// What follows the unit (`,` of `KB,`) when `token` is a unit.
fn unit_rest(token: &[u8]) -> Option<&[u8]> {
    let mut end = token.len();
    while end > 0 && matches!(token[end - 1], b',' | b';' | b')' | b'.') {
        end -= 1;
    }
    let unit = &token[..end];
    UNITS
        .iter()
        .any(|u| u.as_bytes() == unit)
        .then(|| &token[end..])
}

/// Appends one word of a token: itself, or the wildcard when it varies
/// (`digit`: it holds a digit); returns what it kept (`KEPT_*`, 0 if
/// nothing).
fn push_part(out: &mut Vec<u8>, part: &[u8], digit: bool) -> u8 {
    let date = part.len() == 3
        && part[0].is_ascii_uppercase()
        && DATE_WORDS.iter().any(|w| w.as_bytes() == part);
    if digit || date {
        // A dotted number or address (`0.25`, `10.0.0.1`) is one variable.
        if out.ends_with(b"<_>.") {
            out.pop();
        }
        // `<_><_>` says nothing `<_>` does not.
        if !out.ends_with(WILDCARD.as_bytes()) {
            out.extend_from_slice(WILDCARD.as_bytes());
        }
        KEPT_VARIABLE
    } else {
        out.extend_from_slice(part);
        if part.is_empty() {
            0
        } else {
            KEPT_WORD
        }
    }
}

/// The template form of one token.
pub fn mask_token(token: &str) -> String {
    let mut out = Vec::with_capacity(token.len());
    mask_token_at(token.as_bytes(), 0, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The template tokens of a line.
pub fn tokens(line: &str) -> Vec<Cow<'static, str>> {
    let mut out = Vec::with_capacity(line.len());
    write_masked(line, &mut out);
    String::from_utf8_lossy(&out)
        .split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| Cow::Owned(t.to_string()))
        .collect()
}

/// A hash of the line's template tokens (written into `buf`, which keeps
/// its memory between calls): lines with equal signatures have equal
/// tokens, so a miner can remember where they went.
pub fn signature(line: &str, buf: &mut Vec<u8>) -> u64 {
    write_masked(line, buf);
    xxhash_rust::xxh3::xxh3_64(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_parts_become_wildcards() {
        assert_eq!(
            tokens("Receiving block blk_-16089 src: /10.250.19.102:54106 size=42 ok"),
            ["Receiving", "block", "<_>", "src:", "<_>", "size=<_>", "ok"]
        );
        assert_eq!(mask_token("mice.c(1234)"), "mice.c(<_>)");
        assert_eq!(mask_token("icbi.........0"), "icbi.........<_>");
        assert_eq!(mask_token("10.0.0.1"), "<_>");
        assert_eq!(mask_token("rate=0.25ms"), "rate=<_>");
        assert_eq!(tokens("at Sat Jul  9"), ["at", "<_>"]);
        assert_eq!(mask_token("Mayday"), "Mayday");
        assert_eq!(
            tokens("size 12.0 KB, free 3 B)"),
            ["size", "<_>", "free", "<_>"]
        );
        assert_eq!(tokens("got KB"), ["got", "KB"]);
    }

    #[test]
    fn signatures_are_the_tokens() {
        let mut buf = Vec::new();
        for line in [
            "Receiving block blk_-16089 src: /10.250.19.102:54106 size=42 ok",
            "size 12.0 KB, free 3 B)  at Sat Jul  9",
            "",
            r#"{"ts":"2026-01-01T00:00:00.086Z","msg":"retrying upstream call","n":1.5e3} Mayday Mon."#,
            "rate=0.25ms ip 10.0.0.1:80 héllo wörld 12µs µs 3 µs,",
        ] {
            signature(line, &mut buf);
            assert_eq!(
                String::from_utf8_lossy(&buf),
                tokens(line).join(" "),
                "{line}"
            );
        }
        let a = signature("user 1 in", &mut buf);
        assert_eq!(a, signature("user 22 in", &mut buf));
        assert_ne!(a, signature("user x in", &mut buf));
        assert_eq!(mask_token("totalSteps=1:2:3"), "totalSteps=<_>:<_>:<_>");
        assert_eq!(mask_token("user=root"), "user=root");
        assert_eq!(mask_token("[preauth]"), "[preauth]");
        assert!(tokens("  ").is_empty());
    }
}
