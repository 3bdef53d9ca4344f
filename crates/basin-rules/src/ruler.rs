//! The ruler: loads every tenant's rule groups from the store, evaluates
//! each group on its interval as instant queries at aligned timestamps,
//! runs alerts through their state machine, keeps that state on disk, and
//! hands out the alerts due to be sent. Queries run without the ruler's
//! lock held, so the status API answers while rules evaluate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use basin_logql::{parse_duration, parse_expr, Expr, LogExpr, MetricExpr, Stage};
use basin_model::TenantId;
use serde::{Deserialize, Serialize};
use tracing::{error, info, warn};

use crate::alerting::{
    first_range, needs_sending, Alert, AlertSource, AlertState, AlertingRule, TemplateEnv,
};
use crate::config::RulerConfig;
use crate::group::{Rule, RuleGroup};
use crate::history::{AlertEvent, AlertHistory};
use crate::new_patterns::{self, is_new_patterns, level_rank, NewPattern, NewPatterns};
use crate::notify::OutAlert;
use crate::querier::{RuleQuerier, Sample, SampleLine};
use crate::stats::RulerStats;
use crate::store::{write_atomic, RuleStore};
use crate::template_funcs::url_encode;
use crate::RulesError;

/// A group's identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey {
    /// Whose group.
    pub tenant: TenantId,
    /// Its namespace (rule file).
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// A rule's health after its last evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Not evaluated yet.
    Unknown,
    /// Evaluated without error.
    Ok,
    /// The last evaluation failed.
    Err,
}

impl Health {
    /// As the Prometheus API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Ok => "ok",
            Health::Err => "err",
        }
    }
}

/// What a rule does.
#[derive(Debug, Clone)]
pub enum RuleBody {
    /// Alerts and their state.
    Alerting(AlertingRule),
    /// The last samples recorded.
    Recording {
        /// Parsed expression.
        expr: MetricExpr,
        /// The last evaluation's series, labelled.
        samples: Vec<Sample>,
    },
    /// An expression that does not parse (a file edited by hand): the rule
    /// reports the error and is skipped.
    Unparsed,
}

impl RuleBody {
    fn query(&self) -> Option<Query> {
        match self {
            RuleBody::Alerting(a) => Some(match &a.source {
                AlertSource::Metric(m) => Query::Metric(m.clone()),
                AlertSource::NewPatterns(p) => Query::NewPatterns(p.clone()),
            }),
            RuleBody::Recording { expr, .. } => Some(Query::Metric(expr.clone())),
            RuleBody::Unparsed => None,
        }
    }
}

/// What one rule asks the query engine.
enum Query {
    Metric(MetricExpr),
    NewPatterns(NewPatterns),
}

/// A rule as the ruler runs it.
#[derive(Debug, Clone)]
pub struct RuleRun {
    /// The rule as written.
    pub def: Rule,
    /// Its running form.
    pub body: RuleBody,
    /// After the last evaluation.
    pub health: Health,
    /// The last evaluation's error.
    pub last_error: String,
    /// Time of the last evaluation (ns).
    pub last_evaluation: Option<i64>,
    /// Seconds the last evaluation took.
    pub evaluation_time: f64,
}

/// A group as the ruler runs it.
#[derive(Debug, Clone)]
pub struct GroupRun {
    /// The group as written.
    pub def: RuleGroup,
    /// ns.
    pub interval_ns: i64,
    offset_ns: i64,
    /// Timestamp of the last evaluation (ns).
    pub last_evaluation: Option<i64>,
    /// Seconds the last evaluation took.
    pub evaluation_time: f64,
    /// Its rules, in order.
    pub rules: Vec<RuleRun>,
}

/// An instant query's answer.
type QueryResult = Result<Vec<Sample>, String>;

/// An alert picked to be sent: its rule's index, its fingerprint, the
/// window its lines come from, and its labels.
type Pick = (
    usize,
    u64,
    Option<(LogExpr, i64, i64)>,
    BTreeMap<String, String>,
);

/// Alerts of one tenant as saved: rule key → alerts.
#[derive(Debug, Default, Serialize, Deserialize)]
struct SavedAlerts {
    saved_at: i64,
    rules: BTreeMap<String, Vec<Alert>>,
}

/// The ruler of every tenant.
pub struct Ruler {
    config: RulerConfig,
    store: RuleStore,
    querier: Arc<dyn RuleQuerier>,
    stats: Arc<RulerStats>,
    env: TemplateEnv,
    groups: Mutex<BTreeMap<GroupKey, GroupRun>>,
    /// Store generation and time of the last load.
    loaded: Mutex<Option<(u64, i64)>>,
    /// Alerts read from disk at start, taken by the groups they belong to.
    restored: Mutex<BTreeMap<(TenantId, String), Vec<Alert>>>,
    restored_loaded: AtomicU64,
    /// Tenants whose alerts changed since they were saved.
    dirty: Mutex<BTreeSet<TenantId>>,
    /// Groups evaluated so far, for tests and logs.
    evaluations: AtomicI64,
    /// Series to remote-write: (tenant, evaluation time, samples).
    written: Mutex<Vec<Written>>,
    /// When alerts fired and resolved, per tenant.
    history: Mutex<AlertHistory>,
}

/// Samples of one group evaluation, for remote write.
pub type Written = (TenantId, i64, Vec<Sample>);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The key alerts of a rule are saved under: its group, name and labels,
/// so edits to `expr` or `for` keep the alerts (as Prometheus does).
fn rule_key(namespace: &str, group: &str, rule: &Rule) -> String {
    let labels: Vec<String> = rule
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!(
        "{namespace}\u{1f}{group}\u{1f}{}\u{1f}{}",
        rule.name(),
        labels.join(",")
    )
}

/// A stable spread of groups over their interval (Prometheus hashes too).
fn offset_of(key: &GroupKey, interval_ns: i64) -> i64 {
    let text = format!("{}/{}/{}", key.tenant, key.namespace, key.name);
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    (hash % interval_ns.max(1) as u64) as i64
}

impl Ruler {
    /// A ruler over `config.rules_dir`, querying through `querier`.
    pub fn new(config: RulerConfig, querier: Arc<dyn RuleQuerier>, stats: Arc<RulerStats>) -> Self {
        let env = TemplateEnv {
            external_labels: config.external_labels.clone(),
            external_url: config.external_url.clone(),
        };
        let history = AlertHistory::new(config.state_dir.join("history"));
        Self {
            store: RuleStore::new(config.rules_dir.clone()),
            config,
            querier,
            stats,
            env,
            groups: Mutex::new(BTreeMap::new()),
            loaded: Mutex::new(None),
            restored: Mutex::new(BTreeMap::new()),
            restored_loaded: AtomicU64::new(0),
            dirty: Mutex::new(BTreeSet::new()),
            evaluations: AtomicI64::new(0),
            written: Mutex::new(Vec::new()),
            history: Mutex::new(history),
        }
    }

    /// When the tenant's alerts fired and resolved, oldest first.
    pub fn history(&self, tenant: &TenantId) -> Vec<AlertEvent> {
        lock(&self.history).list(tenant)
    }

    /// The rule store the API edits.
    pub fn store(&self) -> &RuleStore {
        &self.store
    }

    /// The settings in force.
    pub fn config(&self) -> &RulerConfig {
        &self.config
    }

    /// The ruler's counters.
    pub fn stats(&self) -> &Arc<RulerStats> {
        &self.stats
    }

    /// Groups evaluated since start.
    pub fn evaluations(&self) -> i64 {
        self.evaluations.load(Ordering::Relaxed)
    }

    fn alerts_path(&self, tenant: &TenantId) -> PathBuf {
        self.config
            .state_dir
            .join("alerts")
            .join(format!("{}.json", tenant.as_str()))
    }

    /// Reads the alerts saved by the previous run, once.
    fn restore(&self, now: i64) {
        if self.restored_loaded.swap(1, Ordering::AcqRel) == 1 {
            return;
        }
        let dir = self.config.state_dir.join("alerts");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        let mut restored = lock(&self.restored);
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(tenant) = path
                .file_stem()
                .and_then(|s| s.to_str())
                .filter(|_| path.extension().is_some_and(|e| e == "json"))
                .and_then(|s| TenantId::new(s).ok())
            else {
                continue;
            };
            let saved: SavedAlerts = match std::fs::read(&path).map(|b| serde_json::from_slice(&b))
            {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    error!(
                        "alert state {} unreadable, its alerts start over: {e}",
                        path.display()
                    );
                    continue;
                }
                Err(e) => {
                    error!("alert state {} unreadable: {e}", path.display());
                    continue;
                }
            };
            // After a long outage, a pending alert's progress no longer holds.
            let stale = now - saved.saved_at > self.config.for_outage_tolerance_ns;
            let mut count = 0;
            for (key, mut alerts) in saved.rules {
                if stale {
                    alerts.retain(|a| a.state != AlertState::Pending);
                }
                count += alerts.len();
                restored.insert((tenant.clone(), key), alerts);
            }
            if count > 0 {
                info!("{count} alerts of tenant {tenant} restored");
            }
        }
    }

    /// Re-reads the rule store when the API changed it or the poll interval
    /// passed; running groups keep their alerts across edits.
    pub fn sync(&self, now: i64) {
        self.restore(now);
        let generation = self.store.generation();
        {
            let loaded = lock(&self.loaded);
            if let Some((g, at)) = *loaded {
                if g == generation && now - at < self.config.poll_interval_ns {
                    return;
                }
            }
        }
        let tenants = match self.store.tenants() {
            Ok(t) => t,
            Err(e) => {
                error!("rules not reloaded: {e}");
                return;
            }
        };
        let mut wanted: BTreeMap<GroupKey, RuleGroup> = BTreeMap::new();
        for tenant in tenants {
            match self.store.list(&tenant) {
                Ok(namespaces) => {
                    for (namespace, groups) in namespaces {
                        for group in groups {
                            let key = GroupKey {
                                tenant: tenant.clone(),
                                namespace: namespace.clone(),
                                name: group.name.clone(),
                            };
                            wanted.insert(key, group);
                        }
                    }
                }
                Err(e) => {
                    // Keep what runs for this tenant rather than drop its rules.
                    error!("rules of tenant {tenant} not reloaded: {e}");
                    let groups = lock(&self.groups);
                    for (k, g) in groups.iter().filter(|(k, _)| k.tenant == tenant) {
                        wanted.insert(k.clone(), g.def.clone());
                    }
                }
            }
        }
        let mut groups = lock(&self.groups);
        let mut restored = lock(&self.restored);
        let mut old = std::mem::take(&mut *groups);
        for (key, def) in wanted {
            let previous = old.remove(&key);
            if let Some(p) = previous.as_ref().filter(|p| p.def == def) {
                groups.insert(key, p.clone());
                continue;
            }
            let run = self.build(&key, def, previous, &mut restored);
            groups.insert(key, run);
        }
        for key in old.keys() {
            lock(&self.dirty).insert(key.tenant.clone());
        }
        *lock(&self.loaded) = Some((generation, now));
    }

    /// Builds a group's runtime, carrying alerts from its previous version
    /// or from disk.
    fn build(
        &self,
        key: &GroupKey,
        def: RuleGroup,
        previous: Option<GroupRun>,
        restored: &mut BTreeMap<(TenantId, String), Vec<Alert>>,
    ) -> GroupRun {
        let interval_ns = def
            .interval
            .as_deref()
            .and_then(parse_duration)
            .filter(|d| *d > 0)
            .unwrap_or(self.config.evaluation_interval_ns);
        let mut carried: BTreeMap<String, BTreeMap<u64, Alert>> = BTreeMap::new();
        if let Some(p) = previous {
            for r in p.rules {
                if let RuleBody::Alerting(a) = r.body {
                    carried.insert(rule_key(&key.namespace, &key.name, &r.def), a.alerts);
                }
            }
        }
        let rules = def
            .rules
            .iter()
            .map(|rule| {
                let rk = rule_key(&key.namespace, &key.name, rule);
                let parsed = if is_new_patterns(&rule.expr) && rule.alert.is_some() {
                    new_patterns::parse(&rule.expr).map(AlertSource::NewPatterns)
                } else {
                    match parse_expr(&rule.expr) {
                        Ok(Expr::Metric(m)) => Ok(AlertSource::Metric(m)),
                        Ok(Expr::Log(_)) => {
                            Err("rule result is not a vector or scalar".to_string())
                        }
                        Err(e) => Err(e.to_string()),
                    }
                };
                let (body, health, last_error) = match parsed {
                    Ok(source) => {
                        let body = if rule.alert.is_some() {
                            let alerts = carried.remove(&rk).unwrap_or_else(|| {
                                restored
                                    .remove(&(key.tenant.clone(), rk.clone()))
                                    .unwrap_or_default()
                                    .into_iter()
                                    .map(|a| (crate::alerting::fingerprint(&a.labels), a))
                                    .collect()
                            });
                            RuleBody::Alerting(AlertingRule {
                                name: rule.name().to_string(),
                                source,
                                for_ns: rule.for_.as_deref().and_then(parse_duration).unwrap_or(0),
                                keep_firing_for_ns: rule
                                    .keep_firing_for
                                    .as_deref()
                                    .and_then(parse_duration)
                                    .unwrap_or(0),
                                labels: rule.labels.clone(),
                                annotations: rule.annotations.clone(),
                                alerts,
                            })
                        } else {
                            match source {
                                AlertSource::Metric(expr) => RuleBody::Recording {
                                    expr,
                                    samples: Vec::new(),
                                },
                                AlertSource::NewPatterns(_) => RuleBody::Unparsed,
                            }
                        };
                        (body, Health::Unknown, String::new())
                    }
                    Err(e) => (RuleBody::Unparsed, Health::Err, e),
                };
                RuleRun {
                    def: rule.clone(),
                    body,
                    health,
                    last_error,
                    last_evaluation: None,
                    evaluation_time: 0.0,
                }
            })
            .collect();
        GroupRun {
            interval_ns,
            offset_ns: offset_of(key, interval_ns),
            def,
            last_evaluation: None,
            evaluation_time: 0.0,
            rules,
        }
    }

    /// Evaluates every group due at `now` and returns the alerts due to be
    /// sent, with their sample lines. Saves changed alert state.
    pub fn tick(&self, now: i64) -> Vec<OutAlert> {
        self.sync(now);
        let due: Vec<(GroupKey, i64)> = lock(&self.groups)
            .iter()
            .filter_map(|(key, g)| {
                let ts =
                    (now - g.offset_ns).div_euclid(g.interval_ns) * g.interval_ns + g.offset_ns;
                (g.last_evaluation.is_none_or(|last| ts > last)).then(|| (key.clone(), ts))
            })
            .collect();
        let mut out = Vec::new();
        for (key, ts) in due {
            out.extend(self.evaluate(&key, ts));
        }
        self.save_dirty(now);
        out
    }

    /// Evaluates one group at `ts`.
    fn evaluate(&self, key: &GroupKey, ts: i64) -> Vec<OutAlert> {
        let started = Instant::now();
        let (queries, interval, def) = {
            let groups = lock(&self.groups);
            let Some(g) = groups.get(key) else {
                return Vec::new();
            };
            (
                g.rules.iter().map(|r| r.body.query()).collect::<Vec<_>>(),
                g.interval_ns,
                g.def.clone(),
            )
        };
        let results: Vec<(Option<QueryResult>, f64)> = queries
            .iter()
            .map(|q| {
                let t = Instant::now();
                let r = q.as_ref().map(|q| match q {
                    Query::Metric(e) => self.querier.instant(&key.tenant, e, ts),
                    Query::NewPatterns(p) => self
                        .querier
                        // Two intervals: a line that arrived late still
                        // counts; the alert's identity keeps it one alert.
                        .new_patterns(&key.tenant, &p.log, ts - 2 * interval, ts)
                        .map(|found| pattern_samples(found, p.min_level)),
                });
                (r, t.elapsed().as_secs_f64())
            })
            .collect();
        let mut to_send: Vec<(usize, u64)> = Vec::new();
        {
            let mut groups = lock(&self.groups);
            let Some(g) = groups.get_mut(key) else {
                return Vec::new();
            };
            // The group was edited while its queries ran: the next tick
            // evaluates the new version.
            if g.def != def {
                return Vec::new();
            }
            let limit = g.def.limit;
            let mut failed = false;
            for (i, (rule, (result, took))) in g.rules.iter_mut().zip(results).enumerate() {
                let Some(result) = result else {
                    failed = true;
                    continue;
                };
                rule.last_evaluation = Some(ts);
                rule.evaluation_time = took;
                let outcome = result.and_then(|samples| match &mut rule.body {
                    RuleBody::Alerting(a) => {
                        let r = a.apply(ts, &samples, &self.env, limit);
                        let alerts: Vec<&Alert> = a.alerts.values().collect();
                        lock(&self.history).record(
                            &key.tenant,
                            (&key.namespace, &key.name, rule.def.name()),
                            ts,
                            &alerts,
                        );
                        lock(&self.dirty).insert(key.tenant.clone());
                        r
                    }
                    RuleBody::Recording { samples: kept, .. } => {
                        record(rule.def.name(), &rule.def.labels, samples, limit).map(|s| *kept = s)
                    }
                    RuleBody::Unparsed => Ok(()),
                });
                match outcome {
                    Ok(()) => {
                        rule.health = Health::Ok;
                        rule.last_error.clear();
                    }
                    Err(e) => {
                        failed = true;
                        warn!(
                            "rule {:?} of group {:?} (tenant {}) failed: {e}",
                            rule.def.name(),
                            key.name,
                            key.tenant
                        );
                        rule.health = Health::Err;
                        rule.last_error = e;
                    }
                }
                if let RuleBody::Alerting(a) = &rule.body {
                    for (fp, alert) in &a.alerts {
                        if needs_sending(alert, ts, self.config.resend_delay_ns) {
                            to_send.push((i, *fp));
                        }
                    }
                }
            }
            g.last_evaluation = Some(ts);
            g.evaluation_time = started.elapsed().as_secs_f64();
            if !self.config.remote_write.is_empty() {
                let series = written_series(g);
                if !series.is_empty() {
                    lock(&self.written).push((key.tenant.clone(), ts, series));
                }
            }
            self.stats
                .evaluation(key.tenant.as_str(), &key.name, !failed);
        }
        self.evaluations.fetch_add(1, Ordering::Relaxed);
        self.outgoing(key, ts, to_send)
    }

    /// Marks alerts as sent, fetches the sample lines of firing ones, and
    /// returns them as they leave.
    fn outgoing(&self, key: &GroupKey, ts: i64, picks: Vec<(usize, u64)>) -> Vec<OutAlert> {
        if picks.is_empty() {
            return Vec::new();
        }
        let valid_for = 4 * self.config.resend_delay_ns.max(
            lock(&self.groups)
                .get(key)
                .map_or(self.config.evaluation_interval_ns, |g| g.interval_ns),
        );
        // Which lines to look for: per pick, the rule's window and the
        // alert's labels.
        let mut wanted: Vec<Pick> = Vec::new();
        {
            let groups = lock(&self.groups);
            let Some(g) = groups.get(key) else {
                return Vec::new();
            };
            for (i, fp) in &picks {
                let Some(RuleBody::Alerting(rule)) = g.rules.get(*i).map(|r| &r.body) else {
                    continue;
                };
                let Some(alert) = rule.alerts.get(fp) else {
                    continue;
                };
                let window = if alert.state != AlertState::Firing || self.config.sample_lines == 0 {
                    None
                } else {
                    match &rule.source {
                        AlertSource::Metric(expr) => first_range(expr).map(|r| {
                            let end = ts - r.offset;
                            (lines_query(&r.log), end - r.range, end)
                        }),
                        AlertSource::NewPatterns(p) => alert
                            .labels
                            .get("pattern_id")
                            .map(|id| (pattern_lines(&p.log, id), ts - 2 * g.interval_ns, ts)),
                    }
                };
                wanted.push((*i, *fp, window, alert.labels.clone()));
            }
        }
        let mut lines: Vec<Option<Vec<SampleLine>>> = Vec::new();
        for (_, _, window, labels) in &wanted {
            lines.push(window.as_ref().map(|(log, start, end)| {
                let n = self.config.sample_lines;
                match self.querier.lines(&key.tenant, log, *start, *end, n * 20) {
                    Ok(found) => pick_lines(found, labels, n),
                    Err(e) => {
                        warn!(
                            "sample lines for an alert of group {:?} not read: {e}",
                            key.name
                        );
                        Vec::new()
                    }
                }
            }));
        }
        let mut out = Vec::new();
        let mut groups = lock(&self.groups);
        let Some(g) = groups.get_mut(key) else {
            return Vec::new();
        };
        for ((i, fp, window, _), found) in wanted.into_iter().zip(lines) {
            let Some(rule) = g.rules.get_mut(i) else {
                continue;
            };
            let RuleBody::Alerting(a) = &mut rule.body else {
                continue;
            };
            let Some(alert) = a.alerts.get_mut(&fp) else {
                continue;
            };
            if let Some(found) = found {
                alert.sample_lines = found;
            }
            alert.last_sent_at = Some(ts);
            let resolved = alert.state == AlertState::Inactive;
            let ends_at = if resolved {
                alert.resolved_at.unwrap_or(ts)
            } else {
                ts + valid_for
            };
            alert.valid_until = Some(ends_at);
            let mut labels = alert.labels.clone();
            for (k, v) in &self.config.external_labels {
                labels.entry(k.clone()).or_insert_with(|| v.clone());
            }
            let link =
                window.map_or_else(String::new, |(log, start, end)| self.link(&log, start, end));
            out.push(OutAlert {
                tenant: key.tenant.to_string(),
                labels,
                annotations: alert.annotations.clone(),
                starts_at: alert.fired_at.unwrap_or(alert.active_at),
                ends_at,
                resolved,
                generator_url: link,
                sample_lines: alert.sample_lines.clone(),
            });
        }
        lock(&self.dirty).insert(key.tenant.clone());
        out
    }

    /// A link to the lines behind an alert: the log query over its window.
    fn link(&self, log: &LogExpr, start: i64, end: i64) -> String {
        format!(
            "{}/loki/api/v1/query_range?query={}&start={start}&end={end}&direction=backward&limit=100",
            self.config.external_url,
            url_encode(&log.to_string())
        )
    }

    fn save_dirty(&self, now: i64) {
        let tenants: Vec<TenantId> = std::mem::take(&mut *lock(&self.dirty))
            .into_iter()
            .collect();
        for tenant in tenants {
            let mut saved = SavedAlerts {
                saved_at: now,
                rules: BTreeMap::new(),
            };
            {
                let groups = lock(&self.groups);
                for (key, g) in groups.iter().filter(|(k, _)| k.tenant == tenant) {
                    for r in &g.rules {
                        if let RuleBody::Alerting(a) = &r.body {
                            if !a.alerts.is_empty() {
                                saved.rules.insert(
                                    rule_key(&key.namespace, &key.name, &r.def),
                                    a.alerts.values().cloned().collect(),
                                );
                            }
                        }
                    }
                }
            }
            let path = self.alerts_path(&tenant);
            let result = serde_json::to_vec(&saved)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    if let Some(dir) = path.parent() {
                        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
                    }
                    write_atomic(&path, &bytes).map_err(|e| e.to_string())
                });
            let result = result.and_then(|()| lock(&self.history).save(&tenant));
            if let Err(e) = result {
                error!("alerts of tenant {tenant} not saved: {e}");
                lock(&self.dirty).insert(tenant);
            }
        }
    }

    /// Takes the samples evaluated since the last call, for remote write
    /// (gathered only when remote write is configured).
    pub fn take_written(&self) -> Vec<Written> {
        std::mem::take(&mut *lock(&self.written))
    }

    /// A snapshot of the groups of `tenant`, by namespace and name.
    pub fn groups(&self, tenant: &TenantId) -> Vec<(GroupKey, GroupRun)> {
        lock(&self.groups)
            .iter()
            .filter(|(k, _)| &k.tenant == tenant)
            .map(|(k, g)| (k.clone(), g.clone()))
            .collect()
    }

    /// Every tenant's recording rules' last samples: (tenant, name, samples).
    pub fn recorded(&self) -> Vec<(TenantId, Vec<Sample>)> {
        lock(&self.groups)
            .iter()
            .map(|(k, g)| {
                let samples = g
                    .rules
                    .iter()
                    .filter_map(|r| match &r.body {
                        RuleBody::Recording { samples, .. } => Some(samples.clone()),
                        _ => None,
                    })
                    .flatten()
                    .collect();
                (k.tenant.clone(), samples)
            })
            .collect()
    }

    /// Checks that the rules directory can be listed (for `/ready`).
    pub fn check(&self) -> Result<(), RulesError> {
        self.store.tenants().map(|_| ())
    }
}

/// What a group's evaluation writes, as Prometheus' rule manager appends
/// it: recording rules' samples, and for each pending or firing alert
/// `ALERTS{alertname, alertstate, ...} 1`.
fn written_series(group: &GroupRun) -> Vec<Sample> {
    let mut out = Vec::new();
    for rule in &group.rules {
        match &rule.body {
            RuleBody::Recording { samples, .. } if rule.health == Health::Ok => {
                out.extend(samples.iter().cloned());
            }
            RuleBody::Alerting(a) => {
                for alert in a
                    .alerts
                    .values()
                    .filter(|a| a.state != AlertState::Inactive)
                {
                    let mut labels = alert.labels.clone();
                    labels.insert("__name__".into(), "ALERTS".into());
                    labels.insert("alertstate".into(), alert.state.as_str().into());
                    out.push(Sample { labels, value: 1.0 });
                }
            }
            _ => {}
        }
    }
    out
}

/// A recording rule's result: `__name__` and the rule's labels set, and
/// duplicate or too many series refused as Prometheus refuses them.
fn record(
    name: &str,
    labels: &BTreeMap<String, String>,
    samples: Vec<Sample>,
    limit: u64,
) -> Result<Vec<Sample>, String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(samples.len());
    for mut s in samples {
        s.labels.insert("__name__".into(), name.to_string());
        for (k, v) in labels {
            s.labels.insert(k.clone(), v.clone());
        }
        if !seen.insert(s.labels.clone()) {
            return Err(
                "vector contains metrics with the same labelset after applying rule labels".into(),
            );
        }
        out.push(s);
    }
    if limit > 0 && out.len() as u64 > limit {
        return Err(format!(
            "exceeded limit of {limit} with {} series",
            out.len()
        ));
    }
    Ok(out)
}

/// A new-pattern rule's findings as alert samples: patterns at the rule's
/// level or above, labelled with their id, template and level, valued by
/// their count of lines.
fn pattern_samples(found: Vec<NewPattern>, min_level: &str) -> Vec<Sample> {
    found
        .into_iter()
        .filter(|p| level_rank(&p.level) >= level_rank(min_level))
        .map(|p| Sample {
            labels: BTreeMap::from([
                ("pattern_id".to_string(), p.id.to_string()),
                ("pattern".to_string(), p.pattern),
                ("level".to_string(), p.level),
            ]),
            value: p.count as f64,
        })
        .collect()
}

/// The lines of one pattern among a new-pattern rule's lines.
fn pattern_lines(log: &LogExpr, pattern_id: &str) -> LogExpr {
    let mut out = log.clone();
    out.stages
        .push(Stage::LabelFilter(basin_logql::LabelFilter::Str {
            name: "pattern_id".into(),
            op: basin_logql::MatchOp::Eq,
            value: pattern_id.to_string(),
        }));
    out
}

/// The log part of a window, without `unwrap` and what follows it: the
/// lines themselves, not the numbers taken from them.
fn lines_query(log: &LogExpr) -> LogExpr {
    let mut out = log.clone();
    if let Some(at) = out
        .stages
        .iter()
        .position(|s| matches!(s, Stage::Unwrap { .. }))
    {
        out.stages.truncate(at);
    }
    out
}

/// Up to `n` lines whose labels agree with the alert's on the names both
/// have: the lines of the series that fired, not of its neighbours.
fn pick_lines(
    found: Vec<SampleLine>,
    alert: &BTreeMap<String, String>,
    n: usize,
) -> Vec<SampleLine> {
    found
        .into_iter()
        .filter(|line| {
            alert
                .iter()
                .all(|(k, v)| line.labels.get(k).is_none_or(|lv| lv == v))
        })
        .take(n)
        .collect()
}
