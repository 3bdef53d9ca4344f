//! The middleware: finds the token (Bearer, or Basic with the token as the
//! password, as Grafana, Alloy, Promtail, Fluent Bit and Vector send it),
//! checks its scope for the route and its tenant, and hands the request on
//! with `X-Scope-OrgID` set to the tenant the token acts for.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use basin_auth::{Grant, Scope};

use crate::params::TENANT_HEADER;
use crate::AppState;

/// Checks the request's token when auth is on.
pub async fn guard(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(auth) = state.auth() else {
        return next.run(request).await;
    };
    // Preflights carry no credentials; what follows them does.
    let path = request.uri().path();
    // The UI's page and scripts hold no data, and the session endpoint is
    // how a browser gets its credentials.
    let open = path == "/ready" || path == "/api/v1/session" || basin_ui::is_ui_path(path);
    if !auth.required || open || request.method() == Method::OPTIONS {
        return next.run(request).await;
    }
    let address: Option<IpAddr> = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(wait) = auth.failures.blocked(address) {
        let mut response = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed logins from this address; retry later".into(),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return response;
    }
    let Some(token) = credentials(request.headers()) else {
        let mut response = refuse(
            StatusCode::UNAUTHORIZED,
            "authentication required: send a Basin token as `Authorization: Bearer <token>` or as the Basic auth password".into(),
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"basin\""),
        );
        return response;
    };
    let store = auth.store.clone();
    let verified = tokio::task::spawn_blocking(move || store.verify(&token)).await;
    let grant = match verified {
        Ok(Ok(grant)) => grant,
        Ok(Err(e)) => {
            auth.failures.record(address);
            tracing::info!(?address, "refused token: {e}");
            return refuse(StatusCode::UNAUTHORIZED, format!("{e}"));
        }
        Err(e) => {
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("token check failed: {e}"),
            )
        }
    };
    let scope = required_scope(request.method(), request.uri().path());
    if !grant.allows(scope) {
        return refuse(
            StatusCode::FORBIDDEN,
            format!("this token lacks the {scope} scope this endpoint needs"),
        );
    }
    let requested = request
        .headers()
        .get(TENANT_HEADER)
        .map(|v| v.to_str().unwrap_or("?").trim().to_string());
    let Some(tenant) = grant.tenant_for(requested.as_deref()) else {
        return refuse(
            StatusCode::FORBIDDEN,
            format!(
                "this token is not valid for tenant {:?}",
                requested.unwrap_or_default()
            ),
        );
    };
    match HeaderValue::from_str(&tenant) {
        Ok(v) => {
            request.headers_mut().insert(TENANT_HEADER, v);
        }
        Err(_) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("invalid tenant {tenant:?}"),
            );
        }
    }
    request.extensions_mut().insert(Arc::new(grant));
    next.run(request).await
}

/// The name of the UI's session cookie, which holds a token.
pub const SESSION_COOKIE: &str = "basin_session";

/// The token a request carries, if any: the `Authorization` header, else
/// the UI's session cookie.
pub fn credentials(headers: &axum::http::HeaderMap) -> Option<String> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return session_cookie(headers);
    };
    let value = value.to_str().ok()?.trim();
    let (kind, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if kind.eq_ignore_ascii_case("bearer") {
        return Some(rest.to_string());
    }
    if kind.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        // The user name is free (Grafana users put the tenant there).
        let (_, password) = text.split_once(':')?;
        return Some(password.to_string());
    }
    None
}

/// The token in the session cookie, if the request has one.
fn session_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty())
}

/// The scope an endpoint needs.
fn required_scope(method: &Method, path: &str) -> Scope {
    const PUSH_PATHS: [&str; 4] = [
        "/loki/api/v1/push",
        "/v1/logs",
        "/otlp/v1/logs",
        "/api/v1/logs",
    ];
    let changes = !matches!(*method, Method::GET | Method::HEAD);
    // Internal calls other than a tenant's snapshot replace stored parts
    // or list every tenant's: as deletes and tokens do.
    let internal = path.starts_with("/api/v1/internal/") && path != "/api/v1/internal/snapshot";
    if path.starts_with("/api/v1/tokens") || (path.ends_with("/delete") && changes) || internal {
        Scope::Admin
    } else if PUSH_PATHS.contains(&path) || path.starts_with("/elasticsearch") {
        Scope::Push
    } else if path.contains("/rules") && changes {
        Scope::Rules
    } else {
        Scope::Read
    }
}

fn refuse(status: StatusCode, message: String) -> Response {
    (status, format!("{message}\n")).into_response()
}

/// The grant of the request's token, when auth is on.
pub fn grant_of(request_extensions: &axum::http::Extensions) -> Option<Arc<Grant>> {
    request_extensions.get::<Arc<Grant>>().cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    #[test]
    fn scopes_by_route() {
        assert_eq!(
            required_scope(&Method::POST, "/loki/api/v1/push"),
            Scope::Push
        );
        assert_eq!(
            required_scope(&Method::PUT, "/elasticsearch/_bulk"),
            Scope::Push
        );
        assert_eq!(required_scope(&Method::GET, "/elasticsearch/"), Scope::Push);
        assert_eq!(
            required_scope(&Method::GET, "/loki/api/v1/query_range"),
            Scope::Read
        );
        assert_eq!(
            required_scope(&Method::GET, "/loki/api/v1/tail"),
            Scope::Read
        );
        assert_eq!(required_scope(&Method::GET, "/metrics"), Scope::Read);
        assert_eq!(
            required_scope(&Method::GET, "/loki/api/v1/rules"),
            Scope::Read
        );
        assert_eq!(
            required_scope(&Method::POST, "/loki/api/v1/rules/ns"),
            Scope::Rules
        );
        assert_eq!(
            required_scope(&Method::DELETE, "/api/prom/rules/ns/g"),
            Scope::Rules
        );
        assert_eq!(
            required_scope(&Method::POST, "/api/v1/tokens"),
            Scope::Admin
        );
    }

    #[test]
    fn deletes_need_admin_to_change() {
        assert_eq!(
            required_scope(&Method::POST, "/loki/api/v1/delete"),
            Scope::Admin
        );
        assert_eq!(
            required_scope(&Method::DELETE, "/loki/api/v1/delete"),
            Scope::Admin
        );
        assert_eq!(
            required_scope(&Method::GET, "/loki/api/v1/delete"),
            Scope::Read
        );
        assert_eq!(
            required_scope(&Method::POST, "/api/v1/internal/rewrite"),
            Scope::Admin
        );
        assert_eq!(
            required_scope(&Method::GET, "/api/v1/internal/snapshot"),
            Scope::Read
        );
        assert_eq!(
            required_scope(&Method::GET, "/api/v1/internal/parts"),
            Scope::Admin
        );
    }

    #[test]
    fn bearer_and_basic_credentials() {
        let mut h = HeaderMap::new();
        assert_eq!(credentials(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer basin_x_y".parse().unwrap());
        assert_eq!(credentials(&h).as_deref(), Some("basin_x_y"));
        let basic = base64::engine::general_purpose::STANDARD.encode("tenant-a:basin_x_y");
        h.insert(
            header::AUTHORIZATION,
            format!("Basic {basic}").parse().unwrap(),
        );
        assert_eq!(credentials(&h).as_deref(), Some("basin_x_y"));
        h.insert(header::AUTHORIZATION, "Digest abc".parse().unwrap());
        assert_eq!(credentials(&h), None);
    }
}
