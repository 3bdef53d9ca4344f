//! The ingest queue between ingest nodes and indexers (NATS JetStream).
//!
//! An ingest node parses a push, then [`Publisher::publish`]es it: each
//! stream goes to one of `partitions` JetStream streams (by the hash of its
//! labels), and the client is answered only once JetStream has acknowledged
//! every message of the push. Each partition has one indexer, which
//! [`consume`]s it in order and acknowledges a message only once its lines
//! are durable in the indexer's WAL.
//!
//! Exactly once: a partition's messages carry rising stream sequence
//! numbers. The indexer stores the sequence of each batch with it (the
//! store's queue position); a message at or below the position is a
//! redelivery of something already stored, and is acknowledged without
//! being applied again. Publishes carry a message id, so JetStream drops a
//! retried publish it already holds.

mod config;
mod consume;
mod error;
mod message;
mod publish;
mod stats;

pub use config::QueueConfig;
pub use consume::consume;
pub use error::QueueError;
pub use publish::Publisher;
pub use stats::QueueStats;
