//! Telling people: alerts go to Alertmanagers (API v2) and to Basin's own
//! receivers (Slack incoming webhooks, Alertmanager-shaped webhooks), each
//! carrying the log lines that matched.

pub mod alertmanager;
pub mod dispatch;
pub mod http;
pub mod payload;

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::querier::SampleLine;

/// An alert as it leaves the ruler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutAlert {
    /// Whose rules raised it.
    pub tenant: String,
    /// Its labels, `alertname` included.
    pub labels: BTreeMap<String, String>,
    /// Rendered annotations.
    pub annotations: BTreeMap<String, String>,
    /// When it began firing (ns).
    pub starts_at: i64,
    /// When it resolved, or until when it is valid while firing (ns).
    pub ends_at: i64,
    /// Whether it is resolved.
    pub resolved: bool,
    /// A link to the lines behind it.
    pub generator_url: String,
    /// Lines that matched when it was sent.
    #[serde(default)]
    pub sample_lines: Vec<SampleLine>,
}

/// A time as RFC 3339 with milliseconds (Prometheus' sender writes these).
pub fn rfc3339_ms(ns: i64) -> String {
    DateTime::<Utc>::from_timestamp_nanos(ns).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A time as RFC 3339 with as many fractional digits as it needs.
pub fn rfc3339(ns: i64) -> String {
    DateTime::<Utc>::from_timestamp_nanos(ns).to_rfc3339_opts(SecondsFormat::AutoSi, true)
}
