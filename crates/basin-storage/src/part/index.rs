//! The block index of a part, kept in its Parquet footer under `basin.index`
//! (postcard, then base64), so a part is one self-contained file.

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

    /// Reads back what [`PartIndex::encode`] wrote.
    pub fn decode(text: &str) -> Result<Self, String> {
        decode_footer_value(text)
    }
}

/// A footer value: postcard, then base64 (Parquet's key-value metadata is
/// text in the Rust API).
pub(crate) fn encode_footer_value<T: Serialize>(value: &T) -> Result<String, String> {
    let bytes = postcard::to_allocvec(value).map_err(|e| e.to_string())?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Reads back what [`encode_footer_value`] wrote.
pub(crate) fn decode_footer_value<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| e.to_string())?;
    postcard::from_bytes(&bytes).map_err(|e| e.to_string())
}
