//! Storage: where log lines are kept, durably and compressed.
//!
//! A push goes to the write-ahead log ([`wal`]) in groups, one fsync a group,
//! and is acknowledged once durable; it then sits in the in-memory [`head`],
//! queryable at once. The maintenance thread freezes the head, writes it as
//! immutable Parquet [`part`]s (per tenant and day, rows sorted by stream then
//! time, one block index per part), records them in the [`manifest`], and
//! deletes the WAL segments they cover. It also merges small parts
//! ([`merge`]) and drops expired ones ([`retention`]).
//!
//! Depends on `basin-model` only; queries reach it through [`Storage::scan`].

mod config;
pub mod disk;
mod engine;
mod error;
pub mod filenames;
mod handoff;
mod head;
pub mod limits;
mod maintenance;
mod manifest;
mod merge;
pub mod part;
pub mod remote;
mod retention;
mod scan;
mod time;
pub mod token_filter;
pub mod tokens;
mod view;
pub mod wal;

pub use config::{LineEncoding, StorageConfig};
pub use engine::Storage;
pub use error::StorageError;
pub use handoff::merge_in_bucket;
pub use manifest::PartMeta;
pub use merge::plan_merges;
pub use scan::{Columns, FieldPairs, ParallelRunSink, RunSink, RunTimes, ScanRequest, ScanStats};
pub use view::{OpenRemote, Snapshot};
