//! `POST /api/v1/logs`: NDJSON or plain text lines, one entry per line.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use basin_ingest::decompress::decode_content_encoding;
use basin_ingest::ndjson::{self, LinesRequest};

use super::ingest::{append_counted, count_refusal, receive, Received};
use crate::params::{self, header, Params};
use crate::{ApiError, AppState};

const PROTOCOL: &str = "ndjson";

/// Stores the lines; 204 once durable, as Loki's push answers.
pub async fn lines(
    State(state): State<Arc<AppState>>,
    Query(query): Query<Params>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let Received {
        storage,
        tenant,
        bytes,
    } = receive(&state, PROTOCOL, &headers, body).await?;
    let limits = &state.limits.ingest;
    let request = LinesRequest {
        labels: query.get("labels"),
        label_fields: query.get("label_fields"),
        message_field: query.get("message_field"),
        time_field: query.get("time_field"),
    };
    let batch = decode_content_encoding(
        &bytes,
        header(&headers, header::CONTENT_ENCODING.as_str()),
        limits.max_request_size_bytes,
    )
    .and_then(|body| ndjson::decode(tenant.clone(), &body, &request, limits, params::now_ns()));
    let batch = count_refusal(&state, PROTOCOL, &tenant, bytes.len(), batch)?;
    append_counted(&state, &storage, PROTOCOL, &tenant, batch, 0).await?;
    Ok(StatusCode::NO_CONTENT)
}
