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

use crate::remote::Remote;

/// Where a part's bytes are: a local file, or an object in a bucket.
#[derive(Clone)]
enum Source {
    Local(Arc<File>),
    Remote(Arc<Remote>, Arc<str>),
}

impl Source {
    fn read_at(&self, buf: &mut [u8], offset: u64, len: u64) -> io::Result<usize> {
        match self {
            Source::Local(file) => file.read_at(buf, offset),
            Source::Remote(remote, key) => {
                let n = buf.len().min(len.saturating_sub(offset) as usize);
                remote.read_at(key, len, offset, &mut buf[..n])?;
                Ok(n)
            }
        }
    }
}

/// An open part file.
#[derive(Clone)]
pub struct PartFile {
    source: Source,
    len: u64,
}

impl PartFile {
    /// Wraps an open file of `len` bytes.
    pub fn new(file: File, len: u64) -> Self {
        Self {
            source: Source::Local(Arc::new(file)),
            len,
        }
    }

    /// A part that lives only in a bucket, as object `key` of `len` bytes.
    pub fn remote(remote: Arc<Remote>, key: &str, len: u64) -> Self {
        Self {
            source: Source::Remote(remote, key.into()),
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
            source: self.source.clone(),
            len: self.len,
            pos: start,
        })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let mut buf = vec![0; length];
        let read = match &self.source {
            Source::Local(file) => file.read_exact_at(&mut buf, start),
            Source::Remote(remote, key) => remote.read_at(key, self.len, start, &mut buf),
        };
        read.map_err(|e| ParquetError::External(Box::new(e)))?;
        Ok(buf.into())
    }
}

/// A reader at its own position in a shared file.
pub struct PositionedReader {
    source: Source,
    len: u64,
    pos: u64,
}

impl Read for PositionedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.source.read_at(buf, self.pos, self.len)?;
        self.pos += n as u64;
        Ok(n)
    }
}
