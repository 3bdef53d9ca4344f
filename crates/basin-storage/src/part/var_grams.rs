//! Which trigrams a block's variable column holds (part format 8 on), so a
//! `|=` count skips the columns its needle cannot be in.
//!
//! A needle of token bytes that a skeleton does not hold can only lie inside
//! one variable, and then every trigram of the needle is a trigram of that
//! value. Byte classes ([`super::line_codec::byte_mask`]) rarely rule a
//! column out for a word (`error` needs only `e`, `r` and `o`); these sets
//! do: on the loghub corpus no variable holds `error`, yet every column of
//! every block it did not prune was read for it.

use serde::{Deserialize, Serialize};

use crate::tokens::for_each_gram;

/// Footer key holding, per block, each variable column's [`GramSet`].
pub const VAR_GRAMS_KEY: &str = "basin.var_grams";

/// 512 bits, one a trigram (one hash): a column of 200 distinct trigrams
/// (the 90th percentile on the loghub corpus) sets a third of them, so a
/// three-trigram word passes in vain about once in 27 columns.
const WORDS: usize = 8;

/// The trigrams of a column's values, as bits; like block filters, only
/// trigrams with a byte other than a hex digit (ids set nearly all others).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GramSet([u64; WORDS]);

impl GramSet {
    /// Adds the trigrams of `value`, a variable.
    pub fn add(&mut self, value: &str) {
        for_each_gram(value, |g| {
            let bit = bit_of(g);
            self.0[bit / 64] |= 1 << (bit % 64);
        });
    }

    /// Whether a value holding all of `grams` may be in the column.
    pub fn may_hold(&self, grams: &[[u8; 3]]) -> bool {
        grams.iter().all(|&g| {
            let bit = bit_of(g);
            self.0[bit / 64] >> (bit % 64) & 1 == 1
        })
    }
}

/// The trigrams a set is probed with for `needle` (a needle of token bytes).
pub fn needle_grams(needle: &str) -> Vec<[u8; 3]> {
    let mut grams = Vec::new();
    for_each_gram(needle, |g| grams.push(g));
    grams.sort_unstable();
    grams.dedup();
    grams
}

/// A trigram's bit (Fibonacci hashing of its bytes).
fn bit_of(g: [u8; 3]) -> usize {
    (u32::from_le_bytes([g[0], g[1], g[2], 0]).wrapping_mul(0x9E37_79B1) >> 23) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_holding_the_needle_always_passes() {
        let mut set = GramSet::default();
        for v in ["blk_42", "attempt_1445_m_7", "u17", "R31"] {
            set.add(v);
        }
        for needle in ["blk_4", "attempt", "empt_14", "u17", "R31", "m_7"] {
            assert!(set.may_hold(&needle_grams(needle)), "{needle}");
        }
        assert!(!set.may_hold(&needle_grams("error")));
        // Hex-only trigrams are neither kept nor asked for.
        assert!(needle_grams("1445").is_empty());
        assert!(GramSet::default().may_hold(&needle_grams("42")));
    }

    #[test]
    fn bits_stay_in_range() {
        for a in 0..=255u8 {
            assert!(bit_of([a, 255, 255]) < WORDS * 64);
        }
    }
}
