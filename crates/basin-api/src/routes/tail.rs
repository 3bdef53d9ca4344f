//! `GET /loki/api/v1/tail` over WebSocket: first the recent history (up to
//! `limit` lines from `start`), then every new matching line as soon as it is
//! acknowledged, pushed from the store rather than polled.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use basin_logql::LogExpr;
use basin_model::TenantId;
use basin_query::pipeline::Pipeline;
use basin_query::{Direction, LogRow, LogSelection, QueryContext, StreamFilter};
use basin_storage::Storage;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use super::select::select_blocking;
use crate::encode;
use crate::params::{self, now_ns, parse_time, Params};
use crate::{ApiError, AppState};

/// Loki's default history for a new tail: the last hour.
const TAIL_SINCE_NS: i64 = 3_600_000_000_000;

/// `GET /loki/api/v1/tail`: checks the query, then upgrades to WebSocket.
pub async fn tail(
    ws: WebSocketUpgrade,
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<Response, ApiError> {
    let storage = state.storage()?.clone();
    let tenant = params::tenant(&headers)?;
    let log = p.log_query()?;
    // Compile now so a bad query is a 400, not a closed socket.
    StreamFilter::new(&log.matchers)?;
    Pipeline::new(&log.stages)?;
    let limit = match p.get("limit") {
        Some(v) => v
            .trim()
            .parse::<usize>()
            .map_err(|_| ApiError::BadRequest(format!("invalid limit {v:?}")))?,
        None => 100,
    }
    .min(state.limits.max_entries_limit_per_query);
    let start = match p.get("start") {
        Some(v) => parse_time("start", v)?,
        None => now_ns() - TAIL_SINCE_NS,
    };
    Ok(ws.on_upgrade(move |socket| async move {
        if let Err(e) = run(socket, state, storage, tenant, log, start, limit).await {
            tracing::debug!("tail ended: {e}");
        }
    }))
}

fn message(sel: &LogSelection, dropped: u64) -> String {
    let dropped: Value = if dropped > 0 {
        json!([{ "labels": {}, "timestamp": now_ns().to_string(), "count": dropped }])
    } else {
        Value::Null
    };
    json!({ "streams": encode::streams(sel, false), "dropped_entries": dropped }).to_string()
}

/// How often a tail looks again at which pattern ids merged, so that
/// `| pattern_id=` keeps finding lines of templates that merge meanwhile.
const ALIASES_EVERY: Duration = Duration::from_secs(1);

/// A query context holding the tenant's current pattern aliases.
fn context(state: &AppState, tenant: &TenantId) -> QueryContext {
    QueryContext::new(None)
        .with_pattern_aliases(state.patterns.aliases(tenant))
        .with_deletes(state.deletes().and_then(|d| d.filter(tenant)))
}

async fn run(
    mut socket: WebSocket,
    state: Arc<AppState>,
    storage: Arc<Storage>,
    tenant: TenantId,
    log: LogExpr,
    start: i64,
    limit: usize,
) -> Result<(), String> {
    let mut live = storage.subscribe();
    let mut history = select_blocking(
        storage.clone(),
        tenant.clone(),
        log.clone(),
        start,
        now_ns(),
        limit,
        Direction::Backward,
        context(&state, &tenant),
    )
    .await
    .map_err(|e| e.to_string())?;
    history.rows.reverse();
    if !history.rows.is_empty() {
        socket
            .send(Message::Text(message(&history, 0).into()))
            .await
            .map_err(|e| e.to_string())?;
    }
    let filter = StreamFilter::new(&log.matchers).map_err(|e| e.to_string())?;
    let compile = |state: &AppState| {
        Pipeline::new(&log.stages)
            .map(|p| p.with_pattern_aliases(context(state, &tenant).pattern_aliases()))
            .map_err(|e| e.to_string())
    };
    let mut pipeline = compile(&state)?;
    let mut aliases_at = Instant::now();
    let mut dropped = 0u64;
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(()),
                Some(Ok(_)) => {}
            },
            batch = live.recv() => match batch {
                Ok(batch) => {
                    if batch.tenant != tenant {
                        continue;
                    }
                    if aliases_at.elapsed() >= ALIASES_EVERY {
                        pipeline = compile(&state)?;
                        aliases_at = Instant::now();
                    }
                    let mut rows = Vec::new();
                    for stream in batch.streams.iter().filter(|s| filter.matches(&s.labels)) {
                        for e in &stream.entries {
                            if let Some(row) = pipeline.run(e, &stream.labels) {
                                rows.push(LogRow { ts: e.ts, line: row.line, labels: row.labels });
                            }
                        }
                    }
                    if rows.is_empty() && dropped == 0 {
                        continue;
                    }
                    rows.sort_by_key(|r| r.ts);
                    let sel = LogSelection { rows, stats: Default::default() };
                    socket
                        .send(Message::Text(message(&sel, dropped).into()))
                        .await
                        .map_err(|e| e.to_string())?;
                    dropped = 0;
                }
                Err(RecvError::Lagged(n)) => dropped += n,
                Err(RecvError::Closed) => return Ok(()),
            },
        }
    }
}
