//! Lines to template tokens: split on whitespace, and inside each token the
//! words that vary from line to line (anything with a digit, day and month
//! names) replaced by
//! the wildcard, keeping the punctuation around them (`size=<_>`,
//! `<_>:<_>`, `core.<_>`), so lines of one template line up token by token.

/// The wildcard of a template, as Loki writes it.
pub const WILDCARD: &str = "<_>";

/// Characters that separate the words of one token (`key=value`,
/// `host:port`, `f(x)`, `a.b`): punctuation but `_` and `-`, which ids and
/// names are written with. They stay literal in templates.
fn is_delimiter(c: char) -> bool {
    c.is_ascii_punctuation() && c != '_' && c != '-'
}

/// Names in dates (`Sat Jul  9 11:35:59 2005`), which vary like numbers.
const DATE_WORDS: [&str; 19] = [
    "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Whether a part of a token varies: numbers, ids, addresses, times,
/// versions, hex (everything with a digit in it), and day and month names.
fn is_variable(part: &str) -> bool {
    part.bytes().any(|b| b.is_ascii_digit()) || DATE_WORDS.contains(&part)
}

/// The template form of one token.
pub fn mask_token(token: &str) -> String {
    if !token.bytes().any(|b| b.is_ascii_digit()) && !DATE_WORDS.iter().any(|w| token.contains(w)) {
        return token.to_string();
    }
    let mut out = String::with_capacity(token.len());
    let mut part_start = 0;
    for (i, c) in token.char_indices() {
        if is_delimiter(c) {
            push_part(&mut out, &token[part_start..i]);
            out.push(c);
            part_start = i + c.len_utf8();
        }
    }
    push_part(&mut out, &token[part_start..]);
    out
}

fn push_part(out: &mut String, part: &str) {
    if is_variable(part) {
        // A dotted number or address (`0.25`, `10.0.0.1`) is one variable.
        if out.ends_with("<_>.") {
            out.pop();
        }
        // `<_><_>` says nothing `<_>` does not.
        if !out.ends_with(WILDCARD) {
            out.push_str(WILDCARD);
        }
    } else {
        out.push_str(part);
    }
}

/// Size and time units, variable when they follow a number (`12.0 KB`,
/// `3 ms`): the unit changes with the value.
const UNITS: [&str; 14] = [
    "B", "KB", "MB", "GB", "TB", "PB", "KiB", "MiB", "GiB", "TiB", "ms", "us", "µs", "ns",
];

/// The template tokens of a line.
pub fn tokens(line: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for token in line.split_whitespace() {
        let after_number = out.last().is_some_and(|t| t == WILDCARD);
        let unit = token.trim_end_matches([',', ';', ')', '.']);
        if after_number && UNITS.contains(&unit) {
            out.push(format!("{WILDCARD}{}", &token[unit.len()..]));
        } else {
            out.push(mask_token(token));
        }
    }
    out
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
        assert_eq!(mask_token("totalSteps=1:2:3"), "totalSteps=<_>:<_>:<_>");
        assert_eq!(mask_token("user=root"), "user=root");
        assert_eq!(mask_token("[preauth]"), "[preauth]");
        assert!(tokens("  ").is_empty());
    }
}
