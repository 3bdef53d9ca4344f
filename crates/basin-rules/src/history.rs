//! Alert history: when each alert started firing and when it resolved, per
//! tenant, newest last, bounded, saved beside the alerts' state so a
//! restart keeps it. The UI's alert view reads it; Prometheus' API has no
//! history, so this is Basin's own (`GET /api/v1/alerts/history`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};

use basin_model::TenantId;
use serde::{Deserialize, Serialize};

use crate::alerting::{Alert, AlertState};
use crate::store::write_atomic;

/// Events kept per tenant; older ones are dropped.
pub const HISTORY_LIMIT: usize = 1000;

/// One change of an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// When, nanoseconds since the epoch (the evaluation time).
    pub ts: i64,
    /// `firing` or `resolved`.
    pub state: String,
    /// The rule's namespace (file).
    pub namespace: String,
    /// The rule's group.
    pub group: String,
    /// The alert rule's name.
    pub rule: String,
    /// The alert's labels.
    pub labels: BTreeMap<String, String>,
    /// The value at that evaluation.
    pub value: f64,
}

/// Alert events of every tenant, loaded from `dir` on first use.
#[derive(Debug)]
pub struct AlertHistory {
    dir: PathBuf,
    tenants: HashMap<TenantId, VecDeque<AlertEvent>>,
}

impl AlertHistory {
    /// History kept under `dir` (one JSON file per tenant).
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            tenants: HashMap::new(),
        }
    }

    fn path(&self, tenant: &TenantId) -> PathBuf {
        self.dir.join(format!("{}.json", tenant.as_str()))
    }

    fn events(&mut self, tenant: &TenantId) -> &mut VecDeque<AlertEvent> {
        let path = self.path(tenant);
        self.tenants
            .entry(tenant.clone())
            .or_insert_with(|| load(&path))
    }

    /// Records the changes `alerts` went through at `ts`: those that began
    /// firing or resolved at that evaluation.
    pub fn record(
        &mut self,
        tenant: &TenantId,
        (namespace, group, rule): (&str, &str, &str),
        ts: i64,
        alerts: &[&Alert],
    ) -> bool {
        let mut changed = false;
        for alert in alerts {
            let state = if alert.state == AlertState::Firing && alert.fired_at == Some(ts) {
                "firing"
            } else if alert.state == AlertState::Inactive && alert.resolved_at == Some(ts) {
                "resolved"
            } else {
                continue;
            };
            let events = self.events(tenant);
            events.push_back(AlertEvent {
                ts,
                state: state.to_string(),
                namespace: namespace.to_string(),
                group: group.to_string(),
                rule: rule.to_string(),
                labels: alert.labels.clone(),
                value: alert.value,
            });
            while events.len() > HISTORY_LIMIT {
                events.pop_front();
            }
            changed = true;
        }
        changed
    }

    /// The tenant's events, oldest first.
    pub fn list(&mut self, tenant: &TenantId) -> Vec<AlertEvent> {
        self.events(tenant).iter().cloned().collect()
    }

    /// Writes the tenant's events to disk.
    pub fn save(&mut self, tenant: &TenantId) -> Result<(), String> {
        let path = self.path(tenant);
        let events: Vec<AlertEvent> = self.events(tenant).iter().cloned().collect();
        let bytes = serde_json::to_vec(&events).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(&self.dir).map_err(|e| e.to_string())?;
        write_atomic(&path, &bytes).map_err(|e| e.to_string())
    }
}

/// A tenant's saved events; none when the file is missing or unreadable
/// (history is a convenience, never a reason to stop the ruler).
fn load(path: &Path) -> VecDeque<AlertEvent> {
    match std::fs::read(path) {
        Ok(bytes) => match serde_json::from_slice::<Vec<AlertEvent>>(&bytes) {
            Ok(events) => events.into(),
            Err(e) => {
                tracing::warn!(
                    "alert history {} unreadable, starting empty: {e}",
                    path.display()
                );
                VecDeque::new()
            }
        },
        Err(_) => VecDeque::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(state: AlertState, fired: Option<i64>, resolved: Option<i64>) -> Alert {
        Alert {
            labels: BTreeMap::from([("alertname".to_string(), "Errors".to_string())]),
            annotations: BTreeMap::new(),
            state,
            value: 3.0,
            active_at: 0,
            fired_at: fired,
            resolved_at: resolved,
            last_sent_at: None,
            valid_until: None,
            keep_firing_since: None,
            sample_lines: Vec::new(),
        }
    }

    #[test]
    fn firing_and_resolving_are_recorded_once_and_survive_a_restart() {
        let dir = tempfile::tempdir().expect("dir");
        let tenant = TenantId::new("t").expect("tenant");
        let mut h = AlertHistory::new(dir.path().to_path_buf());
        let names = ("ns", "g", "Errors");
        let pending = alert(AlertState::Pending, None, None);
        assert!(!h.record(&tenant, names, 10, &[&pending]));
        let firing = alert(AlertState::Firing, Some(20), None);
        assert!(h.record(&tenant, names, 20, &[&firing]));
        // Still firing at the next evaluation: nothing new.
        assert!(!h.record(&tenant, names, 30, &[&firing]));
        let resolved = alert(AlertState::Inactive, Some(20), Some(40));
        assert!(h.record(&tenant, names, 40, &[&resolved]));
        h.save(&tenant).expect("save");

        let mut again = AlertHistory::new(dir.path().to_path_buf());
        let events = again.list(&tenant);
        let states: Vec<(i64, &str)> = events.iter().map(|e| (e.ts, e.state.as_str())).collect();
        assert_eq!(states, [(20, "firing"), (40, "resolved")]);
        assert_eq!(events[0].rule, "Errors");
    }

    #[test]
    fn history_is_bounded() {
        let dir = tempfile::tempdir().expect("dir");
        let tenant = TenantId::new("t").expect("tenant");
        let mut h = AlertHistory::new(dir.path().to_path_buf());
        for ts in 0..(HISTORY_LIMIT as i64 + 10) {
            let firing = alert(AlertState::Firing, Some(ts), None);
            h.record(&tenant, ("ns", "g", "r"), ts, &[&firing]);
        }
        let events = h.list(&tenant);
        assert_eq!(events.len(), HISTORY_LIMIT);
        assert_eq!(events[0].ts, 10);
    }
}
