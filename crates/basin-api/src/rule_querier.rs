//! The ruler's view of the query engine: instant metric queries and sample
//! lines, over the store, with the API's limits.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

use basin_logql::{LogExpr, MetricExpr};
use basin_model::level::UNKNOWN_LEVEL;
use basin_model::TenantId;
use basin_pipeline::patterns::PatternInfo;
use basin_query::pattern_counts::count_patterns;
use basin_query::{
    eval_metric, select_logs, Direction, LogSelect, MetricQuery, QueryContext, Steps, Value,
};
use basin_rules::new_patterns::NewPattern;
use basin_rules::querier::{RuleQuerier, Sample, SampleLine};
use basin_storage::Storage;

use crate::state::ApiLimits;
use crate::AppState;

/// Runs the ruler's queries on the store, with the API's limits and the
/// pattern miners' knowledge.
pub struct StorageQuerier {
    storage: Arc<Storage>,
    limits: ApiLimits,
    /// Weak: the state holds the ruler, which holds this querier.
    state: Weak<AppState>,
    /// The server's runtime, to fetch indexers' snapshots on a query node
    /// from the ruler's own thread.
    runtime: Option<tokio::runtime::Handle>,
}

impl StorageQuerier {
    /// A querier over `storage`, within the limits of `state`.
    pub fn new(state: &Arc<AppState>, storage: Arc<Storage>) -> Self {
        Self {
            storage,
            limits: state.limits.clone(),
            state: Arc::downgrade(state),
            runtime: tokio::runtime::Handle::try_current().ok(),
        }
    }

    /// On a query node, brings the store's picture of `tenant` up to date
    /// from every indexer first (see [`crate::peers`]); elsewhere nothing.
    fn refresh(&self, tenant: &TenantId) -> Result<(), String> {
        let Some(state) = self.state.upgrade() else {
            return Ok(());
        };
        let (Some(peers), Some(runtime)) = (state.peers(), &self.runtime) else {
            return Ok(());
        };
        runtime
            .block_on(peers.sync(&self.storage, tenant, None))
            .map_err(|e| e.to_string())
    }

    fn context(&self, tenant: &TenantId) -> QueryContext {
        match self.state.upgrade() {
            Some(state) => state
                .query_context(tenant)
                .with_pattern_aliases(state.patterns.aliases(tenant)),
            None => QueryContext::new(Some(self.limits.query_timeout)),
        }
    }
}

fn labels_of(set: &basin_query::label_set::LabelSet) -> BTreeMap<String, String> {
    set.iter()
        .map(|(k, v, _)| (k.to_string(), v.to_string()))
        .collect()
}

impl RuleQuerier for StorageQuerier {
    fn instant(
        &self,
        tenant: &TenantId,
        expr: &MetricExpr,
        at: i64,
    ) -> Result<Vec<Sample>, String> {
        self.refresh(tenant)?;
        let ctx = self.context(tenant);
        let result = eval_metric(
            &self.storage,
            &MetricQuery {
                tenant,
                expr,
                steps: Steps {
                    start: at,
                    end: at,
                    step: 1,
                },
                max_series: self.limits.max_query_series,
                ctx: &ctx,
            },
        )
        .map_err(|e| e.to_string())?;
        Ok(match result.value {
            Value::Vector(series) => series
                .iter()
                .filter_map(|s| {
                    s.points.first().copied().flatten().map(|value| Sample {
                        labels: labels_of(&s.labels),
                        value,
                    })
                })
                .collect(),
            Value::Scalar(values) => values
                .first()
                .map(|v| Sample {
                    labels: BTreeMap::new(),
                    value: *v,
                })
                .into_iter()
                .collect(),
        })
    }

    fn lines(
        &self,
        tenant: &TenantId,
        log: &LogExpr,
        start: i64,
        end: i64,
        limit: usize,
    ) -> Result<Vec<SampleLine>, String> {
        self.refresh(tenant)?;
        let ctx = self.context(tenant);
        let selection = select_logs(
            &self.storage,
            &LogSelect {
                tenant,
                query: log,
                start,
                end: end.saturating_add(1),
                limit,
                direction: Direction::Backward,
                ctx: &ctx,
            },
        )
        .map_err(|e| e.to_string())?;
        Ok(selection
            .rows
            .iter()
            .map(|row| SampleLine {
                ts: row.ts,
                labels: labels_of(&row.labels),
                line: row.line.clone(),
            })
            .collect())
    }

    fn new_patterns(
        &self,
        tenant: &TenantId,
        log: &LogExpr,
        since: i64,
        until: i64,
    ) -> Result<Vec<NewPattern>, String> {
        let Some(state) = self.state.upgrade() else {
            return Ok(Vec::new());
        };
        // Most evaluations end here: nothing new, nothing read.
        let fresh: Vec<PatternInfo> = state
            .patterns
            .patterns(tenant)
            .into_iter()
            .filter(|p| p.first_seen > since && p.first_seen <= until)
            .collect();
        if fresh.is_empty() {
            return Ok(Vec::new());
        }
        let ctx = self.context(tenant);
        let resolve = |id: u64| state.patterns.resolve(tenant, id);
        let counts = count_patterns(
            &self.storage,
            tenant,
            log,
            since + 1,
            until.saturating_add(1),
            (until - since).max(1),
            &resolve,
            &ctx,
        )
        .map_err(|e| e.to_string())?;
        Ok(fresh
            .into_iter()
            .filter_map(|info| {
                let c = counts.get(&info.id).filter(|c| c.total > 0)?;
                let level = c
                    .levels
                    .iter()
                    .filter(|(l, _)| **l != UNKNOWN_LEVEL)
                    .max_by_key(|(_, n)| **n)
                    .map_or(UNKNOWN_LEVEL, |(l, _)| *l);
                Some(NewPattern {
                    id: info.id,
                    pattern: info.pattern,
                    level: level.to_string(),
                    count: c.total,
                })
            })
            .collect())
    }
}
