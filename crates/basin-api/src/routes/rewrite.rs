//! Rewrites by a compactor, adopted by the indexer that owns the parts
//! (see `basin_storage` handoff): ids reserved first, then the written part
//! listed in place of its sources.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use basin_storage::PartMeta;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{params, ApiError, AppState};

/// `GET /api/v1/internal/parts`: every part this node lists, of every
/// tenant, and the bucket prefix they are under, for a compactor to plan
/// merges: `{"prefix": "...", "parts": [...]}`.
pub async fn parts(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    // It lists every tenant's parts: a token for some tenants may not.
    if crate::auth::grant_of(request.extensions()).is_some_and(|g| !g.covers_all()) {
        return Ok((
            StatusCode::FORBIDDEN,
            "listing every tenant's parts needs a token for all tenants (--tenant '*')\n",
        )
            .into_response());
    }
    let storage = state.storage()?;
    let Some(prefix) = storage.bucket_prefix() else {
        return Err(ApiError::BadRequest(
            "this node keeps its parts on its own disk (no storage: s3): a compactor cannot reach them"
                .into(),
        ));
    };
    Ok(Json(json!({ "prefix": prefix, "parts": storage.parts() })).into_response())
}

/// `POST /api/v1/internal/part_ids`'s query.
#[derive(Deserialize)]
pub struct Reserve {
    count: usize,
}

/// `POST /api/v1/internal/part_ids?count=N`: part ids for a compactor's
/// parts, as `{"ids": [...]}`.
pub async fn part_ids(
    State(state): State<Arc<AppState>>,
    Query(reserve): Query<Reserve>,
) -> Result<Json<Value>, ApiError> {
    let storage = state.storage()?.clone();
    let ids = tokio::task::spawn_blocking(move || storage.reserve_part_ids(reserve.count))
        .await
        .map_err(|e| ApiError::Internal(format!("part ids: {e}")))??;
    Ok(Json(json!({ "ids": ids })))
}

/// `POST /api/v1/internal/rewrite`'s body.
#[derive(Deserialize)]
pub struct Rewrite {
    /// The tenant's parts the rewrite replaces.
    replaced: Vec<u64>,
    /// The part written in their place, none if nothing was left.
    part: Option<PartMeta>,
}

/// `POST /api/v1/internal/rewrite` (JSON [`Rewrite`]): 200 once the part
/// is listed in place of its sources; 409 if a source is gone, and the
/// compactor's part is then its own to delete.
pub async fn rewrite(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let tenant = params::tenant(&headers)?;
    let req: Rewrite = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("invalid rewrite: {e}")))?;
    let storage = state.storage()?.clone();
    let adopted = tokio::task::spawn_blocking(move || {
        storage.adopt_rewrite(tenant.as_str(), &req.replaced, req.part)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("rewrite: {e}")))??;
    Ok(match adopted {
        true => (StatusCode::OK, Json(json!({ "adopted": true }))),
        false => (
            StatusCode::CONFLICT,
            Json(json!({
                "adopted": false,
                "error": "a replaced part is no longer listed: it was merged, expired or deleted here"
            })),
        ),
    })
}
