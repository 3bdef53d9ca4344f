//! Tokens: the words the block index records, and the ones a needle requires.
//!
//! A token is a maximal run of ASCII letters, digits and `_`, or of non-ASCII
//! bytes (so words in any script count). Tokens are case-sensitive, as `|=` is.
//!
//! Whole tokens only prune needles bounded on both sides (`|= "abc"` may sit
//! inside `xabcx`), so blocks also record the trigrams inside their tokens: a
//! line holding a needle holds every trigram inside the needle's tokens.
//! Trigrams of hex digits alone are left out: ids and hashes make nearly all
//! 4,096 of them appear in every block, so they would cost bytes and prune
//! nothing.

/// Whether a byte belongs to tokens, by table: every line written goes
/// through [`for_each_token`], so the test is one load.
static TOKEN_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
        b += 1;
    }
    table
};

/// Whether `b` belongs to tokens.
pub fn is_token_byte(b: u8) -> bool {
    TOKEN_BYTE[usize::from(b)]
}

/// Calls `f` with every token of `text`, in order, repeats included.
pub fn for_each_token<'a>(text: &'a str, mut f: impl FnMut(&'a str)) {
    for_each_token_digits(text, |t, _| f(t));
}

/// Like [`for_each_token`], also telling whether the token holds an ASCII
/// digit (the variables of [`crate::part::line_codec`]), found in the same
/// pass.
pub fn for_each_token_digits<'a>(text: &'a str, mut f: impl FnMut(&'a str, bool)) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !TOKEN_BYTE[usize::from(bytes[i])] {
            i += 1;
            continue;
        }
        let start = i;
        let mut digit = false;
        while i < bytes.len() && TOKEN_BYTE[usize::from(bytes[i])] {
            digit |= bytes[i].is_ascii_digit();
            i += 1;
        }
        f(token_slice(text, start, i), digit);
    }
}

/// Token boundaries fall on ASCII bytes, which are always char boundaries.
fn token_slice(text: &str, start: usize, end: usize) -> &str {
    text.get(start..end).unwrap_or_default()
}

/// The tokens a line must hold as whole tokens if it contains `needle`.
///
/// Only tokens bounded inside the needle qualify: in `"user 42 failed"` the
/// line may read `superuser 42 failedover`, so only `42` is certain.
pub fn required_tokens(needle: &str) -> Vec<String> {
    let bytes = needle.as_bytes();
    let mut out = Vec::new();
    let offset_of = |tok: &str| tok.as_ptr() as usize - needle.as_ptr() as usize;
    let mut found = Vec::new();
    for_each_token(needle, |tok| found.push((offset_of(tok), tok)));
    for (start, tok) in found {
        let end = start + tok.len();
        let open_left = start == 0;
        let open_right = end == bytes.len();
        if !open_left && !open_right {
            out.push(tok.to_string());
        }
    }
    out
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// Calls `f` with every trigram of `token` that has a byte other than a hex
/// digit (repeats included).
pub fn for_each_gram(token: &str, mut f: impl FnMut([u8; 3])) {
    let bytes = token.as_bytes();
    if bytes.len() < 3 || bytes.iter().all(|&b| is_hex(b)) {
        return;
    }
    for w in bytes.windows(3) {
        if !(is_hex(w[0]) && is_hex(w[1]) && is_hex(w[2])) {
            f([w[0], w[1], w[2]]);
        }
    }
}

/// The trigrams a line must hold (inside its tokens) if it contains `needle`.
pub fn required_grams(needle: &str) -> Vec<[u8; 3]> {
    let mut out = Vec::new();
    for_each_token(needle, |tok| for_each_gram(tok, |g| out.push(g)));
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for_each_token(text, |t| out.push(t.to_string()));
        out
    }

    #[test]
    fn tokenizes() {
        assert_eq!(
            tokens("GET /api/v1?id=42 took 3.5ms"),
            ["GET", "api", "v1", "id", "42", "took", "3", "5ms"]
        );
        assert_eq!(tokens("trace_id=ab-cd"), ["trace_id", "ab", "cd"]);
        assert_eq!(tokens("café ok"), ["café", "ok"]);
        assert!(tokens(" ,;").is_empty());
    }

    #[test]
    fn needle_tokens_are_the_bounded_ones() {
        let check = |needle: &str, want: &[&str]| assert_eq!(required_tokens(needle), want);
        check("user 42 failed", &["42"]);
        check("needle", &[]);
        check(" needle ", &["needle"]);
        check("id=abc123 ", &["abc123"]);
        check("a b c d", &["b", "c"]);
    }

    #[test]
    fn grams_skip_hex_only_windows() {
        let grams = |needle: &str| -> Vec<String> {
            required_grams(needle)
                .iter()
                .map(|g| String::from_utf8_lossy(g).into_owned())
                .collect()
        };
        // "eed" and "7f3" are hex digits only.
        assert_eq!(grams("needle7f3a"), ["dle", "edl", "le7", "nee"]);
        assert!(grams("deadbeef 0123 ab").is_empty());
        assert_eq!(grams("x-u123"), ["u12"]);
    }
}
