use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// What went wrong in storage.
#[derive(Debug, Error)]
pub enum StorageError {
    /// A file system operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A file on disk is not what Basin wrote.
    #[error("corrupt file {path}: {detail}")]
    Corruption { path: PathBuf, detail: String },
    /// Parquet encoding or decoding failed.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Arrow array handling failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// A record could not be serialised.
    #[error("encoding: {0}")]
    Encode(String),
    /// The disk is full, or below `min_free_disk_bytes`: writes are refused
    /// until space returns; reads go on.
    #[error("disk full: {0}")]
    DiskFull(String),
    /// The store is shutting down and takes no more writes.
    #[error("storage is closed")]
    Closed,
    /// The object store refused or failed a request.
    #[error("object store: {0}")]
    Remote(String),
    /// A request to the store asked for something it cannot do.
    #[error("{0}")]
    Invalid(String),
}

impl StorageError {
    /// Wraps an I/O error with the operation and path it concerned.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StorageError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

impl StorageError {
    /// Whether this says a file's bytes are damaged (torn, flipped, not
    /// Basin's), rather than that reading it failed for now.
    pub fn is_damage(&self) -> bool {
        match self {
            StorageError::Corruption { .. } | StorageError::Parquet(_) | StorageError::Arrow(_) => {
                true
            }
            StorageError::Io { source, .. } => matches!(
                source.kind(),
                io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidData
            ),
            _ => false,
        }
    }

    /// Whether this failure is for lack of disk space (and so passes once
    /// space returns).
    pub fn is_disk_full(&self) -> bool {
        match self {
            StorageError::DiskFull(_) => true,
            StorageError::Io { source, .. } => crate::disk::is_out_of_space(source),
            _ => false,
        }
    }
}

/// Storage's result type.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;
