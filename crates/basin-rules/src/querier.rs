//! What the ruler needs from the query engine, as a trait, so that rules
//! never reach into storage and tests can feed fixed results.

use std::collections::BTreeMap;

use basin_logql::{LogExpr, MetricExpr};
use basin_model::TenantId;

use crate::new_patterns::NewPattern;

/// One series of an instant query's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series' labels.
    pub labels: BTreeMap<String, String>,
    /// Its value at the evaluation time.
    pub value: f64,
}

/// A log line picked to show in a notification.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SampleLine {
    /// Entry time, nanoseconds since the epoch.
    pub ts: i64,
    /// The line's labels (stream labels, metadata and parsed fields).
    pub labels: BTreeMap<String, String>,
    /// The line.
    pub line: String,
}

/// Runs LogQL for the ruler, for one tenant.
pub trait RuleQuerier: Send + Sync {
    /// An instant query at `at` (nanoseconds): a vector, or a scalar as one
    /// sample without labels.
    fn instant(&self, tenant: &TenantId, expr: &MetricExpr, at: i64)
        -> Result<Vec<Sample>, String>;

    /// The newest lines of a log query in `[start, end]`, at most `limit`.
    fn lines(
        &self,
        tenant: &TenantId,
        log: &LogExpr,
        start: i64,
        end: i64,
        limit: usize,
    ) -> Result<Vec<SampleLine>, String>;

    /// Patterns first seen in `(since, until]` among the lines of `log` in
    /// that window, with their main level and line count.
    fn new_patterns(
        &self,
        tenant: &TenantId,
        log: &LogExpr,
        since: i64,
        until: i64,
    ) -> Result<Vec<NewPattern>, String>;
}
