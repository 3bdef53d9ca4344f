//! Decompression of request bodies, capped so a small bomb cannot fill memory.

use std::io::Read;

use flate2::read::{GzDecoder, ZlibDecoder};

use crate::IngestError;

/// Decodes `body` per its `Content-Encoding`; the result is at most `limit` bytes.
pub fn decode_content_encoding(
    body: &[u8],
    encoding: Option<&str>,
    limit: usize,
) -> Result<Vec<u8>, IngestError> {
    match encoding.map(|e| e.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("identity") => Ok(body.to_vec()),
        Some("gzip") | Some("x-gzip") => read_capped(GzDecoder::new(body), limit),
        Some("deflate") => read_capped(ZlibDecoder::new(body), limit),
        Some(other) => Err(IngestError::UnsupportedEncoding(other.to_string())),
    }
}

/// Decodes a snappy block (Loki's protobuf framing), refusing outputs over `limit`.
pub fn decode_snappy(body: &[u8], limit: usize) -> Result<Vec<u8>, IngestError> {
    let len = snap::raw::decompress_len(body)
        .map_err(|e| IngestError::Malformed(format!("snappy: {e}")))?;
    if len > limit {
        return Err(IngestError::BodyTooLarge { limit });
    }
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| IngestError::Malformed(format!("snappy: {e}")))
}

fn read_capped(reader: impl Read, limit: usize) -> Result<Vec<u8>, IngestError> {
    let mut out = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| IngestError::Malformed(format!("cannot decompress body: {e}")))?;
    if out.len() > limit {
        return Err(IngestError::BodyTooLarge { limit });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::{write::GzEncoder, Compression};

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn gzip_round_trip_and_cap() {
        let data = vec![b'a'; 10_000];
        let gz = gzip(&data);
        assert_eq!(
            decode_content_encoding(&gz, Some("gzip"), 10_000).unwrap(),
            data
        );
        assert!(matches!(
            decode_content_encoding(&gz, Some("gzip"), 9_999),
            Err(IngestError::BodyTooLarge { .. })
        ));
        assert!(matches!(
            decode_content_encoding(b"not gzip", Some("gzip"), 100),
            Err(IngestError::Malformed(_))
        ));
        assert!(matches!(
            decode_content_encoding(b"x", Some("br"), 100),
            Err(IngestError::UnsupportedEncoding(_))
        ));
    }

    #[test]
    fn snappy_cap() {
        let data = vec![b'z'; 5_000];
        let block = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        assert_eq!(decode_snappy(&block, 5_000).unwrap(), data);
        assert!(decode_snappy(&block, 4_999).is_err());
        assert!(decode_snappy(b"\xff\xff\xff\xff\xff", 100).is_err());
    }
}
