use thiserror::Error;

/// Ways the queue fails.
#[derive(Debug, Error)]
pub enum QueueError {
    /// NATS cannot be reached or refused the connection.
    #[error("cannot connect to NATS at {url}: {detail}")]
    Connect { url: String, detail: String },
    /// A JetStream stream could not be created or read.
    #[error("JetStream stream {stream}: {detail}")]
    Stream { stream: String, detail: String },
    /// A publish was refused or not acknowledged in time: the stream is
    /// full (past `max_bytes`) or JetStream is unavailable.
    #[error("the ingest queue did not take the push: {0}")]
    Publish(String),
    /// A batch could not be encoded, or a message decoded.
    #[error("queue message encoding: {0}")]
    Encoding(String),
    /// One entry is larger than a NATS message may be.
    #[error("an entry of {bytes} bytes is over the NATS server's max_payload of {max} bytes")]
    EntryTooLarge { bytes: usize, max: usize },
}
