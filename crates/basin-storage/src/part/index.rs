//! The block index of a part, kept in its Parquet footer under `basin.index`
//! (postcard, zstd from format 5 on, then base64), so a part is one
//! self-contained file.

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

impl PartIndex {
    /// Serialises for the footer.
    pub fn encode(&self) -> Result<String, String> {
        encode_footer_value(self)
    }

    /// Reads back what [`PartIndex::encode`] wrote (`packed`: format 5 on).
    pub fn decode(text: &str, packed: bool) -> Result<Self, String> {
        decode_footer_value(text, packed)
    }
}

/// A footer value: postcard, then [`pack_footer_bytes`].
pub(crate) fn encode_footer_value<T: Serialize>(value: &T) -> Result<String, String> {
    let bytes = postcard::to_allocvec(value).map_err(|e| e.to_string())?;
    pack_footer_bytes(&bytes)
}

/// Reads back what [`encode_footer_value`] wrote; `packed` for format 5
/// on (before it, values were not compressed).
pub(crate) fn decode_footer_value<T: for<'de> Deserialize<'de>>(
    text: &str,
    packed: bool,
) -> Result<T, String> {
    let bytes = unpack_footer_bytes(text, packed)?;
    postcard::from_bytes(&bytes).map_err(|e| e.to_string())
}

/// Footer bytes as text: zstd (counts and stream lists shrink to a third;
/// bloom bits do not, but cost nothing more), then base64, as Parquet's
/// key-value metadata is text in the Rust API.
pub(crate) fn pack_footer_bytes(bytes: &[u8]) -> Result<String, String> {
    let packed = zstd::bulk::compress(bytes, 3).map_err(|e| e.to_string())?;
    Ok(base64::engine::general_purpose::STANDARD.encode(packed))
}

/// Reads back what [`pack_footer_bytes`] wrote (or, not `packed`, base64 alone).
pub(crate) fn unpack_footer_bytes(text: &str, packed: bool) -> Result<Vec<u8>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| e.to_string())?;
    if !packed {
        return Ok(bytes);
    }
    zstd::decode_all(bytes.as_slice()).map_err(|e| e.to_string())
}
