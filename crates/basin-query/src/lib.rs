//! Query execution: runs LogQL over the store.
//!
//! Log queries run the stream selector and time range down to storage (with
//! the tokens of leading `|=` filters, so blocks that cannot match are
//! skipped), then each candidate line through the compiled [`pipeline`].
//! Depends on `basin-model`, `basin-logql` and `basin-storage`.

mod error;
mod filter_line;
mod filter_stream;
mod ip;
pub mod label_set;
mod pipe_label_filter;
mod pipe_parse;
pub mod pipeline;
mod select;
mod template;

pub use error::QueryError;
pub use filter_stream::StreamFilter;
pub use select::{select_logs, Direction, LogRow, LogSelect, LogSelection};
