//! Alertmanager API v2: `POST /api/v2/alerts` with a JSON array, to every
//! configured Alertmanager, as Prometheus' notifier sends it.

use std::collections::BTreeMap;

use basin_model::sanitize_label_name;
use serde_json::{json, Value};
use tracing::warn;

use super::http::Transport;
use super::{rfc3339_ms, OutAlert};
use crate::querier::SampleLine;

/// Alerts per POST (Prometheus 2.42's batch size).
pub const BATCH: usize = 64;

/// Longest `sample_lines` annotation, so that a burst of long lines does not
/// make the alert too big for Alertmanager's templates and Slack's limits.
const SAMPLE_ANNOTATION_MAX: usize = 2000;

/// Label names Alertmanager 0.25 accepts (`[a-zA-Z_][a-zA-Z0-9_]*`): other
/// bytes become `_`; empty values are dropped, as Alertmanager drops them.
pub fn sanitize_labels(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (sanitize_label_name(k), v.clone()))
        .collect()
}

/// The lines as one annotation's text: `time  line`, newest first.
pub fn lines_text(lines: &[SampleLine]) -> String {
    let mut out = String::new();
    for l in lines {
        let row = format!("{}  {}\n", super::rfc3339_ms(l.ts), l.line);
        if out.len() + row.len() > SAMPLE_ANNOTATION_MAX {
            out.push_str("…\n");
            break;
        }
        out.push_str(&row);
    }
    out.trim_end().to_string()
}

/// The JSON body for a batch of alerts.
pub fn body(alerts: &[OutAlert]) -> Value {
    Value::Array(
        alerts
            .iter()
            .map(|a| {
                let mut annotations = a.annotations.clone();
                if !a.sample_lines.is_empty() {
                    annotations.insert("sample_lines".into(), lines_text(&a.sample_lines));
                }
                json!({
                    "labels": sanitize_labels(&a.labels),
                    "annotations": annotations,
                    "startsAt": rfc3339_ms(a.starts_at),
                    "endsAt": rfc3339_ms(a.ends_at),
                    "generatorURL": a.generator_url,
                })
            })
            .collect(),
    )
}

/// Sends `alerts` to every Alertmanager in batches. Returns how many POSTs
/// failed; a failed batch is not retried, as the next resend covers it.
pub fn send(transport: &dyn Transport, urls: &[String], alerts: &[OutAlert]) -> (usize, usize) {
    let (mut sent, mut failed) = (0, 0);
    for batch in alerts.chunks(BATCH) {
        let payload = body(batch).to_string();
        for base in urls {
            let url = format!("{base}/api/v2/alerts");
            match transport.post(&url, super::http::JSON, payload.as_bytes()) {
                Ok(status) if (200..300).contains(&status) => sent += 1,
                Ok(status) => {
                    failed += 1;
                    warn!(
                        "alertmanager {url} refused {} alerts: HTTP {status}",
                        batch.len()
                    );
                }
                Err(e) => {
                    failed += 1;
                    warn!("alertmanager {url} not reached: {e}");
                }
            }
        }
    }
    (sent, failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_alertmanager_accepts() {
        let labels = BTreeMap::from([
            ("a.b".to_string(), "x".to_string()),
            ("1st".to_string(), "y".to_string()),
            ("empty".to_string(), String::new()),
        ]);
        let clean = sanitize_labels(&labels);
        assert_eq!(clean.keys().collect::<Vec<_>>(), ["_1st", "a_b"]);
    }

    #[test]
    fn body_shape() {
        let alert = OutAlert {
            tenant: "t".into(),
            labels: BTreeMap::from([("alertname".to_string(), "A".to_string())]),
            annotations: BTreeMap::new(),
            starts_at: 1_700_000_000_000_000_000,
            ends_at: 1_700_000_240_000_000_000,
            resolved: false,
            generator_url: "http://basin/x".into(),
            sample_lines: vec![SampleLine {
                ts: 1_700_000_000_000_000_000,
                labels: BTreeMap::new(),
                line: "boom".into(),
            }],
        };
        let v = body(&[alert]);
        assert_eq!(v[0]["startsAt"], "2023-11-14T22:13:20.000Z");
        assert_eq!(v[0]["endsAt"], "2023-11-14T22:17:20.000Z");
        assert_eq!(
            v[0]["annotations"]["sample_lines"],
            "2023-11-14T22:13:20.000Z  boom"
        );
    }
}
