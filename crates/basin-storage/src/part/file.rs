//! Positional reads of a part file, shareable by concurrent scans.
//!
//! Parquet's own `File` reader seeks a shared descriptor, which races when two
//! scans read one part; `pread` has no shared position. Holding the file open
//! also keeps a part readable after a merge or retention unlinks it.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use bytes::Bytes;
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};

/// An open part file.
#[derive(Clone)]
pub struct PartFile {
    file: Arc<File>,
    len: u64,
}

impl PartFile {
    /// Wraps an open file of `len` bytes.
    pub fn new(file: File, len: u64) -> Self {
        Self {
            file: Arc::new(file),
            len,
        }
    }
}

impl Length for PartFile {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for PartFile {
    type T = PositionedReader;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(PositionedReader {
            file: self.file.clone(),
            pos: start,
        })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let mut buf = vec![0; length];
        self.file
            .read_exact_at(&mut buf, start)
            .map_err(|e| ParquetError::External(Box::new(e)))?;
        Ok(buf.into())
    }
}

/// A reader at its own position in a shared file.
pub struct PositionedReader {
    file: Arc<File>,
    pos: u64,
}

impl Read for PositionedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}
