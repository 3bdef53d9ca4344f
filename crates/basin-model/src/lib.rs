//! Basin's data model: the types every stage shares.
//!
//! A log line travels as an [`Entry`] inside a [`StreamBatch`] (entries of one
//! stream, identified by its [`Labels`]) inside a [`PushBatch`] (everything one
//! request of one [`TenantId`] carried). This crate does no I/O and no async;
//! every other crate may depend on it, it depends on none of them.

mod error;
pub mod exposition;
mod labels;
pub mod level;
mod record;
mod tenant;

pub use error::ModelError;
pub use labels::{is_valid_label_name, sanitize_label_name, Labels, StreamId};
pub use record::{Entry, PushBatch, StreamBatch, TimestampNs};
pub use tenant::TenantId;
