//! The formats auto-detection knows, each a parser from a line to fields.

pub mod access_log;
pub mod apache_error;
pub mod app_log;
pub mod container;
pub mod logfmt;
pub mod syslog_line;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::json_doc::{flatten_into, level_of_fields};
use basin_model::sanitize_label_name;

/// A line format, named in the `log_format` field of entries parsed with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// One JSON object per line.
    Json,
    /// Apache/nginx combined log format.
    AccessCombined,
    /// Apache/nginx common log format.
    AccessCommon,
    /// Syslog headers (with or without `<PRI>`).
    Syslog,
    /// `key=value` pairs.
    Logfmt,
    /// Time, level, thread and logger headers (Log4j, Logback, Python,
    /// nginx error logs, Go klog...).
    App,
    /// Apache httpd error logs.
    ApacheError,
    /// Kubernetes CRI container logs (containerd, CRI-O).
    Cri,
    /// Docker's json-file container logs.
    Docker,
}

/// Every format, in the order detection tries them: the most specific first
/// (container wrappers before the JSON they look like).
pub const ALL: [Format; 9] = [
    Format::Docker,
    Format::Json,
    Format::Cri,
    Format::AccessCombined,
    Format::Syslog,
    Format::ApacheError,
    Format::Logfmt,
    Format::App,
    Format::AccessCommon,
];

/// The formats a container wrapper's message may be in.
const INNER: [Format; 7] = [
    Format::Json,
    Format::AccessCombined,
    Format::Syslog,
    Format::ApacheError,
    Format::Logfmt,
    Format::App,
    Format::AccessCommon,
];

impl Format {
    /// The name stored in `log_format`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::AccessCombined => "access_combined",
            Format::AccessCommon => "access_common",
            Format::Syslog => "syslog",
            Format::Logfmt => "logfmt",
            Format::App => "app",
            Format::ApacheError => "apache_error",
            Format::Cri => "cri",
            Format::Docker => "docker",
        }
    }

    /// The fields of `line` in this format, with the level it names (if
    /// any), or `None` when the line is not in this format.
    pub fn parse(self, line: &str, now: DateTime<Utc>) -> Option<Parsed> {
        match self {
            Format::Json => {
                if !line.starts_with('{') {
                    return None;
                }
                let object: Map<String, Value> = serde_json::from_str(line).ok()?;
                let mut fields = Vec::new();
                for (key, value) in &object {
                    flatten_into(&sanitize_label_name(key), value, 1, &mut fields);
                }
                Some(Parsed::with_level_field(fields))
            }
            Format::AccessCombined | Format::AccessCommon => {
                let (layout, fields) = access_log::parse(line)?;
                let same =
                    (layout == access_log::Layout::Combined) == (self == Format::AccessCombined);
                same.then_some(Parsed {
                    fields,
                    level: None,
                })
            }
            Format::Syslog => syslog_line::parse(line).map(Parsed::with_level_field),
            Format::Logfmt => logfmt::parse(line).map(Parsed::with_level_field),
            Format::App => app_log::parse(line, now).map(|(level, fields)| Parsed {
                fields,
                level: Some(level),
            }),
            Format::ApacheError => apache_error::parse(line).map(|(level, fields)| Parsed {
                fields,
                level: Some(level),
            }),
            Format::Cri => container::parse_cri(line, now),
            Format::Docker => container::parse_docker(line, now),
        }
    }
}

/// What a parser found in a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// Extracted fields.
    pub fields: Vec<(String, String)>,
    /// The normalised level, when the format names one.
    pub level: Option<&'static str>,
}

impl Parsed {
    /// Fields whose level, if any, is read from a `level`-like field.
    fn with_level_field(fields: Vec<(String, String)>) -> Self {
        let level = level_of_fields(&fields);
        Self { fields, level }
    }
}
