//! Query answers in Loki's JSON shapes: `streams`, `matrix`, `vector`,
//! `scalar`, with the `stats` object.

use std::collections::HashMap;
use std::time::Instant;

use basin_query::label_set::{LabelSet, Origin};
use basin_query::{LogSelection, Series, Steps};
use basin_storage::ScanStats;
use serde_json::{json, Map, Value};

/// A sample value as Prometheus writes it.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// A timestamp as Prometheus writes it: seconds, fractional when needed.
pub fn format_time(ns: i64) -> Value {
    if ns % 1_000_000_000 == 0 {
        json!(ns / 1_000_000_000)
    } else {
        json!(ns as f64 / 1e9)
    }
}

fn labels_map(labels: &LabelSet) -> Map<String, Value> {
    labels
        .pairs()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect()
}

fn pairs_map(pairs: Vec<(String, String)>) -> Map<String, Value> {
    pairs
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}

/// Loki's `streams` result. Without `categorize-labels`, every label of a
/// line (stream, structured metadata, extracted) makes up its stream, as
/// Loki does; with it, streams are the stream labels and the rest rides in
/// each entry's third element.
pub fn streams(sel: &LogSelection, categorize: bool) -> Value {
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
                groups.push((pairs_map(key.clone()), Vec::new()));
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
                    extra.insert(
                        "structuredMetadata".into(),
                        Value::Object(pairs_map(metadata)),
                    );
                }
                if !parsed.is_empty() {
                    extra.insert("parsed".into(), Value::Object(pairs_map(parsed)));
                }
                value.push(Value::Object(extra));
            }
        }
        groups[slot].1.push(Value::Array(value));
    }
    Value::Array(
        groups
            .into_iter()
            .map(|(stream, values)| json!({ "stream": stream, "values": values }))
            .collect(),
    )
}

/// A `matrix` result: every series with its points.
pub fn matrix(series: &[Series], steps: &Steps) -> Value {
    Value::Array(
        series
            .iter()
            .map(|s| {
                let values: Vec<Value> = s
                    .points
                    .iter()
                    .enumerate()
                    .filter_map(|(i, p)| {
                        p.map(|v| json!([format_time(steps.at(i)), format_value(v)]))
                    })
                    .collect();
                json!({ "metric": labels_map(&s.labels), "values": values })
            })
            .filter(|s| s["values"].as_array().is_some_and(|v| !v.is_empty()))
            .collect(),
    )
}

/// A `vector` result: the series' values at one time.
pub fn vector(series: &[Series], time: i64) -> Value {
    Value::Array(
        series
            .iter()
            .filter_map(|s| {
                s.points.first().copied().flatten().map(|v| {
                    json!({ "metric": labels_map(&s.labels), "value": [format_time(time), format_value(v)] })
                })
            })
            .collect(),
    )
}

/// A `scalar` result.
pub fn scalar(v: f64, time: i64) -> Value {
    json!([format_time(time), format_value(v)])
}

/// Loki's `stats` object, with Basin's own block counters under `basin`.
pub fn stats(s: &ScanStats, returned: usize, started: Instant) -> Value {
    let secs = started.elapsed().as_secs_f64();
    let lines = s.rows_read + s.head_entries_read;
    let per_sec = |n: u64| {
        if secs > 0.0 {
            (n as f64 / secs) as u64
        } else {
            0
        }
    };
    json!({
        "summary": {
            "bytesProcessedPerSecond": per_sec(s.bytes_read),
            "linesProcessedPerSecond": per_sec(lines),
            "totalBytesProcessed": s.bytes_read,
            "totalLinesProcessed": lines,
            "execTime": secs,
            "queueTime": 0,
            "subqueries": 0,
            "totalEntriesReturned": returned,
            "splits": 0,
            "shards": 0,
        },
        "querier": { "store": { "totalChunksRef": s.blocks_total, "totalChunksDownloaded": s.blocks_read } },
        "ingester": {},
        "cache": {},
        "basin": {
            "partsConsidered": s.parts_considered,
            "blocksTotal": s.blocks_total,
            "blocksPrunedByRangeOrStream": s.blocks_pruned_by_range_or_stream,
            "blocksPrunedByTokens": s.blocks_pruned_by_tokens,
            "blocksRead": s.blocks_read,
            "blocksCounted": s.blocks_counted,
            "rowsRead": s.rows_read,
            "headEntriesRead": s.head_entries_read,
        }
    })
}
