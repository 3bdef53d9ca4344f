//! An indexer's snapshot of one tenant, for query nodes (see
//! [`crate::peers`]): its published parts and head entries, in postcard.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

use crate::{params, ApiError, AppState};

/// `GET /api/v1/internal/snapshot`.
pub async fn snapshot(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let tenant = params::tenant(&headers)?;
    let storage = state.storage()?.clone();
    let bytes = tokio::task::spawn_blocking(move || storage.snapshot(&tenant).encode())
        .await
        .map_err(|e| ApiError::Internal(format!("snapshot: {e}")))??;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}
