//! `query` (instant) and `query_range`: log queries answer `streams`, metric
//! queries `matrix`, `vector` or `scalar`, as Loki does.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Form, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use basin_logql::{parse_expr, Expr};
use basin_query::{eval_metric, Direction, MetricQuery, Steps, Value as MetricValue};
use serde::Deserialize;
use serde_json::{json, Value};

use super::select::select_blocking;
use crate::encode;
use crate::params::{self, header, now_ns, parse_duration, parse_time};
use crate::range_checks::{check_range, check_step};
use crate::{ApiError, AppState};

/// Parameters of `query` and `query_range`, from the URL or a form body.
#[derive(Debug, Default, Deserialize)]
pub struct QueryParams {
    query: Option<String>,
    start: Option<String>,
    end: Option<String>,
    time: Option<String>,
    since: Option<String>,
    step: Option<String>,
    interval: Option<String>,
    limit: Option<String>,
    direction: Option<String>,
}

/// Loki's default range: the last hour.
const DEFAULT_SINCE_NS: i64 = 3_600_000_000_000;
/// Loki's default number of entries.
const DEFAULT_LIMIT: usize = 100;
/// Header through which Grafana asks for structured metadata apart from labels.
const ENCODING_FLAGS: &str = "X-Loki-Response-Encoding-Flags";

/// `GET /loki/api/v1/query_range`.
pub async fn range_get(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(p): Query<QueryParams>,
) -> Result<Json<Value>, ApiError> {
    run(state, headers, p, true).await
}

/// `POST /loki/api/v1/query_range` with a form body.
pub async fn range_post(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(p): Form<QueryParams>,
) -> Result<Json<Value>, ApiError> {
    run(state, headers, p, true).await
}

/// `GET /loki/api/v1/query`.
pub async fn instant_get(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(p): Query<QueryParams>,
) -> Result<Json<Value>, ApiError> {
    run(state, headers, p, false).await
}

/// `POST /loki/api/v1/query` with a form body.
pub async fn instant_post(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(p): Form<QueryParams>,
) -> Result<Json<Value>, ApiError> {
    run(state, headers, p, false).await
}

/// Loki's default step: the range in 250 points, at least one second.
fn default_step(start: i64, end: i64) -> i64 {
    ((end.saturating_sub(start) / 1_000_000_000) / 250).max(1) * 1_000_000_000
}

async fn run(
    state: Arc<AppState>,
    headers: HeaderMap,
    p: QueryParams,
    ranged: bool,
) -> Result<Json<Value>, ApiError> {
    let started = Instant::now();
    let storage = state.storage()?.clone();
    let tenant = params::tenant(&headers)?;
    let limits = state.limits.clone();
    let text = p
        .query
        .as_deref()
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| ApiError::BadRequest("missing query parameter 'query'".into()))?;
    let expr = parse_expr(text).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let (start, end) = if ranged {
        let end = match &p.end {
            Some(v) => parse_time("end", v)?,
            None => now_ns(),
        };
        let start = match (&p.start, &p.since) {
            (Some(v), _) => parse_time("start", v)?,
            (None, Some(since)) => end.saturating_sub(parse_duration("since", since)?),
            (None, None) => end.saturating_sub(DEFAULT_SINCE_NS),
        };
        (start, end)
    } else {
        let t = match &p.time {
            Some(v) => parse_time("time", v)?,
            None => now_ns(),
        };
        (t, t)
    };
    check_range(&limits, start, end)?;
    let _slot = state
        .query_slots
        .acquire(&tenant, state.limits.query_timeout)
        .await?;
    let ctx = state
        .query_context(&tenant)
        .with_pattern_aliases(state.patterns.aliases(&tenant));
    // Dropped when the client goes away, which stops the scan.
    let _cancel = ctx.cancel_on_drop();
    let categorize = header(&headers, ENCODING_FLAGS)
        .is_some_and(|v| v.split(',').any(|f| f.trim() == "categorize-labels"));
    match expr {
        Expr::Log(log) => {
            let limit = match &p.limit {
                Some(v) => v
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| ApiError::BadRequest(format!("invalid limit {v:?}")))?,
                None => DEFAULT_LIMIT,
            };
            let max = limits.max_entries_limit_per_query;
            if limit > max {
                return Err(ApiError::BadRequest(format!(
                    "max entries limit per query exceeded, limit > max_entries_limit_per_query ({limit} > {max})"
                )));
            }
            let direction = match p
                .direction
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                None | Some("") | Some("backward") => Direction::Backward,
                Some("forward") => Direction::Forward,
                Some(other) => {
                    return Err(ApiError::BadRequest(format!(
                        "invalid direction {other:?}: use forward or backward"
                    )))
                }
            };
            // An instant log query looks back over Loki's default hour.
            let start = if ranged {
                start
            } else {
                end.saturating_sub(DEFAULT_SINCE_NS)
            };
            let _ = &p.interval;
            let sel =
                select_blocking(storage, tenant, log, start, end, limit, direction, ctx).await?;
            let mut data = json!({
                "resultType": "streams",
                "result": encode::streams(&sel, categorize),
                "stats": encode::stats(&sel.stats, sel.rows.len(), started),
            });
            if categorize {
                data["encodingFlags"] = json!(["categorize-labels"]);
            }
            Ok(Json(json!({ "status": "success", "data": data })))
        }
        Expr::Metric(metric) => {
            let step = if ranged {
                match &p.step {
                    Some(v) => parse_duration("step", v)?,
                    None => default_step(start, end),
                }
            } else {
                1
            };
            check_step(start, end, step)?;
            let steps = Steps { start, end, step };
            let max_series = limits.max_query_series;
            let result = tokio::task::spawn_blocking(move || {
                eval_metric(
                    &storage,
                    &MetricQuery {
                        tenant: &tenant,
                        expr: &metric,
                        steps,
                        max_series,
                        ctx: &ctx,
                    },
                )
            })
            .await
            .map_err(|e| ApiError::Internal(format!("query task failed: {e}")))??;
            let (kind, body, returned) = match (&result.value, ranged) {
                (MetricValue::Vector(series), true) => {
                    ("matrix", encode::matrix(series, &steps), series.len())
                }
                (MetricValue::Vector(series), false) => {
                    ("vector", encode::vector(series, end), series.len())
                }
                (MetricValue::Scalar(values), true) => {
                    let series = basin_query::Series {
                        labels: Default::default(),
                        points: values.iter().map(|v| Some(*v)).collect(),
                    };
                    ("matrix", encode::matrix(&[series], &steps), 1)
                }
                (MetricValue::Scalar(values), false) => (
                    "scalar",
                    encode::scalar(values.first().copied().unwrap_or(f64::NAN), end),
                    1,
                ),
            };
            Ok(Json(json!({
                "status": "success",
                "data": {
                    "resultType": kind,
                    "result": body,
                    "stats": encode::stats(&result.stats, returned, started),
                }
            })))
        }
    }
}
