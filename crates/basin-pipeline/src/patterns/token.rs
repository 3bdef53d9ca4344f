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

/// Size and time units, variable when they follow a number (`12.0 KB`,
/// `3 ms`): the unit changes with the value.
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

/// Writes the template tokens of `line` into `out`, separated by one space,
/// in one pass over its bytes. Only whole words and ASCII bytes are copied,
/// so `out` is UTF-8.
fn write_masked(line: &str, out: &mut Vec<u8>) {
    out.clear();
    let bytes = line.as_bytes();
    let mut i = 0;
    // Whether the last token written is the wildcard alone (a number).
    let mut after_number = false;
    loop {
        while i < bytes.len() && CLASS[usize::from(bytes[i])] == SPACE {
            i += 1;
        }
        if i == bytes.len() {
            return;
        }
        if !out.is_empty() {
            out.push(b' ');
        }
        let token_start = out.len();
        if after_number {
            let end = bytes[i..]
                .iter()
                .position(|&b| CLASS[usize::from(b)] == SPACE)
                .map_or(bytes.len(), |p| i + p);
            if let Some(rest) = unit_rest(&bytes[i..end]) {
                out.extend_from_slice(WILDCARD.as_bytes());
                out.extend_from_slice(rest);
                i = end;
                after_number = false;
                continue;
            }
        }
        i = mask_token_at(bytes, i, out);
        after_number = &out[token_start..] == WILDCARD.as_bytes();
    }
}

/// Appends the template form of the token starting at `bytes[i]` and
/// returns where it ends (whitespace or the end of `bytes`).
fn mask_token_at(bytes: &[u8], mut i: usize, out: &mut Vec<u8>) -> usize {
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
        push_part(out, &bytes[start..i], digit == DIGIT);
        if i == bytes.len() || class == SPACE {
            return i;
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
/// (`digit`: it holds a digit).
fn push_part(out: &mut Vec<u8>, part: &[u8], digit: bool) {
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
    } else {
        out.extend_from_slice(part);
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
            [
                "Receiving",
                "block",
                "<_>",
                "src:",
                "/<_>:<_>",
                "size=<_>",
                "ok"
            ]
        );
        assert_eq!(mask_token("mice.c(1234)"), "mice.c(<_>)");
        assert_eq!(mask_token("icbi.........0"), "icbi.........<_>");
        assert_eq!(mask_token("10.0.0.1"), "<_>");
        assert_eq!(mask_token("rate=0.25ms"), "rate=<_>");
        assert_eq!(tokens("at Sat Jul  9"), ["at", "<_>", "<_>", "<_>"]);
        assert_eq!(mask_token("Mayday"), "Mayday");
        assert_eq!(
            tokens("size 12.0 KB, free 3 B)"),
            ["size", "<_>", "<_>,", "free", "<_>", "<_>)"]
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
