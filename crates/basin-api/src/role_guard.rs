//! What each role serves. An ingest node publishes pushes to the queue and
//! stores nothing, so it refuses queries rather than answer "no logs". A
//! query node takes no pushes, and brings its picture of the tenant up to
//! date from the indexers before each query (see [`crate::peers`]).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::peers::{PARTS_PATH, PART_IDS_PATH, REWRITE_PATH, SNAPSHOT_PATH};
use crate::{params, ApiError, AppState, Role};

/// Lets a request through unless this node does not serve what it asks.
pub async fn guard(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if state.role == Role::Compact && !matches!(path, "/ready" | "/metrics") {
        return ApiError::NotFound(
            "this is a compactor (target: compact): it merges the indexers' parts and takes \
             no pushes or queries; send them to an ingest node, an indexer or a query node"
                .into(),
        )
        .into_response();
    }
    if !state.role.serves_queries() && is_query(path) {
        return ApiError::NotFound(
            "this is an ingest node (target: ingest): it stores nothing and answers no queries; \
             send queries to an indexer or query node"
                .into(),
        )
        .into_response();
    }
    if state.role == Role::Query {
        if let Some(refusal) = query_node_refuses(path) {
            return ApiError::NotFound(refusal.into()).into_response();
        }
        if reads_logs(path) {
            let tenant = params::tenant(request.headers());
            let auth = request.headers().get(header::AUTHORIZATION).cloned();
            if let Err(e) = sync_from_indexers(&state, tenant, auth).await {
                return e.into_response();
            }
        }
    }
    next.run(request).await
}

/// Why a query node does not serve `path`, if it does not.
fn query_node_refuses(path: &str) -> Option<&'static str> {
    if path == SNAPSHOT_PATH {
        Some("this is a query node (target: query): it keeps no head to snapshot")
    } else if path == PARTS_PATH || path == PART_IDS_PATH || path == REWRITE_PATH {
        Some(
            "this is a query node (target: query): it owns no parts; \
             rewrites go to the indexer whose parts they replace",
        )
    } else if path == "/loki/api/v1/tail" {
        Some(
            "this is a query node (target: query): live tail is served by the indexers; \
             connect to one of them",
        )
    } else if path.starts_with("/loki/api/v1/delete") {
        Some(
            "this is a query node (target: query): delete requests are kept and carried out \
             by the indexers; send them to each indexer",
        )
    } else if is_push(path) {
        Some(
            "this is a query node (target: query): it takes no pushes; \
             send them to an ingest node",
        )
    } else {
        None
    }
}

/// Brings the store's picture of the request's tenant up to date.
async fn sync_from_indexers(
    state: &AppState,
    tenant: Result<basin_model::TenantId, ApiError>,
    auth: Option<header::HeaderValue>,
) -> Result<(), ApiError> {
    let (Some(peers), Ok(storage)) = (state.peers(), state.storage()) else {
        return Err(ApiError::NotReady);
    };
    peers.sync(storage, &tenant?, auth).await
}

/// Paths that take logs in.
fn is_push(path: &str) -> bool {
    [
        "/loki/api/v1/push",
        "/api/v1/logs",
        "/otlp/",
        "/v1/logs",
        "/elasticsearch",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

/// Query paths that read stored lines, as opposed to saved queries,
/// dashboards, rules, tokens and deletes kept by this node.
fn reads_logs(path: &str) -> bool {
    is_query(path)
        && (path.starts_with("/loki/api/v1/") || path.starts_with("/api/v1/patterns"))
        && !path.starts_with("/loki/api/v1/rules")
        && !path.starts_with("/loki/api/v1/delete")
        && !path.starts_with("/loki/api/v1/format_query")
        && !path.starts_with("/loki/api/v1/drilldown-limits")
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
    use super::{is_query, query_node_refuses, reads_logs};

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

    #[test]
    fn a_query_node_reads_indexers_for_log_reads_only() {
        for path in [
            "/loki/api/v1/query_range",
            "/loki/api/v1/labels",
            "/loki/api/v1/index/volume_range",
            "/api/v1/patterns",
        ] {
            assert!(reads_logs(path), "{path}");
            assert!(query_node_refuses(path).is_none(), "{path}");
        }
        for path in [
            "/api/v1/saved_queries",
            "/loki/api/v1/rules",
            "/prometheus/api/v1/rules",
            "/metrics",
        ] {
            assert!(!reads_logs(path), "{path}");
        }
        for path in [
            "/loki/api/v1/push",
            "/otlp/v1/logs",
            "/elasticsearch/_bulk",
            "/loki/api/v1/tail",
            "/api/v1/internal/snapshot",
            "/api/v1/internal/rewrite",
            "/api/v1/internal/part_ids",
            "/api/v1/internal/parts",
        ] {
            assert!(query_node_refuses(path).is_some(), "{path}");
        }
    }
}
