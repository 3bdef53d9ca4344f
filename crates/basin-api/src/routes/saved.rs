//! `/api/v1/saved_queries` and `/api/v1/dashboards`: what the UI saves for
//! a team, per tenant (read scope: whoever may read a tenant's logs may
//! keep queries and dashboards over them). A dashboard's JSON is its
//! export format; posting it back imports it.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use basin_saved::{SavedError, SavedQuery, SavedStore};
use serde_json::{json, Value};

use crate::params::tenant;
use crate::{ApiError, AppState};

fn store(state: &AppState) -> Result<Arc<SavedStore>, ApiError> {
    state
        .saved()
        .cloned()
        .ok_or_else(|| ApiError::NotFound("saved objects are not available on this server".into()))
}

fn api_error(e: SavedError) -> ApiError {
    match e {
        SavedError::Invalid(m) => ApiError::BadRequest(m),
        SavedError::TooMany(m) => ApiError::ResourcesExhausted(m),
        e @ SavedError::NotFound { .. } => ApiError::NotFound(e.to_string()),
        SavedError::Database(e) => ApiError::Internal(format!("saved objects database: {e}")),
        SavedError::Random(e) => ApiError::Internal(e),
    }
}

/// Runs a store call off the async threads (SQLite blocks).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SavedError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(api_error)
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("invalid {what}: {e}")))
}

/// A query as posted: the id, if any, is the path's.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryBody {
    name: String,
    #[serde(default)]
    description: String,
    query: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

impl QueryBody {
    fn into_saved(self) -> SavedQuery {
        let _ = (self.id, self.updated_at);
        SavedQuery {
            id: String::new(),
            name: self.name,
            description: self.description,
            query: self.query,
            updated_at: String::new(),
        }
    }
}

/// A posted query, read and checked: its LogQL must parse.
fn checked_query(body: &[u8]) -> Result<SavedQuery, ApiError> {
    let query = parse_json::<QueryBody>(body, "saved query")?.into_saved();
    basin_logql::parse_expr(&query.query)
        .map_err(|e| ApiError::BadRequest(format!("the query does not parse: {e}")))?;
    Ok(query)
}

/// `GET /api/v1/saved_queries`: the tenant's saved queries, by name.
pub async fn list_queries(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (store, tenant) = (store(&state)?, tenant(&headers)?);
    let list = blocking(move || store.queries(tenant.as_str())).await?;
    Ok(Json(json!({ "status": "success", "data": list })))
}

/// `POST /api/v1/saved_queries`: saves a query; the answer has its id.
pub async fn create_query(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (store, tenant) = (store(&state)?, tenant(&headers)?);
    let query = checked_query(&body)?;
    let saved = blocking(move || store.put_query(tenant.as_str(), None, &query)).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "status": "success", "data": saved })),
    ))
}

/// `PUT /api/v1/saved_queries/{id}`: replaces a saved query.
pub async fn update_query(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let (store, tenant) = (store(&state)?, tenant(&headers)?);
    let query = checked_query(&body)?;
    let saved = blocking(move || store.put_query(tenant.as_str(), Some(&id), &query)).await?;
    Ok(Json(json!({ "status": "success", "data": saved })))
}

/// `DELETE /api/v1/saved_queries/{id}`.
pub async fn delete_query(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (store, tenant) = (store(&state)?, tenant(&headers)?);
    let key = id.clone();
    if blocking(move || store.delete_query(tenant.as_str(), &key)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no saved query with id {id:?}")))
    }
}

/// `GET /api/v1/dashboards`: the tenant's dashboards with their documents.
pub async fn list_dashboards(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (store, tenant) = (store(&state)?, tenant(&headers)?);
    let list = blocking(move || store.dashboards(tenant.as_str())).await?;
    Ok(Json(json!({ "status": "success", "data": list })))
}

/// `POST /api/v1/dashboards`: saves (imports) a dashboard document.
pub async fn create_dashboard(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (store, tenant) = (store(&state)?, tenant(&headers)?);
    let document: Value = parse_json(&body, "dashboard JSON")?;
    let saved = blocking(move || store.put_dashboard(tenant.as_str(), None, &document)).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "status": "success", "data": saved })),
    ))
}

/// `GET /api/v1/dashboards/{id}`: one dashboard (its export).
pub async fn get_dashboard(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (store, tenant) = (store(&state)?, tenant(&headers)?);
    let dashboard = blocking(move || store.dashboard(tenant.as_str(), &id)).await?;
    Ok(Json(json!({ "status": "success", "data": dashboard })))
}

/// `PUT /api/v1/dashboards/{id}`: replaces a dashboard's document.
pub async fn update_dashboard(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let (store, tenant) = (store(&state)?, tenant(&headers)?);
    let document: Value = parse_json(&body, "dashboard JSON")?;
    let saved =
        blocking(move || store.put_dashboard(tenant.as_str(), Some(&id), &document)).await?;
    Ok(Json(json!({ "status": "success", "data": saved })))
}

/// `DELETE /api/v1/dashboards/{id}`.
pub async fn delete_dashboard(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (store, tenant) = (store(&state)?, tenant(&headers)?);
    let key = id.clone();
    if blocking(move || store.delete_dashboard(tenant.as_str(), &key)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no dashboard with id {id:?}")))
    }
}
