use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;

use crate::AppState;

/// `GET /ready`: 200 once the node can do its job: the WAL replayed, and,
/// in a queue deployment, NATS reachable (ingest) or the queue being
/// consumed (indexer). 503 with the reason before.
pub async fn ready(State(state): State<Arc<AppState>>) -> (StatusCode, String) {
    match not_ready(&state) {
        None => (StatusCode::OK, "ready\n".into()),
        Some(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        ),
    }
}

fn not_ready(state: &AppState) -> Option<&'static str> {
    if state.storage().is_err() {
        return Some("replaying the write-ahead log");
    }
    if let Some(queue) = state.queue() {
        if !queue.is_connected() {
            return Some("the ingest queue (NATS) is unreachable");
        }
    }
    if let Some(stats) = state.queue_stats() {
        if state.queue().is_none() && !stats.connected.load(Ordering::Relaxed) {
            return Some("not consuming the ingest queue (NATS) yet");
        }
    }
    None
}
