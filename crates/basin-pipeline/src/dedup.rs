//! Duplicate suppression: identical entries of one stream (same line and
//! fields) arriving in one push within a window of the first are stored once,
//! with a `repeat_count` field saying how many lines it stands for. A client
//! stuck in a loop then costs one entry per push and window, not one per line.
//!
//! Each stored entry's count is exact for the lines it replaced; repeats that
//! arrive in a later push are a new entry with their own count (nothing
//! already acknowledged is rewritten).

use std::collections::HashMap;

use basin_model::PushBatch;

/// The field holding how many identical lines an entry stands for.
pub const REPEAT_FIELD: &str = "repeat_count";

/// Collapses repeats within `window_ns` of the first of each run; 0 does nothing.
pub fn collapse_repeats(batch: &mut PushBatch, window_ns: i64) {
    if window_ns <= 0 {
        return;
    }
    for stream in &mut batch.streams {
        let entries = &stream.entries;
        let mut keep = vec![true; entries.len()];
        let mut counts = vec![1u64; entries.len()];
        // Line → index of the entry repeats of it fold into.
        let mut first_of: HashMap<&str, usize> = HashMap::new();
        for (i, entry) in entries.iter().enumerate() {
            match first_of.get(entry.line.as_str()) {
                Some(&j)
                    if entries[j].fields == entry.fields
                        && entry.ts.saturating_sub(entries[j].ts).abs() <= window_ns =>
                {
                    keep[i] = false;
                    counts[j] += 1;
                }
                _ => {
                    first_of.insert(entry.line.as_str(), i);
                }
            }
        }
        if keep.iter().all(|k| *k) {
            continue;
        }
        let old = std::mem::take(&mut stream.entries);
        stream.entries = old
            .into_iter()
            .zip(keep.into_iter().zip(counts))
            .filter(|(_, (keep, _))| *keep)
            .map(|(mut entry, (_, count))| {
                if count > 1 {
                    entry
                        .fields
                        .push((REPEAT_FIELD.to_string(), count.to_string()));
                }
                entry
            })
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use basin_model::{Entry, Labels, StreamBatch, TenantId};

    use super::*;

    #[test]
    fn repeats_fold_within_the_window() {
        let s = 1_000_000_000;
        let line = |ts: i64, text: &str| Entry::new(ts, text);
        let mut batch = PushBatch {
            tenant: TenantId::default_tenant(),
            streams: vec![StreamBatch {
                labels: Labels::parse(r#"{job="x"}"#).unwrap(),
                entries: vec![
                    line(0, "retrying"),
                    line(s, "retrying"),
                    line(2 * s, "other"),
                    line(3 * s, "retrying"),
                    line(20 * s, "retrying"),
                    Entry {
                        ts: 4 * s,
                        line: "retrying".into(),
                        fields: vec![("attempt".into(), "9".into())],
                        pattern_id: 0,
                    },
                ],
            }],
        };
        collapse_repeats(&mut batch, 10 * s);
        let got: Vec<(i64, &str, Option<&str>)> = batch.streams[0]
            .entries
            .iter()
            .map(|e| {
                let count = e
                    .fields
                    .iter()
                    .find(|(n, _)| n == REPEAT_FIELD)
                    .map(|(_, v)| v.as_str());
                (e.ts / s, e.line.as_str(), count)
            })
            .collect();
        assert_eq!(
            got,
            [
                (0, "retrying", Some("3")),
                (2, "other", None),
                (20, "retrying", None),
                (4, "retrying", None),
            ]
        );
    }
}
