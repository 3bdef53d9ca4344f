//! Refuses queries on an ingest node: it publishes pushes to the queue and
//! stores nothing, so a query there would answer "no logs" instead of
//! pointing at the nodes that have them.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::{ApiError, AppState};

/// Lets a request through unless this node does not serve what it asks.
pub async fn guard(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    if !state.role.serves_queries() && is_query(request.uri().path()) {
        return ApiError::NotFound(
            "this is an ingest node (target: ingest): it stores nothing and answers no queries; \
             send queries to an indexer or query node"
                .into(),
        )
        .into_response();
    }
    next.run(request).await
}

/// Paths that read stored logs, rules or patterns.
fn is_query(path: &str) -> bool {
    let reads = ["/loki/api/v1/", "/api/v1/", "/prometheus/", "/api/prom/"];
    let takes = [
        "/loki/api/v1/push",
        "/api/v1/logs",
        "/api/v1/session",
        "/api/v1/tokens",
    ];
    reads.iter().any(|p| path.starts_with(p))
        && !takes.iter().any(|p| path.starts_with(p))
        && path != "/loki/api/v1/status/buildinfo"
}

#[cfg(test)]
mod tests {
    use super::is_query;

    #[test]
    fn pushes_pass_and_reads_do_not() {
        for path in [
            "/loki/api/v1/push",
            "/api/v1/logs",
            "/otlp/v1/logs",
            "/elasticsearch/_bulk",
            "/ready",
            "/metrics",
        ] {
            assert!(!is_query(path), "{path}");
        }
        for path in [
            "/loki/api/v1/query_range",
            "/loki/api/v1/labels",
            "/loki/api/v1/tail",
            "/api/v1/patterns",
            "/prometheus/api/v1/rules",
        ] {
            assert!(is_query(path), "{path}");
        }
    }
}
