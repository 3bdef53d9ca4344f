//! The block index of a part, kept in the part file under `basin.index`
//! (see [`encode_value`]), so a part is one self-contained file; and how
//! Basin's values are stored in a part.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::token_filter::TokenFilter;

/// Footer key holding the index.
pub const INDEX_KEY: &str = "basin.index";
/// Footer key holding the part format version.
pub const VERSION_KEY: &str = "basin.format_version";

/// What a scan needs to know about a part without reading its blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartIndex {
    /// Streams in the part: id and label text.
    pub streams: Vec<(u64, String)>,
    /// One entry per block (row group), in order.
    pub blocks: Vec<BlockIndex>,
}

/// One block's time range, streams and tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockIndex {
    /// Earliest entry time.
    pub min_ts: i64,
    /// Latest entry time.
    pub max_ts: i64,
    /// Rows in the block.
    pub rows: u32,
    /// Positions in [`PartIndex::streams`] of the streams in the block.
    pub streams: Vec<u32>,
    /// Tokens of lines and field values, and exact field pairs.
    pub tokens: TokenFilter,
}

/// A footer value, from format 6 on: zstd-compressed bytes written in the
/// file's body after the last block; the Parquet footer holds where they
/// are, as `"{offset} {length}"`. Parquet readers skip bytes no column chunk
/// points at, and raw bytes cost a quarter less than the base64 text older
/// formats kept in the footer (and are not held in Parquet's metadata).
pub(crate) fn encode_value<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
    let bytes = postcard::to_allocvec(value).map_err(|e| e.to_string())?;
    zstd::bulk::compress(&bytes, 3).map_err(|e| e.to_string())
}

/// Reads back a value from its uncompressed bytes (see [`stored_value`]).
pub(crate) fn decode_value<T: for<'de> Deserialize<'de>>(raw: &[u8]) -> Result<T, String> {
    postcard::from_bytes(raw).map_err(|e| e.to_string())
}

/// The footer text pointing at a value written at `offset`.
pub(crate) fn value_pointer(offset: usize, len: usize) -> String {
    format!("{offset} {len}")
}

/// The stored bytes of a footer value as format `version` keeps them, from
/// its footer `text`: base64 before format 6 (zstd-compressed from 5 on),
/// else read by `read_at` from where `text` points.
pub(crate) fn stored_value(
    version: u32,
    text: &str,
    read_at: impl FnOnce(u64, usize) -> Result<Vec<u8>, String>,
) -> Result<Vec<u8>, String> {
    if version < 6 {
        return base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| e.to_string());
    }
    let (offset, len) = text
        .split_once(' ')
        .and_then(|(o, l)| Some((o.parse::<u64>().ok()?, l.parse::<usize>().ok()?)))
        .ok_or_else(|| format!("footer value pointer {text:?} is not \"offset length\""))?;
    read_at(offset, len)
}

/// Uncompresses stored bytes (formats 5 on compress them).
pub(crate) fn unpack(stored: Vec<u8>, version: u32) -> Result<Vec<u8>, String> {
    if version < 5 {
        return Ok(stored);
    }
    zstd::decode_all(stored.as_slice()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_their_pointer() {
        let value = vec![(1u64, "a".to_string()), (2, "b".to_string())];
        let stored = encode_value(&value).unwrap();
        let mut file = vec![0u8; 10];
        file.extend_from_slice(&stored);
        let read_at = |offset: u64, len: usize| {
            let at = offset as usize;
            Ok(file[at..at + len].to_vec())
        };
        let pointer = value_pointer(10, stored.len());
        let back = stored_value(6, &pointer, read_at).unwrap();
        let raw = unpack(back, 6).unwrap();
        assert_eq!(decode_value::<Vec<(u64, String)>>(&raw).unwrap(), value);
    }

    #[test]
    fn bad_pointers_are_errors() {
        let never = |_: u64, _: usize| -> Result<Vec<u8>, String> { panic!("not read") };
        for text in ["", "12", "12 x", "-1 3", "1 2 3"] {
            assert!(stored_value(6, text, never).is_err(), "{text:?}");
        }
        assert!(unpack(b"not zstd".to_vec(), 6).is_err());
    }
}
