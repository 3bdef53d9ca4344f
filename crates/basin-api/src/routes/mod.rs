//! The routes, one file per endpoint family.

mod buildinfo;
mod delete;
mod detected;
mod elasticsearch;
mod index;
mod ingest;
mod labels;
mod lines;
mod metrics;
mod misc;
mod otlp;
mod patterns;
mod push;
mod query;
mod ready;
mod rewrite;
mod rules;
mod saved;
mod select;
mod session;
mod snapshot;
mod tail;
mod tokens;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::{auth, origin_guard, role_guard, AppState};

/// The whole API on one router.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/ready", get(ready::ready))
        .route("/metrics", get(metrics::metrics))
        .route("/elasticsearch", get(elasticsearch::handshake))
        .route("/elasticsearch/", get(elasticsearch::handshake))
        .route(
            "/elasticsearch/_bulk",
            post(elasticsearch::bulk).put(elasticsearch::bulk),
        )
        .route(
            "/elasticsearch/{index}/_bulk",
            post(elasticsearch::bulk_into).put(elasticsearch::bulk_into),
        )
        .route(
            "/loki/api/v1/query_range",
            get(query::range_get).post(query::range_post),
        )
        .route(
            "/loki/api/v1/query",
            get(query::instant_get).post(query::instant_post),
        )
        .route("/loki/api/v1/status/buildinfo", get(buildinfo::buildinfo))
        .route(
            "/loki/api/v1/labels",
            get(labels::labels_get).post(labels::labels_post),
        )
        .route(
            "/loki/api/v1/label/{name}/values",
            get(labels::label_values),
        )
        .route(
            "/loki/api/v1/series",
            get(labels::series_get).post(labels::series_post),
        )
        .route(
            "/loki/api/v1/format_query",
            get(misc::format_query).post(misc::format_query),
        )
        .route("/loki/api/v1/drilldown-limits", get(misc::drilldown_limits))
        .route("/loki/api/v1/tail", get(tail::tail))
        .route("/loki/api/v1/index/stats", get(index::stats))
        .route("/loki/api/v1/index/volume", get(index::volume_instant))
        .route("/loki/api/v1/index/volume_range", get(index::volume_range))
        .route(
            "/loki/api/v1/detected_labels",
            get(detected::detected_labels),
        )
        .route(
            "/loki/api/v1/detected_fields",
            get(detected::detected_fields),
        )
        .route(
            "/loki/api/v1/detected_field/{name}/values",
            get(detected::detected_field_values),
        )
        .route(
            "/loki/api/v1/patterns",
            get(patterns::loki_patterns).post(patterns::loki_patterns),
        )
        .route("/api/v1/patterns", get(patterns::basin_patterns))
        .route(crate::peers::SNAPSHOT_PATH, get(snapshot::snapshot))
        .route(crate::peers::PARTS_PATH, get(rewrite::parts))
        .route(
            crate::peers::PART_IDS_PATH,
            axum::routing::post(rewrite::part_ids),
        )
        .route(
            crate::peers::REWRITE_PATH,
            axum::routing::post(rewrite::rewrite),
        )
        .route(
            "/loki/api/v1/delete",
            get(delete::list)
                .post(delete::create)
                .put(delete::create)
                .delete(delete::cancel),
        )
        .route("/api/v1/tokens", get(tokens::list).post(tokens::create))
        .route("/api/v1/tokens/{id}", axum::routing::delete(tokens::revoke))
        .route(
            "/api/v1/session",
            get(session::get)
                .post(session::create)
                .delete(session::delete),
        )
        .route(
            "/api/v1/saved_queries",
            get(saved::list_queries).post(saved::create_query),
        )
        .route(
            "/api/v1/saved_queries/{id}",
            axum::routing::put(saved::update_query).delete(saved::delete_query),
        )
        .route(
            "/api/v1/dashboards",
            get(saved::list_dashboards).post(saved::create_dashboard),
        )
        .route(
            "/api/v1/dashboards/{id}",
            get(saved::get_dashboard)
                .put(saved::update_dashboard)
                .delete(saved::delete_dashboard),
        )
        .merge(basin_ui::router())
        .merge(ruler_router())
        .merge(ingest_router(&state.protocols.cors_allowed_origins))
        // Push and rule handlers read bodies themselves with the configured
        // cap; this bounds the form bodies of POSTed queries.
        .layer(DefaultBodyLimit::max(
            state.limits.ingest.max_request_size_bytes,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            role_guard::guard,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), auth::guard))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            origin_guard::guard,
        ))
        .with_state(state)
}

/// Loki's ruler API, under both of Loki's prefixes.
fn ruler_router() -> Router<Arc<AppState>> {
    let mut router = Router::new()
        .route(
            "/prometheus/api/v1/rules",
            get(rules::prometheus_rules_state),
        )
        .route(
            "/prometheus/api/v1/alerts",
            get(rules::prometheus_alerts_state),
        )
        .route("/api/v1/alerts/history", get(rules::alert_history));
    for prefix in ["/loki/api/v1/rules", "/api/prom/rules"] {
        router = router
            .route(prefix, get(rules::list))
            .route(
                &format!("{prefix}/{{namespace}}"),
                get(rules::namespace)
                    .post(rules::save)
                    .delete(rules::delete_namespace),
            )
            .route(
                &format!("{prefix}/{{namespace}}/{{group}}"),
                get(rules::group).delete(rules::delete_group),
            );
    }
    router
}

/// The push endpoints browsers and SDKs post to, with CORS when configured.
fn ingest_router(cors_origins: &[String]) -> Router<Arc<AppState>> {
    let router = Router::new()
        .route("/loki/api/v1/push", post(push::push))
        .route("/v1/logs", post(otlp::logs))
        .route("/otlp/v1/logs", post(otlp::logs))
        .route("/api/v1/logs", post(lines::lines));
    if cors_origins.is_empty() {
        return router;
    }
    let origins = if cors_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            cors_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        )
    };
    router.layer(
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::POST, Method::OPTIONS])
            .allow_headers([
                header::CONTENT_TYPE,
                header::CONTENT_ENCODING,
                header::AUTHORIZATION,
                HeaderName::from_static("x-scope-orgid"),
            ]),
    )
}
