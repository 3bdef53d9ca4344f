//! The ruler's settings: the `ruler:` key of `basin.yaml`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use basin_logql::parse_duration;
use serde::Deserialize;

use crate::RulesError;

/// `ruler:` as written in the config file; every key optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulerFileConfig {
    /// Where rule files live (default `<data_dir>/rules`), one directory per tenant.
    pub rules_dir: Option<PathBuf>,
    /// How often a group without `interval` runs (default 1m).
    pub evaluation_interval: Option<String>,
    /// How often a firing alert is re-sent to Alertmanagers (default 1m).
    pub resend_delay: Option<String>,
    /// How often rule files are re-read for changes made by hand (default 30s;
    /// changes through the API apply at once).
    pub poll_interval: Option<String>,
    /// Downtime after which a pending alert's progress is forgotten (default 1h).
    pub for_outage_tolerance: Option<String>,
    /// Where Basin is reached by people; links in notifications start here.
    pub external_url: Option<String>,
    /// Labels added to every alert.
    pub external_labels: Option<BTreeMap<String, String>>,
    /// Alertmanager base URLs; each gets every alert (API v2).
    pub alertmanager_url: Option<Vec<String>>,
    /// Log lines that matched, carried by each notification (default 5).
    pub sample_lines: Option<usize>,
    /// Basin's own receivers, for teams without Alertmanager.
    pub receivers: Option<Vec<ReceiverFileConfig>>,
    /// Prometheus remote-write endpoints that receive recording rules'
    /// samples and the ALERTS series.
    pub remote_write: Option<Vec<RemoteWriteConfig>>,
}

/// A remote-write endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteWriteConfig {
    /// E.g. `http://prometheus:9090/api/v1/write`.
    pub url: String,
    /// Send the tenant as `X-Scope-OrgID` (default true, as Loki does).
    #[serde(default = "yes")]
    pub add_org_id_header: bool,
}

fn yes() -> bool {
    true
}

/// A receiver as written in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverFileConfig {
    /// Name shown in payloads and logs.
    pub name: String,
    /// Slack incoming-webhook URL.
    pub slack_webhook_url: Option<String>,
    /// URL that receives Alertmanager's webhook JSON.
    pub webhook_url: Option<String>,
    /// Only alerts with these exact label values (default: all).
    pub matchers: Option<BTreeMap<String, String>>,
    /// Labels that group alerts into one notification (default `alertname`;
    /// `...` groups by all labels).
    pub group_by: Option<Vec<String>>,
    /// Wait before the first notification of a new group (default 10s).
    pub group_wait: Option<String>,
    /// Wait between notifications of a group that changed (default 1m).
    pub group_interval: Option<String>,
    /// Re-notify a group still firing after this long (default 4h).
    pub repeat_interval: Option<String>,
    /// Notify when alerts resolve (default true).
    pub send_resolved: Option<bool>,
}

/// Where a receiver posts.
#[derive(Debug, Clone, PartialEq)]
pub enum ReceiverKind {
    /// A Slack incoming webhook.
    Slack(String),
    /// Alertmanager's webhook JSON to a URL.
    Webhook(String),
}

/// A receiver, resolved.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// Its name.
    pub name: String,
    /// Where and how it posts.
    pub kind: ReceiverKind,
    /// Exact label values an alert must have.
    pub matchers: BTreeMap<String, String>,
    /// Grouping labels (`...`: all).
    pub group_by: Vec<String>,
    /// ns.
    pub group_wait_ns: i64,
    /// ns.
    pub group_interval_ns: i64,
    /// ns.
    pub repeat_interval_ns: i64,
    /// Whether resolutions are sent.
    pub send_resolved: bool,
}

/// The ruler's settings, resolved.
#[derive(Debug, Clone)]
pub struct RulerConfig {
    /// Rule files, `<rules_dir>/<tenant>/<namespace>.yaml`.
    pub rules_dir: PathBuf,
    /// Alert and notification state.
    pub state_dir: PathBuf,
    /// ns.
    pub evaluation_interval_ns: i64,
    /// ns.
    pub resend_delay_ns: i64,
    /// ns.
    pub poll_interval_ns: i64,
    /// ns.
    pub for_outage_tolerance_ns: i64,
    /// Links start here.
    pub external_url: String,
    /// Added to every alert.
    pub external_labels: BTreeMap<String, String>,
    /// Alertmanager base URLs.
    pub alertmanager_urls: Vec<String>,
    /// Sample lines per alert.
    pub sample_lines: usize,
    /// Own receivers.
    pub receivers: Vec<ReceiverConfig>,
    /// Remote-write endpoints.
    pub remote_write: Vec<RemoteWriteConfig>,
}

const SECOND: i64 = 1_000_000_000;

fn duration(key: &str, value: Option<&String>, default_ns: i64) -> Result<i64, RulesError> {
    match value {
        None => Ok(default_ns),
        Some(v) => parse_duration(v.trim()).filter(|d| *d > 0).ok_or_else(|| {
            RulesError::Invalid(format!(
                "ruler: invalid {key} {v:?}: use a duration like 30s or 1m"
            ))
        }),
    }
}

impl RulerConfig {
    /// Resolves the file's settings; `data_dir` holds defaults' directories.
    pub fn resolve(
        file: &RulerFileConfig,
        data_dir: &std::path::Path,
        listen: &str,
    ) -> Result<Self, RulesError> {
        let mut receivers = Vec::new();
        for r in file.receivers.iter().flatten() {
            let kind = match (&r.slack_webhook_url, &r.webhook_url) {
                (Some(url), None) => ReceiverKind::Slack(url.clone()),
                (None, Some(url)) => ReceiverKind::Webhook(url.clone()),
                _ => {
                    return Err(RulesError::Invalid(format!(
                    "ruler: receiver {:?} needs exactly one of slack_webhook_url and webhook_url",
                    r.name
                )))
                }
            };
            receivers.push(ReceiverConfig {
                name: r.name.clone(),
                kind,
                matchers: r.matchers.clone().unwrap_or_default(),
                group_by: r
                    .group_by
                    .clone()
                    .unwrap_or_else(|| vec!["alertname".into()]),
                group_wait_ns: match &r.group_wait {
                    Some(v) if parse_duration(v.trim()) == Some(0) => 0,
                    v => duration("group_wait", v.as_ref(), 10 * SECOND)?,
                },
                group_interval_ns: duration(
                    "group_interval",
                    r.group_interval.as_ref(),
                    60 * SECOND,
                )?,
                repeat_interval_ns: duration(
                    "repeat_interval",
                    r.repeat_interval.as_ref(),
                    4 * 3600 * SECOND,
                )?,
                send_resolved: r.send_resolved.unwrap_or(true),
            });
        }
        let external_url = file
            .external_url
            .clone()
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_string();
        Ok(Self {
            rules_dir: file
                .rules_dir
                .clone()
                .unwrap_or_else(|| data_dir.join("rules")),
            state_dir: data_dir.join("ruler"),
            evaluation_interval_ns: duration(
                "evaluation_interval",
                file.evaluation_interval.as_ref(),
                60 * SECOND,
            )?,
            resend_delay_ns: duration("resend_delay", file.resend_delay.as_ref(), 60 * SECOND)?,
            poll_interval_ns: duration("poll_interval", file.poll_interval.as_ref(), 30 * SECOND)?,
            for_outage_tolerance_ns: duration(
                "for_outage_tolerance",
                file.for_outage_tolerance.as_ref(),
                3600 * SECOND,
            )?,
            external_url,
            external_labels: file.external_labels.clone().unwrap_or_default(),
            alertmanager_urls: file
                .alertmanager_url
                .iter()
                .flatten()
                .map(|u| u.trim_end_matches('/').to_string())
                .collect(),
            sample_lines: file.sample_lines.unwrap_or(5),
            receivers,
            remote_write: file.remote_write.clone().unwrap_or_default(),
        })
    }
}
