use std::fs::{self, OpenOptions};
use std::path::Path;

use basin_model::PushBatch;
use tracing::warn;

use super::legacy;
use super::{decode_record, list_segments, RECORD_HEADER};
use crate::error::{Result, StorageError};
use crate::limits::{WAL_MAGIC, WAL_MAGIC_V1};

/// What a replay found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayOutcome {
    /// Highest segment sequence number seen (0 if none).
    pub max_seq: u64,
    /// Records replayed.
    pub records: u64,
    /// Segments whose tail was torn or corrupt and was truncated.
    pub truncated_segments: u64,
    /// Highest queue position among the replayed records (0 if none).
    pub max_position: u64,
}

/// Replays the records of every segment after `flushed_seq`, in order.
///
/// A segment whose tail does not check out (short header, short payload, bad
/// checksum, undecodable payload) is truncated at the last good record.
pub fn replay(
    data_dir: &Path,
    flushed_seq: u64,
    mut apply: impl FnMut(PushBatch),
) -> Result<ReplayOutcome> {
    let mut outcome = ReplayOutcome::default();
    for (seq, path) in list_segments(data_dir)? {
        outcome.max_seq = outcome.max_seq.max(seq);
        if seq <= flushed_seq {
            continue;
        }
        let data = fs::read(&path).map_err(|e| StorageError::io("read", &path, e))?;
        let (good_len, problem) = read_records(&data, |batch, position| {
            outcome.records += 1;
            outcome.max_position = outcome.max_position.max(position.unwrap_or(0));
            apply(batch)
        });
        if let Some(problem) = problem {
            warn!(
                segment = %path.display(),
                offset = good_len,
                dropped_bytes = data.len() - good_len,
                "WAL tail is {problem}; truncating it"
            );
            let file = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|e| StorageError::io("open", &path, e))?;
            file.set_len(good_len as u64)
                .and_then(|()| file.sync_all())
                .map_err(|e| StorageError::io("truncate", &path, e))?;
            outcome.truncated_segments += 1;
        }
    }
    Ok(outcome)
}

/// Decodes a record payload into its batch and queue position.
type Decoder = fn(&[u8]) -> Option<(PushBatch, Option<u64>)>;

/// Decodes records until the data ends or stops checking out; returns the
/// length of the good prefix and, if it stopped early, why.
fn read_records(
    data: &[u8],
    mut apply: impl FnMut(PushBatch, Option<u64>),
) -> (usize, Option<&'static str>) {
    let decode: Decoder = match data.get(..WAL_MAGIC.len()) {
        Some(magic) if magic == WAL_MAGIC => decode_record,
        Some(magic) if magic == WAL_MAGIC_V1 => |p| legacy::decode_v1(p).map(|b| (b, None)),
        _ => return (0, (!data.is_empty()).then_some("missing its header")),
    };
    let mut pos = WAL_MAGIC.len();
    while pos < data.len() {
        let Some(header) = data.get(pos..pos + RECORD_HEADER) else {
            return (pos, Some("torn (short record header)"));
        };
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let start = pos + RECORD_HEADER;
        let Some(payload) = data.get(start..start + len) else {
            return (pos, Some("torn (short record)"));
        };
        if crc32fast::hash(payload) != crc {
            return (pos, Some("corrupt (checksum mismatch)"));
        }
        match decode(payload) {
            Some((batch, position)) => apply(batch, position),
            None => return (pos, Some("corrupt (undecodable record)")),
        }
        pos = start + len;
    }
    (pos, None)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use basin_model::{Entry, Labels, StreamBatch, TenantId};

    use super::*;
    use crate::filenames;
    use crate::wal::{encode_batch, Wal};

    fn batch(line: &str) -> PushBatch {
        PushBatch {
            tenant: TenantId::default_tenant(),
            streams: vec![StreamBatch {
                labels: Labels::parse(r#"{job="t"}"#).unwrap(),
                entries: vec![Entry::new(1, line)],
            }],
        }
    }

    fn lines(dir: &Path) -> (Vec<String>, ReplayOutcome) {
        let mut out = Vec::new();
        let outcome = replay(dir, 0, |b| out.push(b.streams[0].entries[0].line.clone())).unwrap();
        (out, outcome)
    }

    #[test]
    fn round_trip_and_torn_tails() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::create(dir.path(), 1, true).unwrap();
        let payloads: Vec<_> = ["a", "b", "c"]
            .iter()
            .map(|l| encode_batch(&batch(l)).unwrap())
            .collect();
        wal.append_group(&payloads).unwrap();
        let (got, outcome) = lines(dir.path());
        assert_eq!(got, ["a", "b", "c"]);
        assert_eq!(outcome.truncated_segments, 0);

        // A torn tail: half of a fourth record.
        let path = filenames::wal_segment(dir.path(), 1);
        let good_len = fs::metadata(&path).unwrap().len();
        let extra = encode_batch(&batch("d")).unwrap();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&(extra.len() as u32).to_le_bytes()).unwrap();
        f.write_all(&[1, 2]).unwrap();
        drop(f);
        let (got, outcome) = lines(dir.path());
        assert_eq!(got, ["a", "b", "c"]);
        assert_eq!(outcome.truncated_segments, 1);
        assert_eq!(fs::metadata(&path).unwrap().len(), good_len);

        // A corrupt last record: flip a byte of its payload.
        let mut data = fs::read(&path).unwrap();
        let last = data.len() - 1;
        data[last] ^= 0xff;
        fs::write(&path, &data).unwrap();
        let (got, outcome) = lines(dir.path());
        assert_eq!(got, ["a", "b"]);
        assert_eq!(outcome.truncated_segments, 1);
    }

    #[test]
    fn groups_of_more_records_than_one_write_takes() {
        // A group is written as two slices a record; the OS takes at most
        // 1,024 slices a call, so this group needs several calls.
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::create(dir.path(), 1, false).unwrap();
        let want: Vec<String> = (0..3000).map(|i| format!("line {i}")).collect();
        let payloads: Vec<_> = want
            .iter()
            .map(|l| encode_batch(&batch(l)).unwrap())
            .collect();
        wal.append_group(&payloads).unwrap();
        wal.append_group(&[encode_batch(&batch("after")).unwrap()])
            .unwrap();
        let (got, outcome) = lines(dir.path());
        assert_eq!(got[..3000], want[..]);
        assert_eq!(got[3000], "after");
        assert_eq!(outcome.truncated_segments, 0);
    }

    #[test]
    fn skips_flushed_segments() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::create(dir.path(), 1, false).unwrap();
        wal.append_group(&[encode_batch(&batch("old")).unwrap()])
            .unwrap();
        assert_eq!(wal.rotate().unwrap(), 1);
        wal.append_group(&[encode_batch(&batch("new")).unwrap()])
            .unwrap();
        let mut got = Vec::new();
        let outcome = replay(dir.path(), 1, |b| {
            got.push(b.streams[0].entries[0].line.clone())
        })
        .unwrap();
        assert_eq!(got, ["new"]);
        assert_eq!(outcome.max_seq, 2);
    }
}
