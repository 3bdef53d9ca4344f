//! Basin's own receivers, as a small Alertmanager: alerts are grouped by
//! labels; a group is notified when it gains a firing alert or loses one
//! (after `group_wait` the first time, then at most every
//! `group_interval`), and again every `repeat_interval` while it fires.
//! What each group was told is written to disk, so a restart neither
//! repeats a "firing" nor forgets to send the resolution. A failed POST is
//! retried with growing backoff; a refusal (4xx) is logged and dropped.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tracing::{error, warn};

use super::http::{Transport, JSON};
use super::payload::{slack, webhook, Notification};
use super::OutAlert;
use crate::alerting::fingerprint;
use crate::config::{ReceiverConfig, ReceiverKind};
use crate::stats::RulerStats;
use crate::store::write_atomic;
use crate::RulesError;

#[derive(Debug, Default, Serialize, Deserialize)]
struct DispatchState {
    groups: BTreeMap<String, Group>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Group {
    receiver: String,
    labels: BTreeMap<String, String>,
    key: String,
    alerts: BTreeMap<String, Tracked>,
    last_notified: Option<i64>,
    /// The first change not yet notified.
    changed_at: Option<i64>,
    retry_at: Option<i64>,
    attempts: u32,
}

#[derive(Debug, Serialize, Deserialize)]
struct Tracked {
    alert: OutAlert,
    notified_firing: bool,
}

/// Longest wait between retries of a failed notification.
const MAX_BACKOFF_NS: i64 = 300 * 1_000_000_000;
/// First wait after a failure.
const FIRST_BACKOFF_NS: i64 = 1_000_000_000;

/// Groups alerts per receiver and sends the notifications that are due.
pub struct Dispatcher {
    receivers: Vec<ReceiverConfig>,
    external_url: String,
    path: PathBuf,
    state: DispatchState,
    transport: Arc<dyn Transport>,
    stats: Arc<RulerStats>,
    dirty: bool,
}

impl Dispatcher {
    /// A dispatcher whose state lives in `path`; groups of receivers no
    /// longer configured are dropped.
    pub fn open(
        path: PathBuf,
        receivers: Vec<ReceiverConfig>,
        external_url: String,
        transport: Arc<dyn Transport>,
        stats: Arc<RulerStats>,
    ) -> Result<Self, RulesError> {
        let mut state: DispatchState = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                error!(
                    "notification state {} unreadable, starting empty: {e}",
                    path.display()
                );
                DispatchState::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => DispatchState::default(),
            Err(e) => return Err(RulesError::io("cannot read", &path, e)),
        };
        state
            .groups
            .retain(|_, g| receivers.iter().any(|r| r.name == g.receiver));
        Ok(Self {
            receivers,
            external_url,
            path,
            state,
            transport,
            stats,
            dirty: false,
        })
    }

    /// Whether any receiver is configured.
    pub fn is_empty(&self) -> bool {
        self.receivers.is_empty()
    }

    /// Takes in alerts the ruler sent (firing ones again while they fire,
    /// resolved ones once resolved).
    pub fn receive(&mut self, alerts: &[OutAlert], now: i64) {
        for alert in alerts {
            let id = format!("{}/{:016x}", alert.tenant, fingerprint(&alert.labels));
            for receiver in &self.receivers {
                if !receiver
                    .matchers
                    .iter()
                    .all(|(k, v)| alert.labels.get(k) == Some(v))
                {
                    continue;
                }
                let labels = group_labels(receiver, &alert.labels);
                let key = format!(
                    "{}\u{1f}{}\u{1f}{}",
                    receiver.name,
                    alert.tenant,
                    label_text(&labels)
                );
                let group = self.state.groups.entry(key).or_insert_with(|| Group {
                    receiver: receiver.name.clone(),
                    key: format!("{{}}:{}", label_text(&labels)),
                    labels,
                    alerts: BTreeMap::new(),
                    last_notified: None,
                    changed_at: None,
                    retry_at: None,
                    attempts: 0,
                });
                absorb(group, id.clone(), alert, now, receiver.send_resolved);
                self.dirty = true;
            }
        }
    }

    /// Sends what is due at `now` and saves the state if it changed.
    pub fn flush(&mut self, now: i64) {
        let keys: Vec<String> = self.state.groups.keys().cloned().collect();
        for key in keys {
            let Some(group) = self.state.groups.get_mut(&key) else {
                continue;
            };
            let Some(receiver) = self.receivers.iter().find(|r| r.name == group.receiver) else {
                continue;
            };
            // A firing alert nobody refreshed past its end resolves by itself.
            let expired: Vec<(String, OutAlert)> = group
                .alerts
                .iter()
                .filter(|(_, t)| !t.alert.resolved && t.alert.ends_at < now)
                .map(|(id, t)| {
                    let mut a = t.alert.clone();
                    a.resolved = true;
                    (id.clone(), a)
                })
                .collect();
            for (id, alert) in expired {
                absorb(group, id, &alert, now, receiver.send_resolved);
                self.dirty = true;
            }
            if !due(group, receiver, now) {
                if group.alerts.is_empty() {
                    self.state.groups.remove(&key);
                    self.dirty = true;
                }
                continue;
            }
            let alerts: Vec<OutAlert> = group.alerts.values().map(|t| t.alert.clone()).collect();
            let note = Notification {
                receiver: &receiver.name,
                group_labels: &group.labels,
                group_key: &group.key,
                alerts: &alerts,
                external_url: &self.external_url,
            };
            let (url, integration, body) = match &receiver.kind {
                ReceiverKind::Slack(url) => (url, "slack", slack(&note)),
                ReceiverKind::Webhook(url) => (url, "webhook", webhook(&note)),
            };
            let outcome = self.transport.post(url, JSON, body.to_string().as_bytes());
            self.dirty = true;
            match outcome {
                Ok(status) if (200..300).contains(&status) => {
                    self.stats.notification(&receiver.name, integration, true);
                    done(group, now);
                }
                Ok(status) if status != 429 && (400..500).contains(&status) => {
                    self.stats.notification(&receiver.name, integration, false);
                    error!(
                        "receiver {} ({integration}) refused a notification with HTTP {status}; dropped",
                        receiver.name
                    );
                    done(group, now);
                }
                failure => {
                    self.stats.notification(&receiver.name, integration, false);
                    group.attempts += 1;
                    let backoff = (FIRST_BACKOFF_NS << group.attempts.min(16).saturating_sub(1))
                        .min(MAX_BACKOFF_NS);
                    group.retry_at = Some(now + backoff);
                    let why = match failure {
                        Ok(status) => format!("HTTP {status}"),
                        Err(e) => e,
                    };
                    warn!(
                        "receiver {} ({integration}) failed ({why}); attempt {} retried in {} ms",
                        receiver.name,
                        group.attempts,
                        backoff / 1_000_000
                    );
                }
            }
            if group.alerts.is_empty() {
                self.state.groups.remove(&key);
            }
        }
        if self.dirty {
            self.save();
        }
    }

    fn save(&mut self) {
        let bytes = match serde_json::to_vec(&self.state) {
            Ok(b) => b,
            Err(e) => {
                error!("notification state not encoded: {e}");
                return;
            }
        };
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        match write_atomic(&self.path, &bytes) {
            Ok(()) => self.dirty = false,
            Err(e) => error!("notification state not saved: {e}"),
        }
    }
}

/// Folds one alert into its group.
fn absorb(group: &mut Group, id: String, alert: &OutAlert, now: i64, send_resolved: bool) {
    match group.alerts.get_mut(&id) {
        Some(tracked) if !alert.resolved => {
            if tracked.alert.resolved {
                // Fired again after resolving: a new episode.
                tracked.notified_firing = false;
                group.changed_at.get_or_insert(now);
            }
            tracked.alert = alert.clone();
        }
        Some(tracked) => {
            if tracked.alert.resolved {
                return;
            }
            tracked.alert = alert.clone();
            if !tracked.notified_firing || !send_resolved {
                // Nobody was told it fired, or nobody wants to hear it ended.
                group.alerts.remove(&id);
            } else {
                group.changed_at.get_or_insert(now);
            }
        }
        None if !alert.resolved => {
            group.alerts.insert(
                id,
                Tracked {
                    alert: alert.clone(),
                    notified_firing: false,
                },
            );
            group.changed_at.get_or_insert(now);
        }
        None => {}
    }
}

fn due(group: &Group, receiver: &ReceiverConfig, now: i64) -> bool {
    if group.retry_at.is_some_and(|r| now < r) || group.alerts.is_empty() {
        return false;
    }
    match group.changed_at {
        Some(changed) => {
            let wait = if group.last_notified.is_none() {
                receiver.group_wait_ns
            } else {
                0
            };
            now >= changed + wait
                && group
                    .last_notified
                    .is_none_or(|t| now - t >= receiver.group_interval_ns)
        }
        None => {
            group.alerts.values().any(|t| !t.alert.resolved)
                && group
                    .last_notified
                    .is_some_and(|t| now - t >= receiver.repeat_interval_ns)
        }
    }
}

/// After a notification went out (or was refused for good).
fn done(group: &mut Group, now: i64) {
    group.alerts.retain(|_, t| !t.alert.resolved);
    for t in group.alerts.values_mut() {
        t.notified_firing = true;
    }
    group.last_notified = Some(now);
    group.changed_at = None;
    group.retry_at = None;
    group.attempts = 0;
}

fn group_labels(
    receiver: &ReceiverConfig,
    labels: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    if receiver.group_by.iter().any(|g| g == "...") {
        return labels.clone();
    }
    receiver
        .group_by
        .iter()
        .filter_map(|k| labels.get(k).map(|v| (k.clone(), v.clone())))
        .collect()
}

fn label_text(labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    const S: i64 = 1_000_000_000;

    #[derive(Default)]
    struct Recorder {
        posts: Mutex<Vec<serde_json::Value>>,
        fail: Mutex<u32>,
    }

    impl Transport for Recorder {
        fn post(&self, _url: &str, _headers: &[(&str, &str)], body: &[u8]) -> Result<u16, String> {
            let mut fail = self.fail.lock().expect("lock");
            if *fail > 0 {
                *fail -= 1;
                return Ok(503);
            }
            self.posts
                .lock()
                .expect("lock")
                .push(serde_json::from_slice(body).expect("json"));
            Ok(200)
        }
    }

    fn receiver() -> ReceiverConfig {
        ReceiverConfig {
            name: "hook".into(),
            kind: ReceiverKind::Webhook("http://x".into()),
            matchers: BTreeMap::new(),
            group_by: vec!["alertname".into()],
            group_wait_ns: 10 * S,
            group_interval_ns: 60 * S,
            repeat_interval_ns: 3600 * S,
            send_resolved: true,
        }
    }

    fn alert(job: &str, resolved: bool, ends_at: i64) -> OutAlert {
        OutAlert {
            tenant: "t".into(),
            labels: BTreeMap::from([
                ("alertname".to_string(), "A".to_string()),
                ("job".to_string(), job.to_string()),
            ]),
            annotations: BTreeMap::new(),
            starts_at: 0,
            ends_at,
            resolved,
            generator_url: String::new(),
            sample_lines: Vec::new(),
        }
    }

    fn open(dir: &std::path::Path, t: &Arc<Recorder>) -> Dispatcher {
        Dispatcher::open(
            dir.join("n.json"),
            vec![receiver()],
            "http://basin".into(),
            t.clone(),
            Arc::default(),
        )
        .expect("open")
    }

    fn statuses(t: &Recorder) -> Vec<String> {
        t.posts
            .lock()
            .expect("lock")
            .iter()
            .map(|p| {
                format!(
                    "{}:{}",
                    p["status"].as_str().unwrap_or(""),
                    p["alerts"].as_array().map_or(0, Vec::len)
                )
            })
            .collect()
    }

    #[test]
    fn group_wait_repeat_resolve_and_restart() {
        let dir = tempfile::tempdir().expect("tmp");
        let t = Arc::new(Recorder::default());
        let mut d = open(dir.path(), &t);
        d.receive(&[alert("api", false, 240 * S)], 0);
        d.flush(5 * S);
        assert!(
            statuses(&t).is_empty(),
            "group_wait holds the first notification"
        );
        d.receive(&[alert("web", false, 240 * S)], 8 * S);
        d.flush(10 * S);
        assert_eq!(
            statuses(&t),
            ["firing:2"],
            "both alerts in one notification"
        );
        d.receive(
            &[alert("api", false, 300 * S), alert("web", false, 300 * S)],
            60 * S,
        );
        d.flush(61 * S);
        assert_eq!(statuses(&t).len(), 1, "refreshes are not news");
        drop(d);

        // Restart: the state on disk says the group was told.
        let mut d = open(dir.path(), &t);
        d.receive(
            &[alert("api", false, 400 * S), alert("web", false, 400 * S)],
            120 * S,
        );
        d.flush(121 * S);
        assert_eq!(statuses(&t).len(), 1, "no second firing after a restart");
        d.receive(&[alert("web", true, 130 * S)], 130 * S);
        d.flush(131 * S);
        assert_eq!(
            statuses(&t),
            ["firing:2", "firing:2"],
            "the resolution goes with the firing alert"
        );
        d.flush(3700 * S);
        assert_eq!(statuses(&t).len(), 3);
        // api expired at 400 s (no refresh): resolved.
        assert_eq!(statuses(&t)[2], "resolved:1");
        d.flush(8000 * S);
        assert_eq!(statuses(&t).len(), 3, "nothing left to say");
    }

    #[test]
    fn failures_retry_with_backoff() {
        let dir = tempfile::tempdir().expect("tmp");
        let t = Arc::new(Recorder::default());
        *t.fail.lock().expect("lock") = 2;
        let mut d = open(dir.path(), &t);
        d.receive(&[alert("api", false, 1000 * S)], 0);
        d.flush(10 * S); // fails, retry at 11 s
        d.flush(10 * S + S / 2);
        d.flush(11 * S); // fails, retry at 13 s
        d.flush(12 * S);
        assert!(statuses(&t).is_empty());
        d.flush(13 * S);
        assert_eq!(statuses(&t), ["firing:1"]);
        assert_eq!(d.stats.notifications("hook", "webhook"), (1, 2));
    }
}
