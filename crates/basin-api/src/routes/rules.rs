//! Loki's ruler API: rule groups in YAML under `/loki/api/v1/rules` (and
//! `/api/prom/rules`, the path Grafana uses), and their state as the
//! Prometheus API shows it under `/prometheus/api/v1/`. The 404 texts are
//! Loki's, because Grafana reads them to decide the ruler is editable.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use basin_rules::group::{group_yaml, namespaces_yaml, parse_group};
use basin_rules::ruler::Ruler;
use basin_rules::runner::now_ns;
use basin_rules::status::{prometheus_alerts, prometheus_rules, RulesFilter};
use serde_json::json;

use super::push::read_body;
use crate::params;
use crate::{ApiError, AppState};

/// Largest rule group accepted in one POST.
const MAX_GROUP_BYTES: usize = 1024 * 1024;

fn ruler(state: &AppState) -> Result<&Arc<Ruler>, ApiError> {
    state.ruler().ok_or(ApiError::NotReady)
}

fn yaml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/yaml")], body).into_response()
}

/// Loki's success envelope, with its empty error fields.
fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        Json(json!({"status": "success", "data": null, "errorType": "", "error": ""})),
    )
        .into_response()
}

/// `GET /loki/api/v1/rules`: every namespace of the tenant.
pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let tenant = params::tenant(&headers)?;
    let namespaces = ruler(&state)?.store().list(&tenant)?;
    if namespaces.is_empty() {
        return Err(ApiError::NotFound("no rule groups found".into()));
    }
    Ok(yaml(namespaces_yaml(&namespaces)))
}

/// `GET /loki/api/v1/rules/{namespace}`: `{namespace: [groups]}`.
pub async fn namespace(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(namespace): Path<String>,
) -> Result<Response, ApiError> {
    let tenant = params::tenant(&headers)?;
    let groups = ruler(&state)?.store().namespace(&tenant, &namespace)?;
    if groups.is_empty() {
        return Err(ApiError::NotFound("no rule groups found".into()));
    }
    Ok(yaml(namespaces_yaml(&BTreeMap::from([(
        namespace, groups,
    )]))))
}

/// `GET /loki/api/v1/rules/{namespace}/{group}`.
pub async fn group(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let tenant = params::tenant(&headers)?;
    let group = ruler(&state)?.store().group(&tenant, &namespace, &name)?;
    Ok(yaml(group_yaml(&group)))
}

/// `POST /loki/api/v1/rules/{namespace}`: one group in YAML, created or
/// replaced. The content type is not checked: Grafana sets none.
pub async fn save(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(namespace): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let tenant = params::tenant(&headers)?;
    let ruler = ruler(&state)?.clone();
    let bytes = read_body(
        &headers,
        body,
        MAX_GROUP_BYTES,
        state.limits.body_read_timeout,
    )
    .await?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::BadRequest("unable to decode rule group: not UTF-8".into()))?;
    let group = parse_group(text)?;
    tokio::task::spawn_blocking(move || ruler.store().set_group(&tenant, &namespace, group))
        .await
        .map_err(|e| ApiError::Internal(format!("rule save task failed: {e}")))??;
    Ok(accepted())
}

/// `DELETE /loki/api/v1/rules/{namespace}`.
pub async fn delete_namespace(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(namespace): Path<String>,
) -> Result<Response, ApiError> {
    let tenant = params::tenant(&headers)?;
    ruler(&state)?
        .store()
        .delete_namespace(&tenant, &namespace)?;
    Ok(accepted())
}

/// `DELETE /loki/api/v1/rules/{namespace}/{group}`.
pub async fn delete_group(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let tenant = params::tenant(&headers)?;
    ruler(&state)?
        .store()
        .delete_group(&tenant, &namespace, &name)?;
    Ok(accepted())
}

/// `GET /prometheus/api/v1/rules`: groups, rules, health and alerts.
pub async fn prometheus_rules_state(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let tenant = params::tenant(&headers)?;
    let ruler = ruler(&state)?;
    let filter = RulesFilter::from_pairs(&pairs).map_err(ApiError::BadRequest)?;
    // Rules saved a moment ago are listed at once.
    ruler.sync(now_ns());
    Ok(Json(prometheus_rules(ruler, &tenant, &filter)).into_response())
}

/// `GET /prometheus/api/v1/alerts`: pending and firing alerts.
pub async fn prometheus_alerts_state(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let tenant = params::tenant(&headers)?;
    let ruler = ruler(&state)?;
    Ok(Json(prometheus_alerts(ruler, &tenant)).into_response())
}

/// `GET /api/v1/alerts/history`: when the tenant's alerts fired and
/// resolved (Basin's own; newest first, at most the last 1000).
pub async fn alert_history(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let tenant = params::tenant(&headers)?;
    let ruler = ruler(&state)?;
    let mut events = ruler.history(&tenant);
    events.reverse();
    let events: Vec<serde_json::Value> = events
        .into_iter()
        .map(|e| {
            serde_json::json!({
                "time": chrono::DateTime::from_timestamp_nanos(e.ts).to_rfc3339(),
                "state": e.state,
                "namespace": e.namespace,
                "group": e.group,
                "rule": e.rule,
                "labels": e.labels,
                "value": e.value,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "status": "success", "data": events })).into_response())
}
