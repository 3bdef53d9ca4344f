use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;

use crate::AppState;

/// `GET /ready`: 200 once the WAL is replayed, 503 before.
pub async fn ready(State(state): State<Arc<AppState>>) -> (StatusCode, &'static str) {
    if state.storage().is_ok() {
        (StatusCode::OK, "ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: replaying the write-ahead log\n",
        )
    }
}
