//! Ingest: turns request bodies of the protocols Basin speaks into [`PushBatch`]es.
//!
//! One module per protocol (`loki_push` so far). Every decoder works on a body
//! already capped in size, decompresses with a cap ([`decompress`]), and checks
//! the [`IngestLimits`] so that a rejected request stores nothing: the batch is
//! only handed on once the whole body is valid. Depends on `basin-model` only.
//!
//! [`PushBatch`]: basin_model::PushBatch

pub mod decompress;
mod error;
mod limits;
pub mod loki_push;

pub use error::IngestError;
pub use limits::IngestLimits;
