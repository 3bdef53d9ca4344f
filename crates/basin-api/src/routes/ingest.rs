//! What every push endpoint does around its protocol's decoder: read the body
//! within the size limit, count refusals, append and count what was stored.

use std::time::Instant;

use std::sync::Arc;

use axum::body::Body;
use axum::http::HeaderMap;
use basin_ingest::IngestError;
use basin_model::{PushBatch, TenantId};
use basin_storage::Storage;

use super::push::read_body;
use crate::params;
use crate::{ApiError, AppState};

/// What every push endpoint starts from: the open store, the tenant, and
/// the body read within `max_request_size_bytes`.
pub(crate) struct Received {
    pub storage: Arc<Storage>,
    pub tenant: TenantId,
    pub bytes: bytes::Bytes,
}

/// Opens a push: the store (503 while opening), the tenant, and the body,
/// counting a refused body under `protocol`.
pub(crate) async fn receive(
    state: &AppState,
    protocol: &'static str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Received, ApiError> {
    let storage = state.storage()?.clone();
    let tenant = params::tenant(headers)?;
    let limit = state.limits.ingest.max_request_size_bytes;
    let read = read_body(headers, body, limit, state.limits.body_read_timeout).await;
    if read.is_err() {
        state
            .counters
            .request_rejected(protocol, tenant.as_str(), 0);
    }
    Ok(Received {
        storage,
        tenant,
        bytes: read?,
    })
}

/// Counts a request refused whole by its decoder; hands the result on.
pub(crate) fn count_refusal<T>(
    state: &AppState,
    protocol: &'static str,
    tenant: &TenantId,
    body_bytes: usize,
    decoded: Result<T, IngestError>,
) -> Result<T, ApiError> {
    if decoded.is_err() {
        let counters = &state.counters;
        counters.request_rejected(protocol, tenant.as_str(), body_bytes as u64);
    }
    Ok(decoded?)
}

/// Parses `batch` (the pipeline), drops what is over the rate limits (the
/// answer is then 429, after the rest is stored), appends it when it holds
/// anything and counts its lines, with
/// `refused` lines the protocol refused one by one.
pub(crate) async fn append_counted(
    state: &AppState,
    storage: &Storage,
    protocol: &'static str,
    tenant: &TenantId,
    mut batch: PushBatch,
    refused: u64,
) -> Result<(), ApiError> {
    let dropped = state.parse(&mut batch);
    state
        .counters
        .dropped(protocol, tenant.as_str(), dropped as u64);
    let limited = state.limiter.admit(&mut batch, Instant::now());
    state.tag_patterns(&mut batch);
    let accepted = (batch.entry_count() as u64, batch.size_bytes() as u64);
    if accepted.0 > 0 {
        state.append(storage, batch).await?;
    }
    let refused = refused + limited.as_ref().map_or(0, |l| l.lines);
    state
        .counters
        .lines(protocol, tenant.as_str(), accepted, (refused, 0));
    match limited {
        None => Ok(()),
        Some(l) => Err(ApiError::RateLimited {
            message: format!(
                "{} of {} lines refused by {}; {} stored; retry the rest after {} s",
                l.lines,
                l.lines + accepted.0,
                l.reason,
                accepted.0,
                l.retry_after_secs
            ),
            retry_after_secs: l.retry_after_secs,
        }),
    }
}
