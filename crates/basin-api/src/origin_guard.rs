//! Refuses what a web page on another site could make a browser send:
//! WebSocket tails (which CORS does not cover) and requests that change
//! something (pushes, rules), which browsers send without asking first
//! when they look like a form (`text/plain`, form bodies).
//!
//! Only requests carrying an `Origin` header are judged: shippers, SDKs,
//! logcli and Grafana's backend send none. A browser page may reach Basin
//! from Basin's own origin or from one listed in `cors_allowed_origins`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Lets a request through unless a page of a foreign origin sent it.
pub async fn guard(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let judged = request.uri().path().ends_with("/tail")
        || !matches!(
            *request.method(),
            Method::GET | Method::HEAD | Method::OPTIONS
        );
    if judged {
        if let Some(origin) =
            foreign_origin(request.headers(), &state.protocols.cors_allowed_origins)
        {
            return (
                StatusCode::FORBIDDEN,
                format!(
                    "cross-origin request from {origin} refused: add the origin to cors_allowed_origins to let its pages push or tail\n"
                ),
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// The request's `Origin` when it is neither Basin's own (same host and
/// port as `Host`) nor an allowed one.
fn foreign_origin(headers: &HeaderMap, allowed: &[String]) -> Option<String> {
    let origin = headers.get(header::ORIGIN)?.to_str().unwrap_or("?").trim();
    if allowed
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
    {
        return None;
    }
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or("")
        .trim_end_matches('/');
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !origin_host.is_empty() && origin_host.eq_ignore_ascii_case(host) {
        return None;
    }
    Some(origin.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        h
    }

    #[test]
    fn only_foreign_browser_origins_are_refused() {
        let none: Vec<String> = Vec::new();
        // No Origin: not a browser page.
        assert_eq!(foreign_origin(&headers(None, "basin:3100"), &none), None);
        // Basin's own pages.
        assert_eq!(
            foreign_origin(&headers(Some("http://basin:3100"), "basin:3100"), &none),
            None
        );
        assert_eq!(
            foreign_origin(&headers(Some("https://evil.example"), "basin:3100"), &none),
            Some("https://evil.example".into())
        );
        // Same host, other port: another origin.
        assert!(foreign_origin(&headers(Some("http://basin:8080"), "basin:3100"), &none).is_some());
        assert!(foreign_origin(&headers(Some("null"), "basin:3100"), &none).is_some());
        let listed = vec!["https://app.example".to_string()];
        assert_eq!(
            foreign_origin(&headers(Some("https://app.example"), "basin:3100"), &listed),
            None
        );
        let any = vec!["*".to_string()];
        assert_eq!(
            foreign_origin(&headers(Some("https://evil.example"), "basin:3100"), &any),
            None
        );
    }
}
