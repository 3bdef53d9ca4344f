//! `/api/v1/session`: the UI's sign-in. A token with the read scope is
//! exchanged for a session cookie (HttpOnly, so page scripts never see it;
//! SameSite=Strict, so other sites cannot ride on it); the auth guard then
//! accepts the cookie as it accepts a Bearer token.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use basin_auth::{Grant, Scope};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{credentials, SESSION_COOKIE};
use crate::{ApiError, AppState};

/// What `POST /api/v1/session` takes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    token: String,
}

fn grant_json(grant: Option<&Grant>) -> serde_json::Value {
    match grant {
        Some(g) => json!({
            "scopes": g.scopes.iter().map(|s| s.name()).collect::<Vec<_>>(),
            "tenants": g.tenants,
        }),
        None => json!({ "scopes": [], "tenants": [] }),
    }
}

async fn verify(state: &AppState, token: String) -> Option<Grant> {
    let store = state.auth()?.store.clone();
    tokio::task::spawn_blocking(move || store.verify(&token).ok())
        .await
        .ok()
        .flatten()
}

/// `GET /api/v1/session`: whether this server needs a token, and whether
/// the request carries a valid one (cookie or header).
pub async fn get(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Json<serde_json::Value> {
    let required = state.auth().is_some_and(|a| a.required);
    if !required {
        return Json(
            json!({ "auth_required": false, "signed_in": true, "scopes": [], "tenants": [] }),
        );
    }
    let grant = match credentials(&headers) {
        Some(token) => verify(&state, token).await,
        None => None,
    };
    let mut body = grant_json(grant.as_ref());
    body["auth_required"] = json!(true);
    body["signed_in"] = json!(grant.is_some());
    Json(body)
}

/// `POST /api/v1/session`: checks the token and sets the session cookie.
pub async fn create(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, ApiError> {
    let address: Option<IpAddr> = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let Some(auth) = state.auth().cloned() else {
        return Err(ApiError::NotFound(
            "sign-in is not available on this server".into(),
        ));
    };
    if let Some(wait) = auth.failures.blocked(address) {
        return Err(ApiError::RateLimited {
            message: "too many failed logins from this address; retry later".into(),
            retry_after_secs: wait,
        });
    }
    let body = axum::body::to_bytes(request.into_body(), 64 * 1024)
        .await
        .map_err(|e| ApiError::BadRequest(format!("cannot read the sign-in request: {e}")))?;
    let SignIn { token } = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("invalid sign-in request: {e}")))?;
    let token = token.trim().to_string();
    let Some(grant) = verify(&state, token.clone()).await else {
        auth.failures.record(address);
        return Ok((StatusCode::UNAUTHORIZED, "unknown or revoked token\n").into_response());
    };
    if !grant.allows(Scope::Read) {
        return Ok((
            StatusCode::FORBIDDEN,
            "this token lacks the read scope the UI needs (push-only tokens cannot sign in)\n",
        )
            .into_response());
    }
    let secure = if state.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}");
    let mut response = Json(grant_json(Some(&grant))).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie)
            .map_err(|e| ApiError::BadRequest(format!("invalid token text: {e}")))?,
    );
    Ok(response)
}

/// `DELETE /api/v1/session`: forgets the cookie.
pub async fn delete(State(state): State<Arc<AppState>>) -> Response {
    let secure = if state.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}");
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}
