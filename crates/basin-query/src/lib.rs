//! Query execution: runs LogQL over the store.
//!
//! Log queries run the stream selector and time range down to storage (with
//! the tokens of leading `|=` filters, so blocks that cannot match are
//! skipped), then each candidate line through the compiled [`pipeline`].
//! Metric queries ([`metric`]) read the store once per range aggregation and
//! evaluate aggregations and operators step by step.
//! Depends on `basin-model`, `basin-logql` and `basin-storage`.

mod agg_range;
mod agg_vector;
mod binary;
mod context;
pub mod deletes;
pub mod detect;
pub mod entry_selector;
mod error;
mod filter_line;
mod filter_stream;
mod ip;
pub mod label_set;
mod memory;
pub mod metric;
pub mod pattern_counts;
mod pipe_label_filter;
mod pipe_parse;
pub mod pipeline;
mod select;
mod template;

pub use context::{CancelOnDrop, QueryContext};
pub use error::QueryError;
pub use filter_stream::StreamFilter;
pub use memory::MemoryPool;
pub use metric::{eval_metric, MetricQuery, MetricResult, Series, Steps, Value};
pub use select::{select_logs, Direction, LogRow, LogSelect, LogSelection};
