//! What a queue message holds: one push's streams of one partition, as
//! postcard (the WAL's record encoding), cut to fit the server's
//! `max_payload`.

use basin_model::{PushBatch, StreamBatch};

use crate::QueueError;

/// Encodes a batch as a message body.
pub fn encode(batch: &PushBatch) -> Result<Vec<u8>, QueueError> {
    postcard::to_stdvec(batch).map_err(|e| QueueError::Encoding(e.to_string()))
}

/// Decodes a message body.
pub fn decode(body: &[u8]) -> Result<PushBatch, QueueError> {
    postcard::from_bytes(body).map_err(|e| QueueError::Encoding(e.to_string()))
}

/// Bodies of at most `max` bytes holding `batch`: the whole batch when it
/// fits, else its streams, then a stream's entries, split in halves.
pub fn bodies(batch: PushBatch, max: usize) -> Result<Vec<Vec<u8>>, QueueError> {
    let mut out = Vec::new();
    // A stack: halves are pushed second one first, so bodies come out in
    // the push's order.
    let mut todo = vec![batch];
    while let Some(batch) = todo.pop() {
        let body = encode(&batch)?;
        if body.len() <= max {
            out.push(body);
            continue;
        }
        let tenant = batch.tenant;
        let mut streams = batch.streams;
        if streams.len() > 1 {
            let second = streams.split_off(streams.len() / 2);
            todo.push(PushBatch {
                tenant: tenant.clone(),
                streams: second,
            });
            todo.push(PushBatch { tenant, streams });
            continue;
        }
        let Some(StreamBatch {
            labels,
            mut entries,
        }) = streams.pop()
        else {
            continue;
        };
        if entries.len() < 2 {
            return Err(QueueError::EntryTooLarge {
                bytes: body.len(),
                max,
            });
        }
        let second = entries.split_off(entries.len() / 2);
        for part in [second, entries] {
            todo.push(PushBatch {
                tenant: tenant.clone(),
                streams: vec![StreamBatch {
                    labels: labels.clone(),
                    entries: part,
                }],
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use basin_model::{Entry, Labels, TenantId};

    use super::*;

    fn batch(streams: usize, entries: usize) -> PushBatch {
        PushBatch {
            tenant: TenantId::default_tenant(),
            streams: (0..streams)
                .map(|s| StreamBatch {
                    labels: Labels::parse(&format!(r#"{{job="j{s}"}}"#)).unwrap(),
                    entries: (0..entries)
                        .map(|e| Entry::new(e as i64, format!("line {s} {e} {}", "x".repeat(50))))
                        .collect(),
                })
                .collect(),
        }
    }

    fn lines(bodies: &[Vec<u8>]) -> Vec<String> {
        bodies
            .iter()
            .flat_map(|b| decode(b).unwrap().streams)
            .flat_map(|s| s.entries.into_iter().map(|e| e.line))
            .collect()
    }

    #[test]
    fn small_batches_are_one_message() {
        let b = batch(3, 4);
        let bodies = bodies(b.clone(), 1 << 20).unwrap();
        assert_eq!(bodies.len(), 1);
        assert_eq!(decode(&bodies[0]).unwrap(), b);
    }

    #[test]
    fn large_batches_split_in_order_and_lose_nothing() {
        let b = batch(3, 200);
        let all = lines(&bodies(b.clone(), usize::MAX).unwrap());
        let cut = bodies(b, 2_000).unwrap();
        assert!(cut.len() > 10, "{} bodies", cut.len());
        assert!(cut.iter().all(|body| body.len() <= 2_000));
        assert_eq!(lines(&cut), all);
    }

    #[test]
    fn an_entry_over_the_limit_is_an_error() {
        let err = bodies(batch(1, 1), 20).unwrap_err();
        assert!(
            matches!(err, QueueError::EntryTooLarge { max: 20, .. }),
            "{err}"
        );
    }
}
