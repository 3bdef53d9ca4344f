//! `/loki/api/v1/delete`: Loki's delete API. POST (or PUT) makes a request
//! (`query`, `start`, `end`), GET lists the tenant's, DELETE cancels one
//! (`request_id`) the compactor has not processed yet.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};

use crate::deletes::{DeleteRequests, Status};
use crate::params::{self, now_ns, parse_time, Params};
use crate::{ApiError, AppState};

fn requests(state: &AppState) -> Result<&Arc<DeleteRequests>, ApiError> {
    state.deletes().ok_or(ApiError::NotReady)
}

/// `POST|PUT /loki/api/v1/delete?query=...&start=...&end=...`: 204.
pub async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<StatusCode, ApiError> {
    let tenant = params::tenant(&headers)?;
    let query = p
        .get("query")
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| ApiError::BadRequest("missing query parameter 'query'".into()))?;
    let start = match p.get("start") {
        Some(v) => parse_time("start", v)?,
        None => {
            return Err(ApiError::BadRequest(
                "missing query parameter 'start'".into(),
            ))
        }
    };
    let end = match p.get("end") {
        Some(v) => parse_time("end", v)?,
        None => now_ns(),
    };
    let reqs = requests(&state)?.clone();
    let query = query.to_string();
    tokio::task::spawn_blocking(move || {
        reqs.add(&tenant, &query, (start, end), now_ns() / 1_000_000_000)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("delete task failed: {e}")))??;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /loki/api/v1/delete`: the tenant's requests, as Loki lists them.
pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let tenant = params::tenant(&headers)?;
    let listed = requests(&state)?
        .list(&tenant)
        .iter()
        .map(|r| {
            json!({
                "request_id": r.request_id,
                "user_id": r.tenant,
                "query": r.query,
                "start_time": r.start_ns as f64 / 1e9,
                "end_time": r.end_ns as f64 / 1e9,
                "created_at": r.created_at,
                "status": match r.status {
                    Status::Received => "received",
                    Status::Processed => "processed",
                },
            })
        })
        .collect();
    Ok(Json(Value::Array(listed)))
}

/// `DELETE /loki/api/v1/delete?request_id=...`: cancels; 204.
pub async fn cancel(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<StatusCode, ApiError> {
    let tenant = params::tenant(&headers)?;
    let id = p
        .get("request_id")
        .ok_or_else(|| ApiError::BadRequest("missing query parameter 'request_id'".into()))?
        .to_string();
    let reqs = requests(&state)?.clone();
    tokio::task::spawn_blocking(move || reqs.cancel(&tenant, &id))
        .await
        .map_err(|e| ApiError::Internal(format!("delete task failed: {e}")))??;
    Ok(StatusCode::NO_CONTENT)
}
