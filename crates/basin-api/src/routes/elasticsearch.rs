//! Elasticsearch's bulk API under `/elasticsearch/`, so official clients,
//! Filebeat and Logstash can ship to Basin: the version handshake they check
//! first, and `_bulk` with per-item answers.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use basin_ingest::decompress::decode_content_encoding;
use basin_ingest::es_bulk;
use serde_json::json;

use super::ingest::{append_counted, count_refusal, receive, Received};
use crate::params::{self, header, Params};
use crate::{ApiError, AppState};

const PROTOCOL: &str = "elasticsearch";

/// The Elasticsearch version Basin answers as: clients of 7.x and 8.x accept it.
const ES_VERSION: &str = "8.9.0";

/// Official clients refuse a server whose answers lack this header.
fn product_header() -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static("x-elastic-product"),
        HeaderValue::from_static("Elasticsearch"),
    )
}

/// `GET /elasticsearch/`: the version handshake.
pub async fn handshake() -> Response {
    (
        [product_header()],
        Json(json!({
            "name": "basin",
            "cluster_name": "basin",
            "cluster_uuid": "basin",
            "version": {
                "number": ES_VERSION,
                "build_flavor": "default",
                "build_type": "basin",
                "lucene_version": "9.7.0",
                "minimum_wire_compatibility_version": "7.17.0",
                "minimum_index_compatibility_version": "7.0.0"
            },
            "tagline": "You Know, for Search"
        })),
    )
        .into_response()
}

/// `POST /elasticsearch/_bulk`.
pub async fn bulk(
    State(state): State<Arc<AppState>>,
    Query(query): Query<Params>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(store(&state, None, &query, &headers, body).await)
}

/// `POST /elasticsearch/<index>/_bulk`: documents default to `<index>`.
pub async fn bulk_into(
    State(state): State<Arc<AppState>>,
    Path(index): Path<String>,
    Query(query): Query<Params>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(store(&state, Some(&index), &query, &headers, body).await)
}

async fn store(
    state: &AppState,
    path_index: Option<&str>,
    query: &Params,
    headers: &HeaderMap,
    body: Body,
) -> Result<Vec<u8>, ApiError> {
    let started = Instant::now();
    let Received {
        storage,
        tenant,
        bytes,
    } = receive(state, PROTOCOL, headers, body).await?;
    let limits = &state.limits.ingest;
    let options = state.protocols.es_bulk.with_overrides(
        query.get("message_field"),
        query.get("time_field"),
        query.get("label_fields"),
    );
    let decoded = decode_content_encoding(
        &bytes,
        header(headers, header::CONTENT_ENCODING.as_str()),
        limits.max_request_size_bytes,
    )
    .and_then(|body| {
        es_bulk::decode(
            tenant.clone(),
            &body,
            path_index,
            limits,
            &options,
            params::now_ns(),
        )
    });
    let decoded = count_refusal(state, PROTOCOL, &tenant, bytes.len(), decoded)?;
    let refused = decoded.items.iter().filter(|i| i.error.is_some()).count() as u64;
    append_counted(state, &storage, PROTOCOL, &tenant, decoded.batch, refused).await?;
    Ok(es_bulk::response(
        &decoded.items,
        started.elapsed().as_millis() as u64,
    ))
}

/// The bulk answer, or an error in Elasticsearch's error shape.
fn answer(result: Result<Vec<u8>, ApiError>) -> Response {
    match result {
        Ok(body) => (
            [
                product_header(),
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
            ],
            body,
        )
            .into_response(),
        Err(e) if e.status().is_client_error() => {
            let status = e.status();
            let reason = e.to_string();
            let kind = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "content_too_long_exception"
            } else if status == StatusCode::TOO_MANY_REQUESTS {
                "es_rejected_execution_exception"
            } else {
                "parse_exception"
            };
            let error = json!({"type": kind, "reason": reason});
            let mut response = (
                status,
                [product_header()],
                Json(json!({
                    "error": {"root_cause": [error], "type": kind, "reason": reason},
                    "status": status.as_u16()
                })),
            )
                .into_response();
            e.add_retry_after(&mut response);
            response
        }
        Err(e) => e.into_response(),
    }
}
