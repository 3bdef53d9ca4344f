//! `GET /metrics`: Basin's own counters in Prometheus' text format.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::AppState;

/// The ingest counters (lines and bytes by protocol and tenant).
pub async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let mut text = String::new();
    state.counters.render(&mut text);
    state.protocols.log_metrics.render(&mut text);
    if let Some(ruler) = state.ruler() {
        ruler.stats().render(&mut text);
        basin_rules::exposition::recorded(ruler, &mut text);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
