//! The ruler's view of the query engine: instant metric queries and sample
//! lines, over the store, with the API's limits.

use std::collections::BTreeMap;
use std::sync::Arc;

use basin_logql::{LogExpr, MetricExpr};
use basin_model::TenantId;
use basin_query::{
    eval_metric, select_logs, Direction, LogSelect, MetricQuery, QueryContext, Steps, Value,
};
use basin_rules::querier::{RuleQuerier, Sample, SampleLine};
use basin_storage::Storage;

use crate::state::ApiLimits;

/// Runs the ruler's queries on the store.
pub struct StorageQuerier {
    storage: Arc<Storage>,
    limits: ApiLimits,
}

impl StorageQuerier {
    /// A querier over `storage`, within `limits` (series, timeout).
    pub fn new(storage: Arc<Storage>, limits: ApiLimits) -> Self {
        Self { storage, limits }
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
        let ctx = QueryContext::new(Some(self.limits.query_timeout));
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
        let ctx = QueryContext::new(Some(self.limits.query_timeout));
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
}
