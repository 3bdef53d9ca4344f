//! Label browser endpoints: `labels`, `label/<name>/values`, `series`. They
//! read stream labels from the head and the part indexes only.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Form, Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use basin_logql::parse_log_query;
use basin_model::Labels;
use basin_query::StreamFilter;
use serde_json::{json, Map, Value};

use crate::params::{self, Params};
use crate::{ApiError, AppState};

/// Loki's default range for label queries: the last 6 hours.
const LABELS_SINCE_NS: i64 = 6 * 3_600_000_000_000;

/// The streams in range matching an optional selector (`query` or `match[]`).
async fn streams(
    state: &AppState,
    headers: &HeaderMap,
    p: &Params,
    selectors: Vec<&str>,
) -> Result<Vec<Arc<Labels>>, ApiError> {
    let storage = state.storage()?.clone();
    let tenant = params::tenant(headers)?;
    let (start, end) = p.time_range(LABELS_SINCE_NS)?;
    let filters = selectors
        .iter()
        .map(|s| {
            let q = parse_log_query(s).map_err(|e| ApiError::BadRequest(e.to_string()))?;
            StreamFilter::new(&q.matchers).map_err(ApiError::from)
        })
        .collect::<Result<Vec<_>, _>>()?;
    tokio::task::spawn_blocking(move || {
        let filter = |l: &Labels| filters.is_empty() || filters.iter().any(|f| f.matches(l));
        storage.streams(&tenant, start, end.saturating_add(1), &filter)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("label task failed: {e}")))
}

fn success(data: Value) -> Json<Value> {
    Json(json!({ "status": "success", "data": data }))
}

async fn labels(
    state: Arc<AppState>,
    headers: HeaderMap,
    p: Params,
) -> Result<Json<Value>, ApiError> {
    let selectors = p.get("query").into_iter().collect();
    let streams = streams(&state, &headers, &p, selectors).await?;
    let names: BTreeSet<&str> = streams
        .iter()
        .flat_map(|l| l.pairs().iter().map(|(k, _)| k.as_str()))
        .collect();
    Ok(success(json!(names)))
}

/// `GET /loki/api/v1/labels`.
pub async fn labels_get(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    labels(state, headers, p).await
}

/// `POST /loki/api/v1/labels`.
pub async fn labels_post(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(p): Form<Params>,
) -> Result<Json<Value>, ApiError> {
    labels(state, headers, p).await
}

/// `GET /loki/api/v1/label/<name>/values`.
pub async fn label_values(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let selectors = p.get("query").into_iter().collect();
    let streams = streams(&state, &headers, &p, selectors).await?;
    let values: BTreeSet<&str> = streams.iter().filter_map(|l| l.get(&name)).collect();
    Ok(success(json!(values)))
}

async fn series(
    state: Arc<AppState>,
    headers: HeaderMap,
    p: Params,
) -> Result<Json<Value>, ApiError> {
    let selectors = p.all("match[]");
    let selectors = if selectors.is_empty() {
        p.all("match")
    } else {
        selectors
    };
    let streams = streams(&state, &headers, &p, selectors).await?;
    let data: Vec<Value> = streams
        .iter()
        .map(|l| {
            let m: Map<String, Value> = l
                .pairs()
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            Value::Object(m)
        })
        .collect();
    Ok(success(Value::Array(data)))
}

/// `GET /loki/api/v1/series`.
pub async fn series_get(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    series(state, headers, p).await
}

/// `POST /loki/api/v1/series`.
pub async fn series_post(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(p): Form<Params>,
) -> Result<Json<Value>, ApiError> {
    series(state, headers, p).await
}
