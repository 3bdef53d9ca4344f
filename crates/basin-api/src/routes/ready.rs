use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;

use crate::AppState;

/// `GET /ready`: 200 once the node can do its job: the WAL replayed, and,
/// in a queue deployment, NATS reachable (ingest) or the queue being
/// consumed (indexer), every indexer ready (query node). 503 with the reason before.
pub async fn ready(State(state): State<Arc<AppState>>) -> (StatusCode, String) {
    let mut why = not_ready(&state).map(str::to_string);
    if let (None, Some(peers)) = (&why, state.peers()) {
        let peers = peers.clone();
        why = tokio::task::spawn_blocking(move || peers.first_unready())
            .await
            .unwrap_or_else(|e| Some(e.to_string()))
            .map(|url| format!("indexer {url} is not ready"));
    }
    match why {
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
