//! What Basin's own receivers post: Alertmanager's webhook JSON (version 4)
//! and Slack incoming-webhook messages, both with the sample lines.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{rfc3339, OutAlert};
use crate::alerting::fingerprint;

/// One notification: a group's alerts, firing and newly resolved.
#[derive(Debug)]
pub struct Notification<'a> {
    /// The receiver's name.
    pub receiver: &'a str,
    /// The grouping labels' values.
    pub group_labels: &'a BTreeMap<String, String>,
    /// The group's key, `{}:{alertname="X"}`.
    pub group_key: &'a str,
    /// The alerts.
    pub alerts: &'a [OutAlert],
    /// Where Basin is reached.
    pub external_url: &'a str,
}

impl Notification<'_> {
    fn firing(&self) -> usize {
        self.alerts.iter().filter(|a| !a.resolved).count()
    }

    fn status(&self) -> &'static str {
        if self.firing() > 0 {
            "firing"
        } else {
            "resolved"
        }
    }
}

/// Pairs every map has in common.
fn common(maps: impl Iterator<Item = BTreeMap<String, String>>) -> BTreeMap<String, String> {
    let mut out: Option<BTreeMap<String, String>> = None;
    for m in maps {
        out = Some(match out {
            None => m,
            Some(mut acc) => {
                acc.retain(|k, v| m.get(k) == Some(v));
                acc
            }
        });
    }
    out.unwrap_or_default()
}

/// Alertmanager's webhook body (version 4); each alert also carries
/// `sampleLines`, which Alertmanager consumers ignore and Basin's use.
pub fn webhook(n: &Notification) -> Value {
    let alerts: Vec<Value> = n
        .alerts
        .iter()
        .map(|a| {
            let lines: Vec<Value> = a
                .sample_lines
                .iter()
                .map(|l| json!({"ts": rfc3339(l.ts), "labels": l.labels, "line": l.line}))
                .collect();
            json!({
                "status": if a.resolved { "resolved" } else { "firing" },
                "labels": a.labels,
                "annotations": a.annotations,
                "startsAt": rfc3339(a.starts_at),
                // Alertmanager shows a firing alert's end as Go's zero time.
                "endsAt": if a.resolved { rfc3339(a.ends_at) } else { "0001-01-01T00:00:00Z".to_string() },
                "generatorURL": a.generator_url,
                "fingerprint": format!("{:016x}", fingerprint(&a.labels)),
                "sampleLines": lines,
            })
        })
        .collect();
    json!({
        "receiver": n.receiver,
        "status": n.status(),
        "alerts": alerts,
        "groupLabels": n.group_labels,
        "commonLabels": common(n.alerts.iter().map(|a| a.labels.clone())),
        "commonAnnotations": common(n.alerts.iter().map(|a| a.annotations.clone())),
        "externalURL": n.external_url,
        "version": "4",
        "groupKey": n.group_key,
        "truncatedAlerts": 0,
    })
}

/// Slack's limit on one section's text.
const SECTION_MAX: usize = 3000;
/// Slack's limit on blocks per message.
const BLOCKS_MAX: usize = 50;

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub(1);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Text Slack's mrkdwn would read as markup, escaped.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A Slack incoming-webhook message: a fallback `text` and one section per
/// alert with its summary, labels, sample lines and link.
pub fn slack(n: &Notification) -> Value {
    let name = n
        .group_labels
        .get("alertname")
        .or_else(|| n.alerts.first().and_then(|a| a.labels.get("alertname")))
        .cloned()
        .unwrap_or_else(|| "alert".into());
    let headline = match n.status() {
        "firing" => format!("[FIRING:{}] {name}", n.firing()),
        _ => format!("[RESOLVED] {name}"),
    };
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(&headline, 150)},
    })];
    for a in n.alerts.iter().take(BLOCKS_MAX - 1) {
        let mut text = String::new();
        let state = if a.resolved { "resolved" } else { "firing" };
        let summary = a
            .annotations
            .get("summary")
            .or_else(|| a.annotations.get("description"))
            .cloned()
            .unwrap_or_default();
        text.push_str(&format!("*{}* ({state})", escape(&summary)));
        let labels: Vec<String> = a
            .labels
            .iter()
            .filter(|(k, _)| k.as_str() != "alertname")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !labels.is_empty() {
            text.push_str(&format!("\n`{}`", escape(&labels.join(", "))));
        }
        if !a.sample_lines.is_empty() {
            let lines: Vec<String> = a.sample_lines.iter().map(|l| escape(&l.line)).collect();
            text.push_str(&format!("\n```{}```", lines.join("\n")));
        }
        if !a.generator_url.is_empty() {
            text.push_str(&format!("\n<{}|Show the lines>", a.generator_url));
        }
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": truncate(&text, SECTION_MAX)},
        }));
    }
    let fallback = match n.alerts.first().and_then(|a| a.sample_lines.first()) {
        Some(line) => format!("{headline}: {}", line.line),
        None => headline,
    };
    json!({"text": truncate(&fallback, 3000), "blocks": blocks})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::querier::SampleLine;

    fn alert(job: &str, resolved: bool) -> OutAlert {
        OutAlert {
            tenant: "t".into(),
            labels: BTreeMap::from([
                ("alertname".to_string(), "HighErrorRate".to_string()),
                ("job".to_string(), job.to_string()),
            ]),
            annotations: BTreeMap::from([("summary".to_string(), format!("errors on {job}"))]),
            starts_at: 0,
            ends_at: 60_000_000_000,
            resolved,
            generator_url: "http://basin/q".into(),
            sample_lines: vec![SampleLine {
                ts: 0,
                labels: BTreeMap::new(),
                line: "ERROR <db> timeout".into(),
            }],
        }
    }

    #[test]
    fn webhook_like_alertmanager() {
        let alerts = [alert("api", false), alert("web", true)];
        let group = BTreeMap::from([("alertname".to_string(), "HighErrorRate".to_string())]);
        let n = Notification {
            receiver: "team",
            group_labels: &group,
            group_key: "{}:{alertname=\"HighErrorRate\"}",
            alerts: &alerts,
            external_url: "http://basin",
        };
        let v = webhook(&n);
        assert_eq!(v["status"], "firing");
        assert_eq!(v["version"], "4");
        assert_eq!(v["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
        assert_eq!(v["alerts"][1]["status"], "resolved");
        assert_eq!(v["commonLabels"], json!({"alertname": "HighErrorRate"}));
        assert_eq!(v["commonAnnotations"], json!({}));
        assert_eq!(
            v["alerts"][0]["sampleLines"][0]["line"],
            "ERROR <db> timeout"
        );
    }

    #[test]
    fn slack_message_carries_lines() {
        let alerts = [alert("api", false)];
        let group = BTreeMap::new();
        let n = Notification {
            receiver: "team",
            group_labels: &group,
            group_key: "{}:{}",
            alerts: &alerts,
            external_url: "http://basin",
        };
        let v = slack(&n);
        assert_eq!(v["text"], "[FIRING:1] HighErrorRate: ERROR <db> timeout");
        let section = v["blocks"][1]["text"]["text"].as_str().expect("text");
        assert!(
            section.contains("```ERROR &lt;db&gt; timeout```"),
            "{section}"
        );
        assert!(
            section.contains("<http://basin/q|Show the lines>"),
            "{section}"
        );
    }
}
