//! Small endpoints: `format_query`, `drilldown-limits`.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::Json;
use serde_json::{json, Value};

use crate::params::Params;
use crate::{ApiError, AppState};

/// `GET|POST /loki/api/v1/format_query`: the query, pretty-printed.
pub async fn format_query(Query(p): Query<Params>) -> Result<Json<Value>, ApiError> {
    let expr = p.expr()?;
    Ok(Json(
        json!({ "status": "success", "data": expr.to_string() }),
    ))
}

/// `GET /loki/api/v1/drilldown-limits`: what Grafana Logs Drilldown may ask.
pub async fn drilldown_limits(State(state): State<Arc<AppState>>) -> Json<Value> {
    let l = &state.limits;
    Json(json!({
        "limits": {
            "discover_log_levels": true,
            "discover_service_name": ["service", "app", "application", "name", "app_kubernetes_io_name", "container", "container_name", "component", "workload", "job"],
            "log_level_fields": ["level", "LEVEL", "Level", "severity", "SEVERITY", "Severity", "lvl", "LVL", "Lvl"],
            "max_entries_limit_per_query": l.max_entries_limit_per_query,
            "max_query_series": l.max_query_series,
            "max_query_length": basin_logql::format_duration(l.max_query_range_ns),
            "max_line_size_truncate": false,
            "max_structured_metadata_entries_count": 128,
            "max_structured_metadata_size": "64KB",
            "pattern_persistence_enabled": state.protocols.mine_patterns,
            "volume_enabled": true,
            "volume_max_series": 1000,
            "metric_aggregation_enabled": false,
            "otlp_config": {},
        },
        "pattern_ingester_enabled": state.protocols.mine_patterns,
        "version": env!("CARGO_PKG_VERSION"),
    }))
}
