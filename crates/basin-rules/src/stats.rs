//! The ruler's own counters, for `/metrics`: notifications sent and failed
//! per receiver, Alertmanager posts, rule evaluations and their failures.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Counters shared by the evaluator and the notifier.
#[derive(Debug, Default)]
pub struct RulerStats {
    /// (receiver, integration) → (sent, failed).
    notifications: Mutex<BTreeMap<(String, String), (u64, u64)>>,
    /// Alertmanager URL → (posts accepted, posts failed).
    alertmanager: Mutex<BTreeMap<String, (u64, u64)>>,
    /// Remote-write URL → (samples written, samples dropped).
    remote_write: Mutex<BTreeMap<String, (u64, u64)>>,
    /// (tenant, rule group) → (evaluations, failed rule evaluations).
    evaluations: Mutex<BTreeMap<(String, String), (u64, u64)>>,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, (u64, u64)>>, key: K, ok: bool) {
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    let entry = map.entry(key).or_default();
    if ok {
        entry.0 += 1;
    } else {
        entry.1 += 1;
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl RulerStats {
    /// Counts one notification attempt.
    pub fn notification(&self, receiver: &str, integration: &str, ok: bool) {
        bump(
            &self.notifications,
            (receiver.to_string(), integration.to_string()),
            ok,
        );
    }

    /// (sent, failed) of a receiver's integration.
    pub fn notifications(&self, receiver: &str, integration: &str) -> (u64, u64) {
        let map = self.notifications.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&(receiver.to_string(), integration.to_string()))
            .copied()
            .unwrap_or_default()
    }

    /// Counts one POST to an Alertmanager.
    pub fn alertmanager(&self, url: &str, ok: bool) {
        bump(&self.alertmanager, url.to_string(), ok);
    }

    /// Counts samples written to (or dropped by) a remote-write endpoint.
    pub fn remote_write(&self, url: &str, samples: u64, ok: bool) {
        let mut map = self.remote_write.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(url.to_string()).or_default();
        if ok {
            entry.0 += samples;
        } else {
            entry.1 += samples;
        }
    }

    /// Counts one rule evaluation.
    pub fn evaluation(&self, tenant: &str, group: &str, ok: bool) {
        bump(
            &self.evaluations,
            (tenant.to_string(), group.to_string()),
            true,
        );
        if !ok {
            bump(
                &self.evaluations,
                (tenant.to_string(), group.to_string()),
                false,
            );
        }
    }

    /// The counters in Prometheus' text format.
    pub fn render(&self, out: &mut String) {
        let notifications = self.notifications.lock().unwrap_or_else(|p| p.into_inner());
        out.push_str("# HELP basin_ruler_notifications_total Notifications sent by Basin's receivers.\n# TYPE basin_ruler_notifications_total counter\n");
        for ((r, i), (sent, _)) in notifications.iter() {
            let _ = writeln!(
                out,
                "basin_ruler_notifications_total{{receiver=\"{}\",integration=\"{i}\"}} {sent}",
                escape(r)
            );
        }
        out.push_str("# HELP basin_ruler_notifications_failed_total Notifications that failed (each retry counts).\n# TYPE basin_ruler_notifications_failed_total counter\n");
        for ((r, i), (_, failed)) in notifications.iter() {
            let _ = writeln!(out, "basin_ruler_notifications_failed_total{{receiver=\"{}\",integration=\"{i}\"}} {failed}", escape(r));
        }
        drop(notifications);
        let am = self.alertmanager.lock().unwrap_or_else(|p| p.into_inner());
        out.push_str("# HELP basin_ruler_alertmanager_posts_total Alert batches posted to Alertmanagers.\n# TYPE basin_ruler_alertmanager_posts_total counter\n");
        for (url, (ok, _)) in am.iter() {
            let _ = writeln!(
                out,
                "basin_ruler_alertmanager_posts_total{{alertmanager=\"{}\"}} {ok}",
                escape(url)
            );
        }
        out.push_str("# HELP basin_ruler_alertmanager_errors_total Alert batches Alertmanagers did not accept.\n# TYPE basin_ruler_alertmanager_errors_total counter\n");
        for (url, (_, failed)) in am.iter() {
            let _ = writeln!(
                out,
                "basin_ruler_alertmanager_errors_total{{alertmanager=\"{}\"}} {failed}",
                escape(url)
            );
        }
        drop(am);
        let rw = self.remote_write.lock().unwrap_or_else(|p| p.into_inner());
        out.push_str("# HELP basin_ruler_remote_write_samples_total Samples remote-written.\n# TYPE basin_ruler_remote_write_samples_total counter\n");
        for (url, (ok, _)) in rw.iter() {
            let _ = writeln!(
                out,
                "basin_ruler_remote_write_samples_total{{url=\"{}\"}} {ok}",
                escape(url)
            );
        }
        out.push_str("# HELP basin_ruler_remote_write_dropped_samples_total Samples a remote-write endpoint did not take.\n# TYPE basin_ruler_remote_write_dropped_samples_total counter\n");
        for (url, (_, dropped)) in rw.iter() {
            let _ = writeln!(
                out,
                "basin_ruler_remote_write_dropped_samples_total{{url=\"{}\"}} {dropped}",
                escape(url)
            );
        }
        drop(rw);
        let evals = self.evaluations.lock().unwrap_or_else(|p| p.into_inner());
        out.push_str("# HELP basin_ruler_evaluations_total Rule evaluations.\n# TYPE basin_ruler_evaluations_total counter\n");
        for ((t, g), (n, _)) in evals.iter() {
            let _ = writeln!(
                out,
                "basin_ruler_evaluations_total{{tenant=\"{}\",rule_group=\"{}\"}} {n}",
                escape(t),
                escape(g)
            );
        }
        out.push_str("# HELP basin_ruler_evaluation_failures_total Rule evaluations that failed.\n# TYPE basin_ruler_evaluation_failures_total counter\n");
        for ((t, g), (_, n)) in evals.iter() {
            let _ = writeln!(
                out,
                "basin_ruler_evaluation_failures_total{{tenant=\"{}\",rule_group=\"{}\"}} {n}",
                escape(t),
                escape(g)
            );
        }
    }
}
