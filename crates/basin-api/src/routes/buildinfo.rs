use axum::Json;
use serde_json::{json, Value};

/// `GET /loki/api/v1/status/buildinfo`, in Loki's shape.
pub async fn buildinfo() -> Json<Value> {
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "revision": "",
        "branch": "",
        "buildUser": "",
        "buildDate": "",
        "goVersion": "",
    }))
}
