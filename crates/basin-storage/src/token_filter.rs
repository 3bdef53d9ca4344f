//! A bloom filter over a block's tokens: "may hold" or "surely does not".

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use crate::limits::{BLOOM_BITS_PER_TOKEN, BLOOM_HASHES};

/// Hash of a token as the filter stores it.
pub fn token_hash(token: &str) -> u64 {
    xxh3_64(token.as_bytes())
}

/// Hash of a trigram inside a token; the leading 0xff (never in UTF-8 text)
/// keeps trigram and token hashes apart.
pub fn gram_hash(gram: [u8; 3]) -> u64 {
    xxh3_64(&[0xff, gram[0], gram[1], gram[2]])
}

/// Hash of an exact `field=value` pair, so equality filters on fields prune too.
pub fn field_hash(name: &str, value: &str) -> u64 {
    let mut key = Vec::with_capacity(name.len() + value.len() + 1);
    key.extend_from_slice(name.as_bytes());
    key.push(0);
    key.extend_from_slice(value.as_bytes());
    xxh3_64(&key)
}

/// A bloom filter of 64-bit words, probed by double hashing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenFilter {
    words: Vec<u64>,
}

impl TokenFilter {
    /// Builds a filter holding `hashes` (duplicates allowed).
    pub fn build(hashes: &[u64]) -> Self {
        let bits = (hashes.len() * BLOOM_BITS_PER_TOKEN).max(64);
        let mut filter = Self {
            words: vec![0; bits.div_ceil(64)],
        };
        let nbits = (filter.words.len() * 64) as u64;
        for &h in hashes {
            for bit in bits_of(h, nbits) {
                filter.words[(bit / 64) as usize] |= 1 << (bit % 64);
            }
        }
        filter
    }

    /// Whether `hash` may have been inserted; `false` is certain.
    pub fn may_contain(&self, hash: u64) -> bool {
        let words = &self.words;
        bits_of(hash, (words.len() * 64) as u64)
            .all(|bit| words[(bit / 64) as usize] & (1 << (bit % 64)) != 0)
    }

    /// Bytes the filter occupies.
    pub fn size_bytes(&self) -> usize {
        self.words.len() * 8
    }
}

/// The bits of `hash` in a filter of `nbits`: `(h1 + i * h2) % nbits` for
/// `i` in `0..BLOOM_HASHES`, found by adding `h2 % nbits` and wrapping,
/// with two divisions (a division a bit was 2% of ingest).
fn bits_of(hash: u64, nbits: u64) -> impl Iterator<Item = u64> {
    let (h1, h2) = split(hash);
    let step = h2 % nbits;
    let mut bit = h1 % nbits;
    (0..BLOOM_HASHES).map(move |_| {
        let at = bit;
        // Wrapped without a branch: whether it wraps is a coin flip.
        let next = bit + step;
        bit = next - (nbits & 0u64.wrapping_sub(u64::from(next >= nbits)));
        at
    })
}

fn split(hash: u64) -> (u64, u64) {
    (hash & 0xffff_ffff, (hash >> 32) | 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let present: Vec<u64> = (0..10_000)
            .map(|i| token_hash(&format!("tok{i}")))
            .collect();
        let filter = TokenFilter::build(&present);
        assert!(present.iter().all(|&h| filter.may_contain(h)));
        let false_positives = (0..10_000)
            .filter(|i| filter.may_contain(token_hash(&format!("other{i}"))))
            .count();
        assert!(false_positives < 300, "{false_positives} false positives");
    }

    #[test]
    fn bits_are_the_double_hashing_of_the_stored_format() {
        // Parts on disk were written with `(h1 + i * h2) % nbits`.
        let mut hash = 0x0123_4567_89ab_cdefu64;
        for nbits in [64u64, 128, 640, 8_192 * 64, 1_000_000 * 64] {
            for _ in 0..1000 {
                hash = hash.wrapping_mul(6364136223846793005).wrapping_add(1);
                let (h1, h2) = split(hash);
                let want: Vec<u64> = (0..u64::from(BLOOM_HASHES))
                    .map(|i| (h1 + i * h2) % nbits)
                    .collect();
                assert_eq!(bits_of(hash, nbits).collect::<Vec<_>>(), want);
            }
        }
    }

    #[test]
    fn empty_filter_holds_nothing() {
        let filter = TokenFilter::build(&[]);
        assert!(!filter.may_contain(token_hash("x")));
        assert_eq!(filter.size_bytes(), 8);
    }
}
