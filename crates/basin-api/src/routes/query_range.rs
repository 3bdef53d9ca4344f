use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Form, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use basin_logql::parse_log_query;
use basin_query::label_set::Origin;
use basin_query::{select_logs, Direction, LogSelect, LogSelection};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::params::{self, header, parse_duration, parse_time};
use crate::{ApiError, AppState};

/// Parameters of `query_range`, from the URL or a form body.
#[derive(Debug, Default, Deserialize)]
pub struct QueryRangeParams {
    query: Option<String>,
    start: Option<String>,
    end: Option<String>,
    since: Option<String>,
    limit: Option<String>,
    direction: Option<String>,
}

/// Loki's default: the last hour.
const DEFAULT_SINCE_NS: i64 = 3_600_000_000_000;
/// Loki's default number of entries.
const DEFAULT_LIMIT: usize = 100;
/// Header through which Grafana asks for structured metadata apart from labels.
const ENCODING_FLAGS: &str = "X-Loki-Response-Encoding-Flags";

/// `GET /loki/api/v1/query_range`.
pub async fn get(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(p): Query<QueryRangeParams>,
) -> Result<Json<Value>, ApiError> {
    run(state, headers, p).await
}

/// `POST /loki/api/v1/query_range` with a form body.
pub async fn post(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(p): Form<QueryRangeParams>,
) -> Result<Json<Value>, ApiError> {
    run(state, headers, p).await
}

async fn run(
    state: Arc<AppState>,
    headers: HeaderMap,
    p: QueryRangeParams,
) -> Result<Json<Value>, ApiError> {
    let started = Instant::now();
    let storage = state.storage()?.clone();
    let tenant = params::tenant(&headers)?;
    let text = p
        .query
        .as_deref()
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| ApiError::BadRequest("missing query parameter 'query'".into()))?;
    let query = parse_log_query(text).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    let end = match &p.end {
        Some(v) => parse_time("end", v)?,
        None => now,
    };
    let start = match (&p.start, &p.since) {
        (Some(v), _) => parse_time("start", v)?,
        (None, Some(since)) => end.saturating_sub(parse_duration("since", since)?),
        (None, None) => end.saturating_sub(DEFAULT_SINCE_NS),
    };
    if end < start {
        return Err(ApiError::BadRequest(
            "invalid time range: end is before start".into(),
        ));
    }
    let limit = match &p.limit {
        Some(v) => v
            .trim()
            .parse::<usize>()
            .map_err(|_| ApiError::BadRequest(format!("invalid limit {v:?}")))?,
        None => DEFAULT_LIMIT,
    };
    let max = state.limits.max_entries_limit_per_query;
    if limit > max {
        return Err(ApiError::BadRequest(format!(
            "max entries limit per query exceeded, limit > max_entries_limit_per_query ({limit} > {max})"
        )));
    }
    let direction = match p
        .direction
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("") | Some("backward") => Direction::Backward,
        Some("forward") => Direction::Forward,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "invalid direction {other:?}: use forward or backward"
            )))
        }
    };
    let categorize = header(&headers, ENCODING_FLAGS)
        .is_some_and(|v| v.split(',').any(|f| f.trim() == "categorize-labels"));
    let selection = tokio::task::spawn_blocking(move || {
        select_logs(
            &storage,
            &LogSelect {
                tenant: &tenant,
                query: &query,
                // Loki's end is inclusive for log queries.
                start,
                end: end.saturating_add(1),
                limit,
                direction,
            },
        )
    })
    .await
    .map_err(|e| ApiError::Internal(format!("query task failed: {e}")))??;
    Ok(Json(streams_response(&selection, categorize, started)))
}

/// Loki's `streams` answer. Without `categorize-labels`, every label of a
/// line (stream, structured metadata, extracted) makes up its stream, as
/// Loki does; with it, streams are the stream labels and the rest rides in
/// each entry's third element.
fn streams_response(sel: &LogSelection, categorize: bool, started: Instant) -> Value {
    let to_map = |pairs: Vec<(String, String)>| -> Map<String, Value> {
        pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect()
    };
    let mut groups: Vec<(Map<String, Value>, Vec<Value>)> = Vec::new();
    let mut slots: HashMap<Vec<(String, String)>, usize> = HashMap::new();
    for row in &sel.rows {
        let key: Vec<(String, String)> = if categorize {
            row.labels.of(Origin::Stream)
        } else {
            row.labels
                .pairs()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let slot = match slots.get(&key) {
            Some(&slot) => slot,
            None => {
                groups.push((to_map(key.clone()), Vec::new()));
                slots.insert(key, groups.len() - 1);
                groups.len() - 1
            }
        };
        let mut value = vec![json!(row.ts.to_string()), json!(row.line)];
        if categorize {
            let metadata = row.labels.of(Origin::Metadata);
            let parsed = row.labels.of(Origin::Parsed);
            if !metadata.is_empty() || !parsed.is_empty() {
                let mut extra = Map::new();
                if !metadata.is_empty() {
                    extra.insert("structuredMetadata".into(), Value::Object(to_map(metadata)));
                }
                if !parsed.is_empty() {
                    extra.insert("parsed".into(), Value::Object(to_map(parsed)));
                }
                value.push(Value::Object(extra));
            }
        }
        groups[slot].1.push(Value::Array(value));
    }
    let returned = sel.rows.len();
    let result: Vec<Value> = groups
        .into_iter()
        .map(|(stream, values)| json!({ "stream": stream, "values": values }))
        .collect();
    let s = &sel.stats;
    let secs = started.elapsed().as_secs_f64();
    let mut data = json!({
        "resultType": "streams",
        "result": result,
        "stats": {
            "summary": {
                "execTime": secs,
                "totalEntriesReturned": returned,
                "totalLinesProcessed": s.rows_read + s.head_entries_read,
                "totalBytesProcessed": s.bytes_read,
            },
            "basin": {
                "partsConsidered": s.parts_considered,
                "blocksTotal": s.blocks_total,
                "blocksPrunedByRangeOrStream": s.blocks_pruned_by_range_or_stream,
                "blocksPrunedByTokens": s.blocks_pruned_by_tokens,
                "blocksRead": s.blocks_read,
                "rowsRead": s.rows_read,
                "headEntriesRead": s.head_entries_read,
            }
        }
    });
    if categorize {
        data["encodingFlags"] = json!(["categorize-labels"]);
    }
    json!({ "status": "success", "data": data })
}
