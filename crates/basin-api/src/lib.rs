//! The HTTP API: Loki's routes under `/loki/api/v1/`, the other ingest
//! protocols (OTLP, ...), `/ready` and `/metrics`.
//!
//! Handlers decode requests with `basin-ingest`, write through
//! `basin-storage`, read through `basin-query`, and answer in Loki's shapes.
//! [`ApiError`] is the one place errors become HTTP statuses.

pub mod auth;
pub mod compaction_stats;
pub mod deletes;
mod encode;
mod error;
mod ingest_counters;
pub mod line_matcher;
mod origin_guard;
mod params;
pub mod patterns_state;
pub mod peers;
mod query_slots;
mod range_checks;
mod role_guard;
mod routes;
pub mod rule_querier;
mod state;
pub mod stream_retention;
pub mod syslog_listen;
pub mod tls;

pub use error::ApiError;
pub use routes::router;
pub use state::{ApiLimits, AppState, Protocols, Role};
