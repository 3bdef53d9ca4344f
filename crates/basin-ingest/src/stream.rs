//! Stream checks every protocol shares: labels valid and within limits, lines
//! within the size limit.

use basin_model::{Entry, Labels, StreamBatch};

use crate::{IngestError, IngestLimits};

/// A stream as decoded, before its labels and lines are checked.
pub(crate) struct RawStream {
    pub labels: RawLabels,
    pub entries: Vec<Entry>,
}

/// Labels as the wire gives them: Loki's label text (protobuf) or pairs (JSON).
pub(crate) enum RawLabels {
    Text(String),
    Pairs(Vec<(String, String)>),
}

/// Checks a stream's labels and every line: one bad line refuses the stream.
pub(crate) fn validate_stream(
    raw: RawStream,
    limits: &IngestLimits,
) -> Result<StreamBatch, IngestError> {
    let labels = validate_labels(raw.labels, limits)?;
    for entry in &raw.entries {
        check_line(&labels, entry, limits)?;
    }
    Ok(StreamBatch {
        labels,
        entries: raw.entries,
    })
}

/// Checks one line against `max_line_size_bytes`.
pub(crate) fn check_line(
    labels: &Labels,
    entry: &Entry,
    limits: &IngestLimits,
) -> Result<(), IngestError> {
    if entry.line.len() > limits.max_line_size_bytes {
        return Err(IngestError::LineTooLong {
            stream: labels.to_string(),
            len: entry.line.len(),
            limit: limits.max_line_size_bytes,
        });
    }
    Ok(())
}

/// Parses and checks a stream's labels against the label limits.
pub(crate) fn validate_labels(
    raw: RawLabels,
    limits: &IngestLimits,
) -> Result<Labels, IngestError> {
    let (shown, parsed) = match raw {
        RawLabels::Text(text) => {
            let parsed = Labels::parse(&text);
            (text, parsed)
        }
        RawLabels::Pairs(pairs) => {
            let shown = format!("{pairs:?}");
            (shown, Labels::from_pairs(pairs))
        }
    };
    let labels = parsed.map_err(|e| IngestError::InvalidLabels {
        stream: shown.clone(),
        msg: e.to_string(),
    })?;
    let invalid = |msg: String| IngestError::InvalidLabels {
        stream: shown.clone(),
        msg,
    };
    if labels.is_empty() {
        return Err(invalid("a stream needs at least one label".into()));
    }
    if labels.len() > limits.max_label_names_per_series {
        return Err(IngestError::TooManyLabels {
            stream: labels.to_string(),
            count: labels.len(),
            limit: limits.max_label_names_per_series,
        });
    }
    for (name, value) in labels.pairs() {
        if name.len() > limits.max_label_name_length {
            return Err(invalid(format!(
                "label name of {} bytes exceeds max_label_name_length ({})",
                name.len(),
                limits.max_label_name_length
            )));
        }
        if value.len() > limits.max_label_value_length {
            return Err(invalid(format!(
                "value of label {name} has {} bytes, over max_label_value_length ({})",
                value.len(),
                limits.max_label_value_length
            )));
        }
    }
    Ok(labels)
}
