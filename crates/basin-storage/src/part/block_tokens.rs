//! A block's index entries gathered as its lines go by: each distinct
//! token's hash and the hashes of its trigrams, taken once per block.
//!
//! A line holds about 30 tokens, most of them repeats within the block, so
//! what counts is telling a repeat apart: tokens of up to 16 bytes (nearly
//! all) are keyed by their own bytes, one load from the line, instead of a
//! hash of every occurrence.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use xxhash_rust::xxh3::xxh3_128;

use crate::token_filter::{gram_hash, token_hash};
use crate::tokens::{for_each_gram, indexed_token};

/// Slots of the recent-token cache (64 KiB of whole keys; with 2,048 slots
/// a fifth more tokens missed it).
const RECENT_TOKENS: usize = 4096;

/// Tokens up to this many bytes are keyed by their bytes.
const SHORT_TOKEN: usize = 16;

/// The hashes a block's token filter is built from.
pub struct BlockTokens {
    hashes: Vec<u64>,
    /// Every distinct token so far, by key.
    seen: HashSet<u128, BuildHasherDefault<KeyMix>>,
    /// The tokens seen last, by a mix of their key: frequent tokens (keys,
    /// levels, methods) are found here, in cache, without probing `seen`,
    /// which outgrows the cache. Whole keys, so a hit is exact; 0 is no key.
    recent: Vec<u128>,
}

impl BlockTokens {
    /// Ready for a block of `rows` lines.
    pub fn new(rows: usize) -> Self {
        Self {
            hashes: Vec::with_capacity(rows * 4),
            // About three distinct tokens a line: sized once, not regrown.
            seen: HashSet::with_capacity_and_hasher(rows * 3, Default::default()),
            recent: vec![0; RECENT_TOKENS],
        }
    }

    /// Takes `line[start..end]`, a token of `line`.
    #[inline]
    pub fn token(&mut self, line: &str, start: usize, end: usize) {
        let key = token_key(line.as_bytes(), start, end);
        let slot = &mut self.recent[(fold(key).wrapping_mul(MIX) >> 52) as usize % RECENT_TOKENS];
        if *slot != key {
            *slot = key;
            self.not_recent(line, start, end, key);
        }
    }

    /// Takes a token missing from the recent-token cache.
    #[inline(never)]
    fn not_recent(&mut self, line: &str, start: usize, end: usize, key: u128) {
        let token = line.get(start..end).unwrap_or_default();
        // Hex digits alone: neither the token nor its trigrams are kept.
        if indexed_token(token) && self.seen.insert(key) {
            self.hashes.push(token_hash(token));
            for_each_gram(token, |g| self.hashes.push(gram_hash(g)));
        }
    }

    /// Takes a hash computed elsewhere (field values and pairs).
    pub fn push(&mut self, hash: u64) {
        self.hashes.push(hash);
    }

    /// The distinct hashes, sorted.
    pub fn finish(mut self) -> Vec<u64> {
        self.hashes.sort_unstable();
        self.hashes.dedup();
        self.hashes
    }
}

/// Odd multiplier of the key mixes (the golden ratio's bits).
const MIX: u64 = 0x9e37_79b9_7f4a_7c15;

/// A key's two halves in one word, for the mixes.
fn fold(key: u128) -> u64 {
    (key as u64) ^ ((key >> 64) as u64).rotate_left(32)
}

/// The key of token `bytes[start..end]`: a short token's own bytes (the rest
/// zero; no token holds a zero byte, so keys of short tokens are exact),
/// a longer one's 128-bit hash (collisions would need about 2^64 tokens).
#[inline]
fn token_key(bytes: &[u8], start: usize, end: usize) -> u128 {
    let len = end - start;
    if len <= SHORT_TOKEN {
        // One 16-byte load from the line: at the token, or ending with it.
        if let Some(ahead) = bytes.get(start..start + 16) {
            return load(ahead) & (u128::MAX >> (8 * (16 - len)));
        }
        if let Some(behind) = end.checked_sub(16).and_then(|s| bytes.get(s..end)) {
            return load(behind) >> (8 * (16 - len));
        }
    }
    cold_key(bytes.get(start..end).unwrap_or_default())
}

/// The key of a long token, or of a short one in a line too short to load.
#[inline(never)]
fn cold_key(token: &[u8]) -> u128 {
    if token.len() <= SHORT_TOKEN {
        let mut buf = [0u8; 16];
        buf[..token.len()].copy_from_slice(token);
        return u128::from_le_bytes(buf);
    }
    xxh3_128(token)
}

fn load(bytes: &[u8]) -> u128 {
    <[u8; 16]>::try_from(bytes).map_or(0, u128::from_le_bytes)
}

/// Hasher of token keys for `seen`: a folded multiply, whose high and low
/// bits both depend on every bit of the key.
#[derive(Default)]
struct KeyMix(u64);

impl Hasher for KeyMix {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(self.0.rotate_left(8) ^ u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        let wide = u128::from(n) * u128::from(MIX);
        self.0 = (wide as u64) ^ ((wide >> 64) as u64);
    }

    fn write_u128(&mut self, n: u128) {
        self.write_u64(fold(n));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::for_each_token;

    /// The hashes of the distinct tokens of `lines`, found the plain way.
    fn reference(lines: &[&str]) -> Vec<u64> {
        let mut tokens = std::collections::BTreeSet::new();
        for line in lines {
            for_each_token(line, |t| {
                tokens.insert(t.to_string());
            });
        }
        let mut out = Vec::new();
        for t in tokens.iter().filter(|t| indexed_token(t)) {
            out.push(token_hash(t));
            for_each_gram(t, |g| out.push(gram_hash(g)));
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    fn gathered(lines: &[&str]) -> Vec<u64> {
        let mut block = BlockTokens::new(lines.len());
        for line in lines {
            for_each_token(line, |t| {
                let start = t.as_ptr() as usize - line.as_ptr() as usize;
                block.token(line, start, start + t.len());
            });
        }
        block.finish()
    }

    #[test]
    fn keys_tell_tokens_apart_wherever_they_sit() {
        // Short lines take the copy, tokens near the end the load behind.
        let line = "a ab abc a1 a123456789012345 a1234567890123456 x a";
        let mut keys = Vec::new();
        for_each_token(line, |t| {
            let start = t.as_ptr() as usize - line.as_ptr() as usize;
            keys.push((t, token_key(line.as_bytes(), start, start + t.len())));
        });
        for (a, ka) in &keys {
            for (b, kb) in &keys {
                assert_eq!(a == b, ka == kb, "{a} vs {b}");
            }
            // The same token alone (copied) has the same key.
            assert_eq!(*ka, token_key(a.as_bytes(), 0, a.len()), "{a}");
        }
        assert_eq!(
            token_key(b"xxxxxxxxxxxxxxxxxxxxxx ab", 23, 25),
            token_key(b"ab yyyyyyyyyyyyyyyyyyyyyyy", 0, 2)
        );
    }

    #[test]
    fn gathers_every_distinct_token_once() {
        let mut lines: Vec<String> = (0..5000)
            .map(|i| {
                format!(
                    "level=info msg=\"request done\" user=u{} trace_id={:032x} took {}ms café_{}",
                    i % 300,
                    (i as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834),
                    i % 977,
                    i % 7
                )
            })
            .collect();
        lines.push("short".into());
        lines.push("a_token_of_more_than_fifteen_bytes b".into());
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_eq!(gathered(&lines), reference(&lines));
    }
}
