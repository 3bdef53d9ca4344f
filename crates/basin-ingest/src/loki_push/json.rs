//! Loki's JSON push body: `{"streams":[{"stream":{..},"values":[["<ns>","line",{..}]]}]}`.

use std::collections::BTreeMap;

use basin_model::Entry;
use serde::Deserialize;

use super::{RawLabels, RawStream};
use crate::IngestError;

#[derive(Deserialize)]
struct PushBody {
    streams: Vec<JsonStream>,
}

#[derive(Deserialize)]
struct JsonStream {
    stream: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<JsonValue>,
}

/// `["<ns>", "line"]` or `["<ns>", "line", {"key": "value"}]`.
#[derive(Deserialize)]
struct JsonValue(
    JsonTimestamp,
    String,
    #[serde(default)] Option<BTreeMap<String, String>>,
);

/// Loki sends nanoseconds as a string; some clients send a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum JsonTimestamp {
    Text(String),
    Number(i64),
}

pub(super) fn decode(body: &[u8]) -> Result<Vec<RawStream>, IngestError> {
    let parsed: PushBody = serde_json::from_slice(body)
        .map_err(|e| IngestError::Malformed(format!("invalid Loki push JSON: {e}")))?;
    parsed
        .streams
        .into_iter()
        .map(|stream| {
            let shown = format!("{:?}", stream.stream);
            let entries = stream
                .values
                .into_iter()
                .map(|JsonValue(ts, line, fields)| {
                    let ts = match ts {
                        JsonTimestamp::Number(n) => n,
                        JsonTimestamp::Text(text) => {
                            text.trim()
                                .parse()
                                .map_err(|_| IngestError::InvalidTimestamp {
                                    stream: shown.clone(),
                                    value: text.clone(),
                                })?
                        }
                    };
                    Ok(Entry {
                        ts,
                        line,
                        fields: fields.unwrap_or_default().into_iter().collect(),
                        pattern_id: 0,
                    })
                })
                .collect::<Result<Vec<_>, IngestError>>()?;
            Ok(RawStream {
                labels: RawLabels::Pairs(stream.stream.into_iter().collect()),
                entries,
            })
        })
        .collect()
}
