use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use basin_ingest::loki_push;
use http_body_util::BodyExt;

use super::ingest::{append_counted, count_refusal, receive, Received};
use crate::params::header;
use crate::{ApiError, AppState};

const PROTOCOL: &str = "loki";

/// `POST /loki/api/v1/push`: 204 once the entries are durable and visible.
pub async fn push(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let Received {
        storage,
        tenant,
        bytes,
    } = receive(&state, PROTOCOL, &headers, body).await?;
    let limits = &state.limits.ingest;
    let batch = loki_push::decode(
        tenant.clone(),
        &bytes,
        header(&headers, header::CONTENT_TYPE.as_str()),
        header(&headers, header::CONTENT_ENCODING.as_str()),
        limits,
    );
    let batch = count_refusal(&state, PROTOCOL, &tenant, bytes.len(), batch)?;
    append_counted(&state, &storage, PROTOCOL, &tenant, batch, 0).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Most bytes of an oversized body read and thrown away before answering 413,
/// so that a client still sending gets the answer instead of a broken pipe.
const DRAIN_MAX_BYTES: usize = 256 * 1024 * 1024;

/// Reads a body of at most `limit` bytes within `timeout`; a larger one is
/// answered with 413, a slower one with 408 (a client trickling its body
/// would otherwise hold a connection and a buffer for ever).
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<bytes::Bytes, ApiError> {
    tokio::time::timeout(timeout, read_body_whole(headers, body, limit))
        .await
        .map_err(|_| {
            ApiError::RequestTimeout(format!(
                "request body not received within {timeout:?} (http_server_read_timeout)"
            ))
        })?
}

async fn read_body_whole(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<bytes::Bytes, ApiError> {
    let too_large = || {
        ApiError::TooLarge(format!(
            "request body exceeds max_request_size_bytes ({limit} bytes)"
        ))
    };
    let declared =
        header(headers, header::CONTENT_LENGTH.as_str()).and_then(|v| v.trim().parse::<u64>().ok());
    let mut body = body;
    let mut buf = bytes::BytesMut::with_capacity(
        declared.map_or(64 * 1024, |n| n.min(limit as u64) as usize),
    );
    let mut over = declared.is_some_and(|n| n > limit as u64);
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::BadRequest(format!("cannot read request body: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len();
        if over || seen > limit {
            over = true;
            buf.clear();
            if seen > DRAIN_MAX_BYTES {
                break;
            }
            continue;
        }
        buf.extend_from_slice(&data);
    }
    if over {
        return Err(too_large());
    }
    Ok(buf.freeze())
}
