//! Query execution: runs LogQL over the store.
//!
//! So far: log queries (stream selector and line filters) with a time range,
//! a limit and a direction, the read path of Loki's `query_range` for
//! `streams` results. The planner turns `|=` needles into tokens that let the
//! store skip blocks; the executor checks each candidate line exactly.
//! Depends on `basin-model`, `basin-logql` and `basin-storage`.

mod error;
mod filter_line;
mod filter_stream;
mod select;

pub use error::QueryError;
pub use select::{select_logs, Direction, LogSelect, LogSelection, StreamEntries};
