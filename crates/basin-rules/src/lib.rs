//! Rules: what watches the logs so that nobody has to.
//!
//! Rule groups in Loki's rule-file YAML ([`group`]), checked as Loki checks
//! them ([`validate`]), with Prometheus' Go templates in labels and
//! annotations ([`template`]). Evaluation talks to a query trait, never to
//! storage. Depends on `basin-model` and `basin-logql`.

pub mod alerting;
pub mod config;
mod error;
pub mod exposition;
pub mod gofmt;
pub mod group;
pub mod history;
pub mod log_metrics;
pub mod new_patterns;
pub mod notify;
pub mod querier;
pub mod remote_write;
pub mod ruler;
pub mod runner;
pub mod stats;
pub mod status;
pub mod store;
pub mod template;
mod template_funcs;
pub mod validate;

pub use error::RulesError;
pub use group::{Rule, RuleGroup, RuleKind};
