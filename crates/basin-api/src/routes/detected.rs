//! What Grafana Logs Drilldown asks to build its views: `detected_labels`,
//! `detected_fields`, `detected_field/<name>/values` (patterns are in
//! `patterns.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use basin_logql::parse_log_query;
use basin_model::level::{DETECTED_LEVEL_LABEL, UNKNOWN_LEVEL};
use basin_model::Labels;
use basin_query::detect::{detect_fields, field_type, line_level};
use basin_query::label_set::Origin;
use basin_query::{Direction, StreamFilter};

use super::select::select_blocking;
use serde_json::{json, Value};

use crate::params::{self, Params};
use crate::range_checks::check_range;
use crate::{ApiError, AppState};

/// Drilldown's default range: the last hour.
const SINCE_NS: i64 = 3_600_000_000_000;
/// Lines sampled for field detection unless `line_limit` says otherwise.
const DEFAULT_LINE_LIMIT: usize = 1000;

/// `GET /loki/api/v1/detected_labels`: stream labels and their cardinality.
pub async fn detected_labels(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let storage = state.storage()?.clone();
    let tenant = params::tenant(&headers)?;
    let (start, end) = p.time_range(SINCE_NS)?;
    check_range(&state.limits, start, end)?;
    let query = p.get("query").filter(|q| !q.trim().is_empty());
    let filter = match query {
        Some(q) => {
            let log = parse_log_query(q).map_err(|e| ApiError::BadRequest(e.to_string()))?;
            Some(StreamFilter::new(&log.matchers)?)
        }
        None => None,
    };
    let streams = tokio::task::spawn_blocking(move || {
        let f = |l: &Labels| filter.as_ref().is_none_or(|f| f.matches(l));
        storage.streams(&tenant, start, end.saturating_add(1), &f)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("label task failed: {e}")))?;
    let mut values: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for l in &streams {
        for (k, v) in l.pairs() {
            values.entry(k).or_default().insert(v);
        }
    }
    let mut labels: Vec<Value> = values
        .iter()
        .map(|(k, v)| json!({ "label": k, "cardinality": v.len() }))
        .collect();
    // Loki 3 offers the level it detects at ingest beside stream labels;
    // Basin finds it in a sample of the selected lines.
    if query.is_some() && !values.contains_key(DETECTED_LEVEL_LABEL) {
        let found = sample_fields(&state, &headers, &p).await?;
        if let Some((levels, _)) = found.get(DETECTED_LEVEL_LABEL) {
            labels.push(json!({ "label": DETECTED_LEVEL_LABEL, "cardinality": levels.len() }));
        }
    }
    Ok(Json(json!({ "detectedLabels": labels })))
}

/// Fields found in sampled lines: name → (values, parsers).
type Found = BTreeMap<String, (BTreeSet<String>, BTreeSet<&'static str>)>;

async fn sample_fields(
    state: &AppState,
    headers: &HeaderMap,
    p: &Params,
) -> Result<Found, ApiError> {
    let storage = state.storage()?.clone();
    let tenant = params::tenant(headers)?;
    let (start, end) = p.time_range(SINCE_NS)?;
    check_range(&state.limits, start, end)?;
    let log = p.log_query()?;
    let limit = match p.get("line_limit").or(p.get("limit")) {
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("invalid line_limit {v:?}")))?,
        None => DEFAULT_LINE_LIMIT,
    }
    .min(state.limits.max_entries_limit_per_query);
    let _slot = state
        .query_slots
        .acquire(&tenant, state.limits.query_timeout)
        .await?;
    let ctx = state.query_context(&tenant);
    let _cancel = ctx.cancel_on_drop();
    let sel = select_blocking(
        storage,
        tenant,
        log,
        start,
        end,
        limit,
        Direction::Backward,
        ctx,
    )
    .await?;
    let mut found = Found::new();
    for row in &sel.rows {
        for (k, v, origin) in row.labels.iter() {
            match origin {
                Origin::Stream => {}
                Origin::Metadata => {
                    found
                        .entry(k.to_string())
                        .or_default()
                        .0
                        .insert(v.to_string());
                }
                Origin::Parsed => {
                    let slot = found.entry(k.to_string()).or_default();
                    slot.0.insert(v.to_string());
                }
            }
        }
        // Loki stores the level it detects as structured metadata: no parser.
        if row.labels.origin(DETECTED_LEVEL_LABEL) != Some(Origin::Stream) {
            let level = line_level(&row.line, row.ts, &row.labels);
            found
                .entry(DETECTED_LEVEL_LABEL.to_string())
                .or_default()
                .0
                .insert(level);
        }
        if let Some((parser, fields)) = detect_fields(&row.line) {
            for (k, v) in fields {
                if row.labels.origin(&k) == Some(Origin::Stream) {
                    continue;
                }
                let slot = found.entry(k).or_default();
                slot.0.insert(v);
                slot.1.insert(parser);
            }
        }
    }
    // A level nobody could find is no field worth showing.
    if found
        .get(DETECTED_LEVEL_LABEL)
        .is_some_and(|(values, _)| values.iter().all(|v| v == UNKNOWN_LEVEL))
    {
        found.remove(DETECTED_LEVEL_LABEL);
    }
    Ok(found)
}

/// `GET /loki/api/v1/detected_fields`: fields of recent lines with their
/// type, cardinality and the parser that yields them.
pub async fn detected_fields(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let found = sample_fields(&state, &headers, &p).await?;
    let field_limit: usize = p
        .get("field_limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let fields: Vec<Value> = found
        .iter()
        .take(field_limit)
        .map(|(name, (values, parsers))| {
            json!({
                "label": name,
                "type": field_type(values.iter().map(String::as_str)),
                "cardinality": values.len(),
                "parsers": if parsers.is_empty() { Value::Null } else { json!(parsers) },
            })
        })
        .collect();
    Ok(Json(json!({ "fields": fields, "limit": field_limit })))
}

/// `GET /loki/api/v1/detected_field/<name>/values`.
pub async fn detected_field_values(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let found = sample_fields(&state, &headers, &p).await?;
    let values: Vec<&String> = found
        .get(&name)
        .map(|(v, _)| v.iter().collect())
        .unwrap_or_default();
    Ok(Json(json!({ "values": values })))
}
