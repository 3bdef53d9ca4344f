use thiserror::Error;

/// Why a request body was refused; nothing of a refused body is stored.
#[derive(Debug, Error)]
pub enum IngestError {
    /// The body is not what its content type says.
    #[error("malformed request body: {0}")]
    Malformed(String),
    /// The (decompressed) body is over `max_request_size_bytes`.
    #[error("request body exceeds max_request_size_bytes ({limit} bytes)")]
    BodyTooLarge { limit: usize },
    /// A `Content-Type` the protocol does not speak.
    #[error("unsupported Content-Type {got:?}: use {expected}")]
    UnsupportedContentType { got: String, expected: &'static str },
    /// A `Content-Encoding` Basin does not decode.
    #[error("unsupported Content-Encoding {0:?}: use gzip, deflate or none")]
    UnsupportedEncoding(String),
    /// A stream's labels are invalid.
    #[error("invalid labels for stream {stream:?}: {msg}")]
    InvalidLabels { stream: String, msg: String },
    /// A stream has more labels than `max_label_names_per_series`.
    #[error("stream {stream} has {count} labels, more than max_label_names_per_series ({limit})")]
    TooManyLabels {
        stream: String,
        count: usize,
        limit: usize,
    },
    /// A line is longer than `max_line_size_bytes`.
    #[error("line of {len} bytes in stream {stream} exceeds max_line_size_bytes ({limit} bytes)")]
    LineTooLong {
        stream: String,
        len: usize,
        limit: usize,
    },
    /// An entry's timestamp cannot be read.
    #[error(
        "invalid timestamp {value:?} in stream {stream}: expected nanoseconds since the epoch"
    )]
    InvalidTimestamp { stream: String, value: String },
}

impl IngestError {
    /// Whether the answer is 413 (too large) rather than 400.
    pub fn is_too_large(&self) -> bool {
        matches!(self, IngestError::BodyTooLarge { .. })
    }

    /// Whether the answer is 415 (content type not spoken) rather than 400.
    pub fn is_unsupported_type(&self) -> bool {
        matches!(self, IngestError::UnsupportedContentType { .. })
    }
}
