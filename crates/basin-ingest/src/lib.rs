//! Ingest: turns request bodies of the protocols Basin speaks into [`PushBatch`]es.
//!
//! One module per protocol (`loki_push`, `otlp`, ...), plus the rules they
//! share (`stream` checks); JSON documents become entries by
//! `basin_pipeline::json_doc`, level names are `basin_model::level`'s. Every decoder works on a body
//! already capped in size, decompresses with a cap ([`decompress`]), and checks
//! the [`IngestLimits`] so that a rejected request stores nothing: the batch is
//! only handed on once the whole body is valid. Depends on `basin-model` and
//! `basin-pipeline` (and the wire formats' crates); no I/O.
//!
//! [`PushBatch`]: basin_model::PushBatch

pub mod decompress;
mod error;
pub mod es_bulk;
mod limits;
pub mod loki_push;
pub mod ndjson;
pub mod otlp;
mod stream;
pub mod syslog;

pub use error::IngestError;
pub use limits::IngestLimits;
