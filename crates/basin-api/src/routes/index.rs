//! `index/stats`, `index/volume`, `index/volume_range`: how much data a
//! selector covers, as Grafana's query inspector and volume panels ask.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use basin_logql::{Grouping, LogExpr, LogRange, MetricExpr, RangeOp, VectorOp};
use basin_model::Labels;
use basin_query::{eval_metric, MetricQuery, Steps, StreamFilter, Value as MetricValue};
use basin_storage::{Columns, ScanRequest};
use serde_json::{json, Value};

use crate::encode;
use crate::params::{self, parse_duration, Params};
use crate::range_checks::{check_range, check_step};
use crate::{ApiError, AppState};

/// Loki's default range for index queries: the last hour.
const INDEX_SINCE_NS: i64 = 3_600_000_000_000;

fn selector(p: &Params) -> Result<LogExpr, ApiError> {
    let mut log = p.log_query()?;
    // Only the stream selector counts here, as in Loki.
    log.stages.clear();
    Ok(log)
}

/// `GET /loki/api/v1/index/stats`: streams, blocks ("chunks"), entries and
/// bytes of the lines a selector covers.
pub async fn stats(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let storage = state.storage()?.clone();
    let tenant = params::tenant(&headers)?;
    let (start, end) = p.time_range(INDEX_SINCE_NS)?;
    check_range(&state.limits, start, end)?;
    let log = selector(&p)?;
    let filter = StreamFilter::new(&log.matchers)?;
    let deletes = state.deletes().and_then(|d| d.filter(&tenant));
    let (streams, entries, bytes, blocks) = tokio::task::spawn_blocking(move || {
        let mut streams = BTreeSet::new();
        let (mut entries, mut bytes) = (0u64, 0u64);
        let stream_filter = |l: &Labels| filter.matches(l);
        let stats = storage.scan(
            &ScanRequest {
                tenant: &tenant,
                start,
                end: end.saturating_add(1),
                stream_filter: &stream_filter,
                needles: &[],
                columns: Columns {
                    line: true,
                    fields: Some(Vec::new()),
                },
            },
            &mut |labels, entry| {
                if deletes.as_ref().is_some_and(|d| d.covers(labels, entry)) {
                    return true;
                }
                streams.insert(labels.stream_id());
                entries += 1;
                bytes += entry.line.len() as u64;
                true
            },
        )?;
        Ok::<_, basin_storage::StorageError>((streams.len(), entries, bytes, stats.blocks_read))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("stats task failed: {e}")))??;
    Ok(Json(json!({
        "streams": streams,
        "chunks": blocks,
        "entries": entries,
        "bytes": bytes,
    })))
}

/// The labels volumes are grouped by: `targetLabels`, else the selector's
/// label names.
fn volume_grouping(p: &Params, log: &LogExpr) -> Grouping {
    let labels: Vec<String> = match p.get("targetLabels") {
        Some(t) => t
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        None => log
            .matchers
            .iter()
            .map(|m| m.name.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    };
    Grouping {
        without: false,
        labels,
    }
}

async fn volume(
    state: Arc<AppState>,
    headers: HeaderMap,
    p: Params,
    ranged: bool,
) -> Result<Json<Value>, ApiError> {
    let started = Instant::now();
    let storage = state.storage()?.clone();
    let tenant = params::tenant(&headers)?;
    let (start, end) = p.time_range(INDEX_SINCE_NS)?;
    check_range(&state.limits, start, end)?;
    let log = selector(&p)?;
    let limit: usize = match p.get("limit") {
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("invalid limit {v:?}")))?,
        None => 100,
    };
    let (steps, range) = if ranged {
        let step = match p.get("step") {
            Some(v) => parse_duration("step", v)?,
            None => (end.saturating_sub(start) / 250).max(1_000_000_000),
        };
        check_step(start, end, step)?;
        (Steps { start, end, step }, step)
    } else {
        (
            Steps {
                start: end,
                end,
                step: 1,
            },
            end.saturating_sub(start).max(1),
        )
    };
    let expr = MetricExpr::Vector {
        op: VectorOp::Sum,
        param: None,
        grouping: Some(volume_grouping(&p, &log)),
        expr: Box::new(MetricExpr::Range {
            op: RangeOp::BytesOverTime,
            param: None,
            range: LogRange {
                log,
                range,
                offset: 0,
            },
            grouping: None,
        }),
    };
    let max_series = state.limits.max_query_series.max(limit);
    let _slot = state
        .query_slots
        .acquire(&tenant, state.limits.query_timeout)
        .await?;
    let ctx = state.query_context(&tenant);
    let _cancel = ctx.cancel_on_drop();
    let result = tokio::task::spawn_blocking(move || {
        eval_metric(
            &storage,
            &MetricQuery {
                tenant: &tenant,
                expr: &expr,
                steps,
                max_series,
                ctx: &ctx,
            },
        )
    })
    .await
    .map_err(|e| ApiError::Internal(format!("volume task failed: {e}")))??;
    let MetricValue::Vector(mut series) = result.value else {
        return Err(ApiError::Internal("volume is not a vector".into()));
    };
    let total = |s: &basin_query::Series| s.points.iter().flatten().sum::<f64>();
    series.sort_by(|a, b| total(b).total_cmp(&total(a)));
    series.truncate(limit);
    let (kind, body) = if ranged {
        ("matrix", encode::matrix(&series, &steps))
    } else {
        ("vector", encode::vector(&series, end))
    };
    Ok(Json(json!({
        "status": "success",
        "data": {
            "resultType": kind,
            "result": body,
            "stats": encode::stats(&result.stats, series.len(), started),
        }
    })))
}

/// `GET /loki/api/v1/index/volume`: bytes per group over the whole range.
pub async fn volume_instant(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    volume(state, headers, p, false).await
}

/// `GET /loki/api/v1/index/volume_range`: bytes per group per step.
pub async fn volume_range(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    volume(state, headers, p, true).await
}
