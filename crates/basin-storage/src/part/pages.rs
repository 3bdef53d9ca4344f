//! A part's blocks as Parquet's Arrow reader reads them, but with one zstd
//! decompression context per thread. Parquet's page reader builds a zstd
//! compression and a decompression context for every column chunk it opens
//! (a seventh of a `|=` count went there: a count opens a chunk per block
//! and variable column), so zstd chunks are opened as if uncompressed and
//! their pages decompressed here.

use std::cell::RefCell;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use parquet::arrow::arrow_reader::RowGroups;
use parquet::basic::Compression;
use parquet::column::page::{Page, PageIterator, PageMetadata, PageReader};
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::{ColumnChunkMetaData, ParquetMetaData, RowGroupMetaData};
use parquet::file::reader::{ChunkReader, Length};
use parquet::file::serialized_reader::SerializedPageReader;

use super::file::PartFile;

/// Most bytes a page without a stated size may decompress to.
const MAX_PAGE_BYTES: u64 = 256 << 20;

thread_local! {
    /// The thread's zstd decompression context, kept between pages.
    static ZSTD: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Some blocks (row groups) of a part.
pub(super) struct Blocks {
    file: Arc<PartFile>,
    meta: Arc<ParquetMetaData>,
    blocks: Vec<usize>,
}

impl Blocks {
    /// `blocks` of the part in `file` described by `meta`.
    pub(super) fn new(file: PartFile, meta: Arc<ParquetMetaData>, blocks: Vec<usize>) -> Self {
        Self {
            file: Arc::new(file),
            meta,
            blocks,
        }
    }
}

impl RowGroups for Blocks {
    fn num_rows(&self) -> usize {
        self.blocks
            .iter()
            .map(|&b| self.meta.row_group(b).num_rows() as usize)
            .sum()
    }

    fn column_chunks(&self, column: usize) -> Result<Box<dyn PageIterator>> {
        Ok(Box::new(Chunks {
            file: self.file.clone(),
            meta: self.meta.clone(),
            column,
            blocks: self.blocks.clone().into_iter(),
        }))
    }

    fn row_groups(&self) -> Box<dyn Iterator<Item = &RowGroupMetaData> + '_> {
        Box::new(self.blocks.iter().map(|&b| self.meta.row_group(b)))
    }

    fn metadata(&self) -> &ParquetMetaData {
        &self.meta
    }
}

/// One column's chunks in the blocks, opened one at a time.
struct Chunks {
    file: Arc<PartFile>,
    meta: Arc<ParquetMetaData>,
    column: usize,
    blocks: std::vec::IntoIter<usize>,
}

impl Chunks {
    fn open(&self, block: usize) -> Result<Box<dyn PageReader>> {
        let rg = self.meta.row_group(block);
        let chunk = rg.column(self.column);
        let rows = rg.num_rows() as usize;
        let bytes = Arc::new(ChunkBytes::read(&self.file, chunk)?);
        // With the pages' places, pages a row selection skips are passed
        // over unread; without, each is decompressed to learn its rows.
        let pages = self
            .meta
            .page_index_for_row_group(block)
            .page_locations(self.column)
            .cloned();
        if !matches!(chunk.compression(), Compression::ZSTD(_)) {
            return Ok(Box::new(SerializedPageReader::new(
                bytes, chunk, rows, pages,
            )?));
        }
        let plain = chunk
            .clone()
            .into_builder()
            .set_compression(Compression::UNCOMPRESSED)
            .build()?;
        Ok(Box::new(Decompressing(SerializedPageReader::new(
            bytes, &plain, rows, pages,
        )?)))
    }
}

/// One column chunk's bytes, read with one `pread` and addressed by their
/// offsets in the file. Parquet's page reader reads each page header a few
/// bytes at a time: straight from the file, one block of a needle query
/// cost 688 `pread`s.
struct ChunkBytes {
    start: u64,
    bytes: Bytes,
}

impl ChunkBytes {
    /// Reads `chunk` from `file`, checking its stated place first: the
    /// metadata comes from the file and may be damaged.
    fn read(file: &PartFile, chunk: &ColumnChunkMetaData) -> Result<Self> {
        let start = chunk
            .dictionary_page_offset()
            .unwrap_or_else(|| chunk.data_page_offset());
        let len = chunk.compressed_size();
        let (Ok(start), Ok(len)) = (u64::try_from(start), u64::try_from(len)) else {
            return Err(ParquetError::General(format!(
                "column chunk at {start} of {len} bytes"
            )));
        };
        if start.checked_add(len).is_none_or(|end| end > file.len()) {
            return Err(ParquetError::General(format!(
                "column chunk at {start} of {len} bytes past the part's end ({})",
                file.len()
            )));
        }
        Ok(Self {
            start,
            bytes: file.get_bytes(start, len as usize)?,
        })
    }

    /// Where `offset` of the file lies in the chunk's bytes.
    fn at(&self, offset: u64, len: usize) -> Result<usize> {
        offset
            .checked_sub(self.start)
            .and_then(|at| usize::try_from(at).ok())
            .filter(|&at| {
                at.checked_add(len)
                    .is_some_and(|end| end <= self.bytes.len())
            })
            .ok_or_else(|| {
                ParquetError::General(format!(
                    "read of {len} bytes at {offset} outside its column chunk"
                ))
            })
    }
}

impl Length for ChunkBytes {
    fn len(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }
}

impl ChunkReader for ChunkBytes {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> Result<Self::T> {
        let at = self.at(start, 0)?;
        Ok(self.bytes.slice(at..).reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> Result<Bytes> {
        let at = self.at(start, length)?;
        Ok(self.bytes.slice(at..at + length))
    }
}

impl Iterator for Chunks {
    type Item = Result<Box<dyn PageReader>>;

    fn next(&mut self) -> Option<Self::Item> {
        let block = self.blocks.next()?;
        Some(self.open(block))
    }
}

impl PageIterator for Chunks {}

/// The pages of a zstd chunk opened as uncompressed, decompressed.
struct Decompressing(SerializedPageReader<ChunkBytes>);

impl Iterator for Decompressing {
    type Item = Result<Page>;

    fn next(&mut self) -> Option<Self::Item> {
        self.get_next_page().transpose()
    }
}

impl PageReader for Decompressing {
    fn get_next_page(&mut self) -> Result<Option<Page>> {
        let Some(mut page) = self.0.get_next_page()? else {
            return Ok(None);
        };
        match &mut page {
            Page::DataPage { buf, .. } | Page::DictionaryPage { buf, .. } => {
                *buf = decompress(buf, 0)?;
            }
            Page::DataPageV2 {
                buf,
                def_levels_byte_len,
                rep_levels_byte_len,
                is_compressed,
                ..
            } => {
                if *is_compressed {
                    let levels = (*def_levels_byte_len + *rep_levels_byte_len) as usize;
                    *buf = decompress(buf, levels)?;
                    *is_compressed = false;
                }
            }
        }
        Ok(Some(page))
    }

    fn peek_next_page(&mut self) -> Result<Option<PageMetadata>> {
        self.0.peek_next_page()
    }

    fn skip_next_page(&mut self) -> Result<()> {
        self.0.skip_next_page()
    }
}

/// `buf` with its bytes after `keep` (a v2 page's levels, never compressed)
/// decompressed.
fn decompress(buf: &Bytes, keep: usize) -> Result<Bytes> {
    let (levels, frame) = buf
        .split_at_checked(keep)
        .ok_or_else(|| ParquetError::General("page levels past its end".into()))?;
    if frame.is_empty() {
        return Ok(buf.clone());
    }
    let Some(size) = zstd::zstd_safe::get_frame_content_size(frame)
        .ok()
        .flatten()
    else {
        // Parquet's writer states every frame's size; a stream may not. A
        // block's page is far below the cap, so a damaged one stops there.
        let mut out = levels.to_vec();
        let decoder = zstd::stream::read::Decoder::new(frame)
            .map_err(|e| ParquetError::External(e.into()))?;
        std::io::Read::read_to_end(&mut std::io::Read::take(decoder, MAX_PAGE_BYTES), &mut out)
            .map_err(|e| ParquetError::External(e.into()))?;
        return Ok(Bytes::from(out));
    };
    // The size comes from the file: a damaged frame header may state
    // exabytes, and allocating that would abort the process.
    let size = usize::try_from(size)
        .ok()
        .filter(|&n| n as u64 <= MAX_PAGE_BYTES)
        .ok_or_else(|| {
            ParquetError::General(format!(
                "zstd page states {size} bytes, more than any page holds ({MAX_PAGE_BYTES})"
            ))
        })?;
    let mut out = Vec::with_capacity(levels.len() + size);
    out.extend_from_slice(levels);
    ZSTD.with(|cell| {
        let mut slot = cell.borrow_mut();
        let zstd = match slot.as_mut() {
            Some(z) => z,
            None => slot.insert(
                zstd::bulk::Decompressor::new().map_err(|e| ParquetError::External(e.into()))?,
            ),
        };
        let mut cursor = std::io::Cursor::new(&mut out);
        cursor.set_position(levels.len() as u64);
        zstd.decompress_to_buffer(frame, &mut cursor)
            .map_err(|e| ParquetError::External(e.into()))
    })?;
    if out.len() != levels.len() + size {
        return Err(ParquetError::General(
            "zstd page shorter than stated".into(),
        ));
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn pages_decompress_after_their_levels() {
        let text = b"values of a page ".repeat(100);
        let frame = zstd::bulk::compress(&text, 1).unwrap();
        let mut page = b"LEVELS".to_vec();
        page.extend_from_slice(&frame);
        let out = decompress(&Bytes::from(page), 6).unwrap();
        assert_eq!(&out[..6], b"LEVELS");
        assert_eq!(&out[6..], &text[..]);
        // A second page reuses the thread's context.
        assert_eq!(decompress(&Bytes::from(frame), 0).unwrap(), &text[..]);
    }

    #[test]
    fn chunk_bytes_answer_only_inside_the_chunk() {
        let chunk = ChunkBytes {
            start: 100,
            bytes: Bytes::from_static(b"0123456789"),
        };
        assert_eq!(chunk.len(), 110);
        assert_eq!(chunk.get_bytes(102, 3).unwrap(), &b"234"[..]);
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut chunk.get_read(107).unwrap(), &mut rest).unwrap();
        assert_eq!(rest, "789");
        assert!(chunk.get_bytes(99, 2).is_err());
        assert!(chunk.get_bytes(108, 3).is_err());
        assert!(chunk.get_read(111).is_err());
        assert!(chunk.get_bytes(u64::MAX, 1).is_err());
    }

    #[test]
    fn damaged_pages_are_errors() {
        assert!(decompress(&Bytes::from_static(b"abc"), 9).is_err());
        assert!(decompress(&Bytes::from_static(b"not zstd at all"), 0).is_err());
        // Found by the `part_reader` fuzz target: a frame header stating
        // exabytes made the reader allocate them and abort. A frame with
        // an 8-byte content size and one empty raw block:
        let mut frame = vec![0x28, 0xB5, 0x2F, 0xFD, 0xE0];
        frame.extend_from_slice(&0x3c04_0280_b800_010d_u64.to_le_bytes());
        frame.extend_from_slice(&[0x01, 0x00, 0x00]);
        let err = decompress(&Bytes::from(frame), 0).unwrap_err().to_string();
        assert!(err.contains("more than any page holds"), "{err}");
    }

    #[test]
    fn frames_without_their_size_decompress_too() {
        let mut streamed = zstd::stream::Encoder::new(Vec::new(), 1).unwrap();
        streamed.write_all(b"streamed").unwrap();
        let streamed = streamed.finish().unwrap();
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&streamed)
                .ok()
                .flatten(),
            None
        );
        assert_eq!(
            decompress(&Bytes::from(streamed), 0).unwrap(),
            &b"streamed"[..]
        );
    }
}
