//! `/api/v1/tokens`: the admin API for tokens (admin scope when auth is
//! on), the same operations as `basin token create|list|revoke`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use basin_auth::{AuthError, Scope, TokenInfo, TokenStore};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{ApiError, AppState};

/// What `POST /api/v1/tokens` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What the token is for.
    #[serde(default)]
    name: String,
    /// `push`, `read`, `rules`, `admin`.
    scopes: Vec<String>,
    /// Tenant ids, or `*` for all.
    tenants: Vec<String>,
}

fn store(state: &AppState) -> Result<Arc<TokenStore>, ApiError> {
    state
        .auth()
        .map(|a| a.store.clone())
        .ok_or_else(|| ApiError::NotFound("tokens are not available on this server".into()))
}

fn info_json(t: &TokenInfo) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "scopes": t.scopes.iter().map(|s| s.name()).collect::<Vec<_>>(),
        "tenants": t.tenants,
        "created_at": t.created_at,
        "revoked_at": t.revoked_at,
    })
}

fn api_error(e: AuthError) -> ApiError {
    match e {
        AuthError::Database(e) => ApiError::Internal(format!("token database: {e}")),
        AuthError::Random(e) => ApiError::Internal(e),
        other => ApiError::BadRequest(other.to_string()),
    }
}

/// `GET /api/v1/tokens`: every token but its secret.
pub async fn list(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let store = store(&state)?;
    let tokens = tokio::task::spawn_blocking(move || store.list())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(api_error)?;
    Ok(Json(
        json!({ "tokens": tokens.iter().map(info_json).collect::<Vec<_>>() }),
    ))
}

/// `POST /api/v1/tokens`: makes a token; the answer is the only place its
/// text ever appears.
pub async fn create(
    State(state): State<Arc<AppState>>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let store = store(&state)?;
    let req: NewToken = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("invalid token request: {e}")))?;
    let scopes = req
        .scopes
        .iter()
        .map(|s| s.parse::<Scope>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(api_error)?;
    let (text, info) =
        tokio::task::spawn_blocking(move || store.create(&req.name, &scopes, &req.tenants))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(api_error)?;
    let mut body = info_json(&info);
    body["token"] = json!(text);
    Ok((StatusCode::CREATED, Json(body)))
}

/// `DELETE /api/v1/tokens/{id}`: revokes; it stops working within a second.
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let store = store(&state)?;
    let revoked = tokio::task::spawn_blocking(move || store.revoke(&id))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(api_error)?;
    if revoked {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("no live token has this id".into()))
    }
}
