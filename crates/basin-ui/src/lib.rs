//! Basin's web UI: the single-page app built from `ui/` (the bundle is
//! committed under `ui/dist`, so building Basin needs no Node), embedded in
//! the binary and served at `/` and `/assets/`.
//!
//! The UI only calls Basin's public HTTP API, so this crate depends on
//! nothing of Basin's: it serves files.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_embed::Embed;
use tower_http::compression::CompressionLayer;

#[derive(Embed)]
#[folder = "../../ui/dist"]
struct Bundle;

/// Paths the UI serves, open without a token (the page itself holds no data).
pub fn is_ui_path(path: &str) -> bool {
    path == "/" || path.starts_with("/assets/")
}

/// The UI's routes: the page at `/`, its scripts and styles under `/assets/`,
/// gzipped for browsers that ask (the script shrinks from 115 to 45 kB).
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/assets/{*path}", get(asset))
        .layer(CompressionLayer::new())
}

// The page may only load its own scripts and talk to its own origin; inline
// styles are allowed because chart and list code positions elements by
// setting style attributes.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data: blob:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

async fn index(headers: HeaderMap) -> Response {
    let mut response = serve("index.html", &headers);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&format!("assets/{path}"), &headers)
}

/// One embedded file, with an ETag so a reload revalidates cheaply (file
/// names carry no content hash, so browsers must always revalidate).
fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some(file) = Bundle::get(path) else {
        return (StatusCode::NOT_FOUND, "no such UI file\n").into_response();
    };
    let etag = format!(
        "\"{}\"",
        file.metadata
            .sha256_hash()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let mut h = HeaderMap::new();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if fresh {
        return (StatusCode::NOT_MODIFIED, h).into_response();
    }
    if let Ok(v) = HeaderValue::from_str(file.metadata.mimetype()) {
        h.insert(header::CONTENT_TYPE, v);
    }
    (h, file.data.into_owned()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    fn get(path: &str) -> Request<Body> {
        Request::get(path).body(Body::empty()).expect("request")
    }

    #[tokio::test]
    async fn the_page_and_its_script_are_served_with_types_and_policy() {
        let app: Router = router();
        let page = app.clone().oneshot(get("/")).await.expect("page");
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(page.headers().contains_key(header::CONTENT_SECURITY_POLICY));
        let script = app.oneshot(get("/assets/app.js")).await.expect("script");
        assert_eq!(script.status(), StatusCode::OK);
        assert!(script.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("javascript"));
    }

    #[tokio::test]
    async fn a_matching_etag_answers_not_modified_and_unknown_files_404() {
        let app: Router = router();
        let first = app.clone().oneshot(get("/")).await.expect("page");
        let etag = first.headers()[header::ETAG].clone();
        let again = Request::get("/")
            .header(header::IF_NONE_MATCH, etag)
            .body(Body::empty())
            .expect("request");
        let second = app.clone().oneshot(again).await.expect("page");
        assert_eq!(second.status(), StatusCode::NOT_MODIFIED);
        let missing = app.oneshot(get("/assets/nope.js")).await.expect("404");
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn assets_are_gzipped_when_asked() {
        let app: Router = router();
        let request = Request::get("/assets/app.js")
            .header(header::ACCEPT_ENCODING, "gzip")
            .body(Body::empty())
            .expect("request");
        let response = app.oneshot(request).await.expect("script");
        assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
    }

    #[test]
    fn only_the_page_and_assets_are_ui_paths() {
        assert!(is_ui_path("/"));
        assert!(is_ui_path("/assets/app.js"));
        assert!(!is_ui_path("/loki/api/v1/query"));
        assert!(!is_ui_path("/api/v1/tokens"));
    }
}
