//! `POST /v1/logs` and `/otlp/v1/logs`: OTLP logs over HTTP, answered with
//! OTLP's messages in the request's own encoding.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use basin_ingest::otlp::{self, OtlpEncoding};

use super::ingest::{append_counted, count_refusal, receive, Received};
use crate::params::header;
use crate::{ApiError, AppState};

const PROTOCOL: &str = "otlp";

/// Stores the records; 200 with `partial_success` when some were refused.
pub async fn logs(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let encoding = OtlpEncoding::of(header(&headers, header::CONTENT_TYPE.as_str()))
        .unwrap_or(OtlpEncoding::Protobuf);
    match store(&state, &headers, body).await {
        Ok((rejected, why)) => answer(
            StatusCode::OK,
            encoding,
            otlp::response_body(encoding, rejected, why.as_deref()),
        ),
        Err(e) => {
            let status = e.status();
            if status.is_server_error() {
                return e.into_response();
            }
            let body = otlp::status_body(encoding, &e.to_string());
            let mut response = answer(status, encoding, body);
            e.add_retry_after(&mut response);
            response
        }
    }
}

async fn store(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(u64, Option<String>), ApiError> {
    let Received {
        storage,
        tenant,
        bytes,
    } = receive(state, PROTOCOL, headers, body).await?;
    let limits = &state.limits.ingest;
    let decoded =
        OtlpEncoding::of(header(headers, header::CONTENT_TYPE.as_str())).and_then(|encoding| {
            otlp::decode(
                tenant.clone(),
                &bytes,
                encoding,
                header(headers, header::CONTENT_ENCODING.as_str()),
                limits,
                &state.protocols.otlp,
            )
        });
    let decoded = count_refusal(state, PROTOCOL, &tenant, bytes.len(), decoded)?;
    append_counted(
        state,
        &storage,
        PROTOCOL,
        &tenant,
        decoded.batch,
        decoded.rejected,
    )
    .await?;
    Ok((decoded.rejected, decoded.first_rejection))
}

fn answer(status: StatusCode, encoding: OtlpEncoding, body: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(encoding.content_type()),
        )],
        body,
    )
        .into_response()
}
