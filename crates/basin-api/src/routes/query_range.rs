use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Form, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use basin_logql::parse_log_query;
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

/// Loki's `streams` answer. Without `categorize-labels`, structured metadata
/// joins the stream labels (splitting streams), as Loki does.
fn streams_response(sel: &LogSelection, categorize: bool, started: Instant) -> Value {
    let mut result = Vec::new();
    let mut returned = 0usize;
    for stream in &sel.streams {
        let base: Map<String, Value> = stream
            .labels
            .pairs()
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        if categorize {
            let values: Vec<Value> = stream
                .entries
                .iter()
                .map(|e| {
                    let mut v = vec![json!(e.ts.to_string()), json!(e.line)];
                    if !e.fields.is_empty() {
                        let md: Map<String, Value> = e
                            .fields
                            .iter()
                            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                            .collect();
                        v.push(json!({ "structuredMetadata": md }));
                    }
                    Value::Array(v)
                })
                .collect();
            returned += values.len();
            result.push(json!({ "stream": base, "values": values }));
        } else {
            let mut split: Vec<(BTreeMap<String, String>, Vec<Value>)> = Vec::new();
            let mut slots: HashMap<BTreeMap<String, String>, usize> = HashMap::new();
            for e in &stream.entries {
                let fields: BTreeMap<String, String> = e.fields.iter().cloned().collect();
                let slot = *slots.entry(fields.clone()).or_insert_with(|| {
                    split.push((fields, Vec::new()));
                    split.len() - 1
                });
                split[slot].1.push(json!([e.ts.to_string(), e.line]));
            }
            for (fields, values) in split {
                let mut labels = base.clone();
                for (k, v) in fields {
                    labels.entry(k).or_insert(Value::String(v));
                }
                returned += values.len();
                result.push(json!({ "stream": labels, "values": values }));
            }
        }
    }
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
