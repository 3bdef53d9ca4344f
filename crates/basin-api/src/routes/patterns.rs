//! Patterns: `GET /loki/api/v1/patterns` in Loki's shape (what Grafana
//! Logs Drilldown shows) and Basin's `GET /api/v1/patterns`, which adds
//! ids, stream groups, first-seen times, the level mix, an example line and
//! `new_since`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use basin_logql::LogExpr;
use basin_model::TenantId;
use basin_pipeline::patterns::PatternInfo;
use basin_query::pattern_counts::{count_patterns, PatternCounts};
use serde_json::{json, Value};

use crate::params::{self, parse_duration, parse_time, Params};
use crate::range_checks::{check_range, check_step};
use crate::{ApiError, AppState};

/// The default range: the last hour, as Drilldown asks.
const SINCE_NS: i64 = 3_600_000_000_000;
/// Steps a range is cut into when `step` is not given.
const DEFAULT_STEPS: i64 = 100;
/// The shortest default step.
const MIN_STEP_NS: i64 = 10_000_000_000;

/// A pattern with what was counted for it in the range.
struct Counted {
    info: PatternInfo,
    counts: PatternCounts,
}

/// Counts the lines of the query's streams per pattern; `None` for the
/// query means every stream.
async fn counted(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    p: &Params,
) -> Result<(Vec<Counted>, i64), ApiError> {
    let storage = state.storage()?.clone();
    let tenant = params::tenant(headers)?;
    let query = match p.get("query") {
        Some(_) => p.log_query()?,
        None => LogExpr {
            matchers: Vec::new(),
            stages: Vec::new(),
        },
    };
    let (start, end) = p.time_range(SINCE_NS)?;
    let step = match p.get("step") {
        Some(v) => parse_duration("step", v)?,
        None => ((end - start) / DEFAULT_STEPS).max(MIN_STEP_NS),
    };
    check_range(&state.limits, start, end)?;
    check_step(start, end, step)?;
    let _slot = state
        .query_slots
        .acquire(&tenant, state.limits.query_timeout)
        .await?;
    let ctx = state.query_context(&tenant);
    let _cancel = ctx.cancel_on_drop();
    let s = state.clone();
    let t = tenant.clone();
    let counts: HashMap<u64, PatternCounts> = tokio::task::spawn_blocking(move || {
        let resolve = |id: u64| s.patterns.resolve(&t, id);
        count_patterns(
            &storage,
            &t,
            &query,
            start,
            end.saturating_add(1),
            step,
            &resolve,
            &ctx,
        )
    })
    .await
    .map_err(|e| ApiError::Internal(format!("pattern task failed: {e}")))??;
    let mut out: Vec<Counted> = patterns_of(state, &tenant)
        .into_iter()
        .filter_map(|info| {
            counts.get(&info.id).map(|c| Counted {
                counts: c.clone(),
                info,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.counts
            .total
            .cmp(&a.counts.total)
            .then(a.info.id.cmp(&b.info.id))
    });
    Ok((out, step))
}

fn patterns_of(state: &AppState, tenant: &TenantId) -> Vec<PatternInfo> {
    state.patterns.patterns(tenant)
}

/// The level most of a pattern's lines have, if any is known.
fn main_level(c: &PatternCounts) -> Option<&'static str> {
    c.levels
        .iter()
        .filter(|(l, _)| **l != "unknown")
        .max_by_key(|(_, n)| **n)
        .map(|(l, _)| *l)
}

fn samples(c: &PatternCounts) -> Vec<Value> {
    c.samples
        .iter()
        .map(|(t, n)| json!([t / 1_000_000_000, n]))
        .collect()
}

/// `GET /loki/api/v1/patterns`.
pub async fn loki_patterns(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    if p.get("query").is_none() {
        return Err(ApiError::BadRequest(
            "missing query parameter 'query'".into(),
        ));
    }
    let (patterns, _) = counted(&state, &headers, &p).await?;
    let data: Vec<Value> = patterns
        .iter()
        .map(|c| {
            let mut v = json!({ "pattern": c.info.pattern, "samples": samples(&c.counts) });
            if let Some(level) = main_level(&c.counts) {
                v["level"] = json!(level);
            }
            v
        })
        .collect();
    Ok(Json(json!({ "status": "success", "data": data })))
}

/// `GET /api/v1/patterns`: `query` optional (every stream), `new_since`
/// keeps patterns first seen at or after that time.
pub async fn basin_patterns(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let new_since = p
        .get("new_since")
        .map(|v| parse_time("new_since", v))
        .transpose()?;
    let (patterns, step) = counted(&state, &headers, &p).await?;
    let data: Vec<Value> = patterns
        .iter()
        .filter(|c| new_since.is_none_or(|t| c.info.first_seen >= t))
        .map(|c| {
            json!({
                "pattern_id": c.info.id.to_string(),
                "pattern": c.info.pattern,
                "group": c.info.group,
                "count": c.counts.total,
                "first_seen": rfc3339(c.info.first_seen),
                "levels": c.counts.levels,
                "level": main_level(&c.counts),
                "example": c.info.example,
                "aliases": c.info.aliases.iter().map(u64::to_string).collect::<Vec<_>>(),
                "samples": samples(&c.counts),
            })
        })
        .collect();
    Ok(Json(json!({
        "status": "success",
        "step_seconds": step as f64 / 1e9,
        "data": data,
    })))
}

fn rfc3339(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}
