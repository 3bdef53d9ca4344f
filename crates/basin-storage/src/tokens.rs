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
//! nothing. Tokens of hex digits alone are left out too ([`indexed_token`]).

/// Whether `b` belongs to tokens.
pub fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Calls `f` with every token of `text`, in order, repeats included.
pub fn for_each_token<'a>(text: &'a str, mut f: impl FnMut(&'a str)) {
    for_each_token_span(text, |start, end, _| f(token_slice(text, start, end)));
}

/// Calls `f` with the byte range of every token of `text`, in order, and
/// whether the token holds an ASCII digit (the variables of
/// [`crate::part::line_codec`]).
///
/// Bytes are classified 64 at a time into bit masks, with no branch a byte,
/// and each token is then found with a few bit operations on its start and
/// end bits. A loop testing byte after byte mispredicts at nearly every
/// token's start and end (two a token, 30 tokens a line).
pub fn for_each_token_span(text: &str, mut f: impl FnMut(usize, usize, bool)) {
    let bytes = text.as_bytes();
    let mut chunks = bytes.chunks(64);
    let Some(first) = chunks.next() else {
        return;
    };
    let (mut token, mut digit) = classify64(first);
    // The open token's start, and whether it held a digit so far.
    let mut open: Option<(usize, bool)> = None;
    let mut carry = 0;
    let mut base = 0;
    loop {
        let next = chunks.next().map(classify64);
        let next_low = next.map_or(0, |(t, _)| t & 1);
        let mut starts = token & !((token << 1) | carry);
        // Each token's last byte.
        let mut ends = token & !((token >> 1) | (next_low << 63));
        if let Some((start, held)) = open {
            if ends == 0 {
                open = Some((start, held || digit != 0));
            } else {
                let end = ends.trailing_zeros();
                ends &= ends - 1;
                let held = held || digit & (u64::MAX >> (63 - end)) != 0;
                f(start, base + end as usize + 1, held);
                open = None;
            }
        }
        while starts != 0 {
            let start = starts.trailing_zeros();
            starts &= starts - 1;
            let from_start = digit & (u64::MAX << start);
            if ends == 0 {
                open = Some((base + start as usize, from_start != 0));
                break;
            }
            let end = ends.trailing_zeros();
            ends &= ends - 1;
            let held = from_start & (u64::MAX >> (63 - end)) != 0;
            f(base + start as usize, base + end as usize + 1, held);
        }
        let Some((t, d)) = next else {
            return;
        };
        carry = token >> 63;
        (token, digit) = (t, d);
        base += 64;
    }
}

/// A token's byte range in its text, and whether it holds an ASCII digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
    /// Whether a byte is an ASCII digit.
    pub digit: bool,
}

/// The tokens of `text`, into `out` (cleared first). Callers with work to
/// do a token loop over `out`: called back from the scan instead, that
/// work is not inlined into it, and the call costs more than the scan.
pub fn token_spans(text: &str, out: &mut Vec<Span>) {
    out.clear();
    for_each_token_span(text, |start, end, digit| {
        out.push(Span {
            start: start as u32,
            end: end as u32,
            digit,
        })
    });
}

/// Bytes whose every bit is the lowest of its byte.
const LOW: u64 = 0x0101_0101_0101_0101;
/// Bytes whose every bit is the highest of its byte.
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Which of up to 64 bytes belong to tokens and which are digits, a bit a
/// byte.
fn classify64(chunk: &[u8]) -> (u64, u64) {
    let mut padded = [0u8; 64];
    let block: &[u8] = if chunk.len() == 64 {
        chunk
    } else {
        // Zero bytes belong to no token.
        padded[..chunk.len()].copy_from_slice(chunk);
        &padded
    };
    let (mut token, mut digit) = (0, 0);
    for (j, eight) in block.chunks_exact(8).enumerate() {
        let word = <[u8; 8]>::try_from(eight).map_or(0, u64::from_le_bytes);
        let (t, d) = classify8(word);
        token |= t << (8 * j);
        digit |= d << (8 * j);
    }
    (token, digit)
}

/// Which of 8 bytes belong to tokens and which are digits, a bit a byte:
/// classified all at once in a 64-bit word (SWAR). Each test sets the high
/// bit of a byte; on 7-bit values the sums never carry into the next byte.
fn classify8(x: u64) -> (u64, u64) {
    let ascii = x & !HIGH;
    // `v >= lo` and `v > hi` for 7-bit bytes, as high bits.
    let at_least = |v: u64, lo: u8| v.wrapping_add(u64::from(0x80 - lo) * LOW) & HIGH;
    let above = |v: u64, hi: u8| v.wrapping_add(u64::from(0x7f - hi) * LOW) & HIGH;
    let digit = at_least(ascii, b'0') & !above(ascii, b'9') & !(x & HIGH);
    let folded = ascii | (0x20 * LOW);
    let letter = at_least(folded, b'a') & !above(folded, b'z');
    let underscore = !above(ascii ^ (u64::from(b'_') * LOW), 0) & HIGH;
    // Non-ASCII bytes (high bit set) are token bytes too.
    let token = (x & HIGH) | digit | letter | underscore;
    (gather_high(token), gather_high(digit))
}

/// The high bit of each byte, packed into the low 8 bits (byte `i` to bit `i`).
fn gather_high(bits: u64) -> u64 {
    ((bits >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56
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

/// Whether a block filter records `token` whole (part format 8 on): not if
/// it is hex digits alone. Numbers and hashes are most of a block's distinct
/// tokens (three in five on the loghub corpus), so they took most of the
/// filter's bits, yet only a needle holding one bounded on both sides
/// (`|= "user 42 failed"`) can use them: an id searched alone may sit inside
/// a longer token, and its trigrams are hex too.
pub fn indexed_token(token: &str) -> bool {
    !token.bytes().all(is_hex)
}

/// [`is_hex`] by table, 1 or 0.
static HEX: [u8; 256] = {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_hexdigit() as u8;
        b += 1;
    }
    table
};

/// Calls `f` with every trigram of `token` that has a byte other than a hex
/// digit (repeats included).
pub fn for_each_gram(token: &str, mut f: impl FnMut([u8; 3])) {
    let bytes = token.as_bytes();
    if bytes.len() < 3 {
        return;
    }
    if bytes.len() > 64 {
        return for_each_gram_bytewise(bytes, f);
    }
    // Which bytes are hex digits, a bit each; then which windows hold a
    // byte that is not, found without a test a window (whether one is hex
    // varies from byte to byte, so such tests mispredict).
    let hex = bytes
        .iter()
        .enumerate()
        .fold(0u64, |m, (i, &b)| m | u64::from(HEX[usize::from(b)]) << i);
    let windows = bytes.len() - 2;
    let all_hex = hex & (hex >> 1) & (hex >> 2);
    // A token of hex digits only has no window kept.
    let mut kept = !all_hex & (u64::MAX >> (64 - windows));
    while kept != 0 {
        let i = kept.trailing_zeros() as usize;
        kept &= kept - 1;
        f([bytes[i], bytes[i + 1], bytes[i + 2]]);
    }
}

/// [`for_each_gram`] a window at a time.
fn for_each_gram_bytewise(bytes: &[u8], mut f: impl FnMut([u8; 3])) {
    if bytes.iter().all(|&b| is_hex(b)) {
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

    /// Tokens found byte after byte: what the masks must agree with.
    fn plain_tokens(text: &str) -> Vec<(usize, usize, bool)> {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if !is_token_byte(bytes[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && is_token_byte(bytes[i]) {
                i += 1;
            }
            let digit = bytes[start..i].iter().any(u8::is_ascii_digit);
            out.push((start, i, digit));
        }
        out
    }

    /// `len` chars, each `pick` of the next number of a generator at `seed`.
    fn random_text(seed: &mut u64, len: usize, pick: impl Fn(u64) -> char) -> String {
        (0..len)
            .map(|_| {
                *seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                pick(*seed >> 33)
            })
            .collect()
    }

    #[test]
    fn masks_find_the_tokens_a_byte_loop_finds() {
        let mut texts: Vec<String> = vec![
            String::new(),
            "x".into(),
            "-".into(),
            "a".repeat(64),
            "a".repeat(65),
            format!("{} 7", "b".repeat(63)),
            format!("{}9{}", "-".repeat(63), "z".repeat(70)),
            format!("{}é", "c".repeat(63)),
        ];
        // Tokens of every length across the masks' 64-byte words.
        let mut seed = 7u64;
        for len in [10, 63, 64, 65, 127, 128, 200, 1023, 1024, 1025, 5000] {
            for _ in 0..20 {
                texts.push(random_text(&mut seed, len, |r| match r % 7 {
                    0 => ' ',
                    1 => '=',
                    2 => char::from(b'0' + (r >> 7) as u8 % 10),
                    3 => '_',
                    _ => char::from(b'a' + (r >> 7) as u8 % 26),
                }));
            }
        }
        for text in &texts {
            let mut found = Vec::new();
            for_each_token_span(text, |s, e, d| found.push((s, e, d)));
            assert_eq!(found, plain_tokens(text), "{text:?}");
        }
    }

    #[test]
    fn words_classify_every_byte_as_the_table_does() {
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut eight = [b' '; 8];
                eight[at] = b;
                let (token, digit) = classify8(u64::from_le_bytes(eight));
                assert_eq!(token, u64::from(is_token_byte(b)) << at, "byte {b:#x}");
                assert_eq!(digit, u64::from(b.is_ascii_digit()) << at, "byte {b:#x}");
            }
        }
    }

    #[test]
    fn grams_by_mask_are_the_grams_window_by_window() {
        let mut seed = 3u64;
        for len in [0, 1, 2, 3, 4, 8, 40, 63, 64, 65, 66, 100] {
            for _ in 0..200 {
                let token = random_text(&mut seed, len, |r| {
                    char::from(b"0123456789abcdefxyz_"[r as usize % 20])
                });
                let (mut by_mask, mut bytewise) = (Vec::new(), Vec::new());
                for_each_gram(&token, |g| by_mask.push(g));
                if token.len() >= 3 {
                    for_each_gram_bytewise(token.as_bytes(), |g| bytewise.push(g));
                }
                assert_eq!(by_mask, bytewise, "{token}");
            }
        }
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
