//! An alert's life with fixed data and a clock the test moves: pending for
//! `for`, firing, resolved; a restart in the middle of firing neither
//! repeats the firing notification nor loses the resolution.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use basin_logql::{LogExpr, MetricExpr};
use basin_model::TenantId;
use basin_rules::config::{ReceiverConfig, ReceiverKind, RulerConfig};
use basin_rules::group::parse_group;
use basin_rules::new_patterns::NewPattern;
use basin_rules::notify::dispatch::Dispatcher;
use basin_rules::notify::http::Transport;
use basin_rules::querier::{RuleQuerier, Sample, SampleLine};
use basin_rules::ruler::Ruler;
use basin_rules::stats::RulerStats;
use basin_rules::status::prometheus_alerts;

const S: i64 = 1_000_000_000;
/// Errors are in the logs from 10 to 20 minutes.
const ERRORS: (i64, i64) = (600 * S, 1200 * S);

/// The logs: one `ERROR` line a second between ERRORS; the query counts the
/// last minute's lines.
struct FixedLogs;

impl RuleQuerier for FixedLogs {
    fn instant(&self, _t: &TenantId, _e: &MetricExpr, at: i64) -> Result<Vec<Sample>, String> {
        let (from, to) = (at - 60 * S, at);
        let overlap = (to.min(ERRORS.1) - from.max(ERRORS.0)).max(0) / S;
        Ok(if overlap > 0 {
            vec![Sample {
                labels: BTreeMap::from([("app".to_string(), "api".to_string())]),
                value: overlap as f64,
            }]
        } else {
            Vec::new()
        })
    }

    fn lines(
        &self,
        _t: &TenantId,
        log: &LogExpr,
        start: i64,
        end: i64,
        limit: usize,
    ) -> Result<Vec<SampleLine>, String> {
        assert_eq!(log.to_string(), "{app=\"api\"} |= \"ERROR\"");
        let mut out = Vec::new();
        let mut ts = end.min(ERRORS.1 - S);
        while ts >= start.max(ERRORS.0) && out.len() < limit {
            out.push(SampleLine {
                ts,
                labels: BTreeMap::from([("app".to_string(), "api".to_string())]),
                line: format!("ERROR payment failed at {}", ts / S),
            });
            ts -= S;
        }
        Ok(out)
    }

    fn new_patterns(
        &self,
        _t: &TenantId,
        _l: &LogExpr,
        _s: i64,
        _u: i64,
    ) -> Result<Vec<NewPattern>, String> {
        Self::unused()
    }
}

impl FixedLogs {
    fn unused() -> Result<Vec<NewPattern>, String> {
        Err("the lifecycle test has no new-pattern rule".into())
    }
}

#[derive(Default)]
struct Recorder(Mutex<Vec<serde_json::Value>>);

impl Transport for Recorder {
    fn post(&self, _url: &str, _headers: &[(&str, &str)], body: &[u8]) -> Result<u16, String> {
        self.0
            .lock()
            .unwrap()
            .push(serde_json::from_slice(body).unwrap());
        Ok(200)
    }
}

fn config(dir: &Path) -> RulerConfig {
    RulerConfig {
        rules_dir: dir.join("rules"),
        state_dir: dir.join("ruler"),
        evaluation_interval_ns: 60 * S,
        resend_delay_ns: 60 * S,
        poll_interval_ns: 30 * S,
        for_outage_tolerance_ns: 3600 * S,
        external_url: "http://basin.test".into(),
        external_labels: BTreeMap::new(),
        alertmanager_urls: Vec::new(),
        sample_lines: 3,
        receivers: vec![ReceiverConfig {
            name: "hook".into(),
            kind: ReceiverKind::Webhook("http://hook.test".into()),
            matchers: BTreeMap::new(),
            group_by: vec!["alertname".into()],
            group_wait_ns: 0,
            group_interval_ns: 60 * S,
            repeat_interval_ns: 24 * 3600 * S,
            send_resolved: true,
        }],
        remote_write: Vec::new(),
    }
}

fn start(dir: &Path, hook: &Arc<Recorder>) -> (Ruler, Dispatcher) {
    let cfg = config(dir);
    let stats = Arc::new(RulerStats::default());
    let dispatcher = Dispatcher::open(
        cfg.state_dir.join("notifications.json"),
        cfg.receivers.clone(),
        cfg.external_url.clone(),
        hook.clone(),
        stats.clone(),
    )
    .unwrap();
    (Ruler::new(cfg, Arc::new(FixedLogs), stats), dispatcher)
}

#[test]
fn pending_firing_restart_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let tenant = TenantId::new("team-a").unwrap();
    let hook = Arc::new(Recorder::default());
    let (mut ruler, mut dispatcher) = start(dir.path(), &hook);
    let group = parse_group(
        "name: payments
interval: 1m
rules:
  - alert: PaymentErrors
    expr: sum by (app) (count_over_time({app=\"api\"} |= \"ERROR\" [1m])) > 0
    for: 3m
    labels:
      severity: page
    annotations:
      summary: '{{ $value }} payment errors in {{ $labels.app }}'
",
    )
    .unwrap();
    ruler.store().set_group(&tenant, "payments", group).unwrap();

    let mut states = Vec::new();
    let mut now = 0;
    while now <= 1800 * S {
        if now == 900 * S {
            // Restart in the middle of firing: new ruler and dispatcher on
            // the same directories.
            drop((ruler, dispatcher));
            (ruler, dispatcher) = start(dir.path(), &hook);
        }
        let out = ruler.tick(now);
        dispatcher.receive(&out, now);
        dispatcher.flush(now);
        let alerts = prometheus_alerts(&ruler, &tenant);
        let state = alerts["data"]["alerts"][0]["state"]
            .as_str()
            .unwrap_or("none")
            .to_string();
        if states.last().map(|(_, s)| s) != Some(&state) {
            states.push((now / S, state));
        }
        now += 10 * S;
    }
    // Pending once the first errors are counted, firing three minutes
    // later, gone once a minute without errors is evaluated.
    let changes: Vec<&str> = states.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(changes, ["none", "pending", "firing", "none"], "{states:?}");
    let pending_at = states[1].0;
    let firing_at = states[2].0;
    assert!((600..=660).contains(&pending_at), "{states:?}");
    assert_eq!(firing_at - pending_at, 180, "{states:?}");

    let posts = hook.0.lock().unwrap();
    let statuses: Vec<&str> = posts
        .iter()
        .map(|p| p["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["firing", "resolved"],
        "one firing across the restart, then the resolution"
    );
    let firing = &posts[0]["alerts"][0];
    assert_eq!(firing["labels"]["alertname"], "PaymentErrors");
    assert_eq!(firing["labels"]["severity"], "page");
    assert!(firing["annotations"]["summary"]
        .as_str()
        .unwrap()
        .ends_with("payment errors in api"));
    let lines = firing["sampleLines"].as_array().unwrap();
    assert_eq!(lines.len(), 3);
    assert!(lines[0]["line"]
        .as_str()
        .unwrap()
        .starts_with("ERROR payment failed"));
    assert!(firing["generatorURL"]
        .as_str()
        .unwrap()
        .starts_with("http://basin.test/loki/api/v1/query_range?query=%7Bapp"));
    let resolved = &posts[1]["alerts"][0];
    assert_eq!(resolved["status"], "resolved");
    assert_ne!(resolved["endsAt"], "0001-01-01T00:00:00Z");
}
