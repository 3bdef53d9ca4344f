//! WAL replay on a mutated segment: replay never panics, truncates a bad
//! tail at most once (a second replay finds the same records and nothing
//! to cut), and keeps every record it could read the first time.
#![no_main]

use basin_storage::filenames::wal_segment;
use basin_storage::limits::{WAL_MAGIC, WAL_MAGIC_V1};
use basin_storage::wal::replay;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = wal_segment(dir.path(), 1);
    std::fs::create_dir_all(path.parent().expect("wal dir")).expect("wal dir");
    // Most inputs start with a real header, so records are reached.
    let mut segment = match mode % 3 {
        0 => WAL_MAGIC.to_vec(),
        1 => WAL_MAGIC_V1.to_vec(),
        _ => Vec::new(),
    };
    if mode & 4 == 0 {
        segment.extend_from_slice(rest);
    } else {
        // Records with true checksums, so payloads reach the decoder: each
        // is a length byte and that many bytes; what is left is the tail.
        let mut input = rest;
        while let Some((&len, tail)) = input.split_first() {
            let len = usize::from(len).min(tail.len());
            let (payload, next) = tail.split_at(len);
            segment.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            segment.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
            segment.extend_from_slice(payload);
            input = next;
            if mode & 8 != 0 && input.len() < 4 {
                segment.extend_from_slice(input);
                break;
            }
        }
    }
    std::fs::write(&path, &segment).expect("write segment");
    let mut first = 0;
    let Ok(outcome) = replay(dir.path(), 0, |_| first += 1) else {
        return;
    };
    let mut second = 0;
    let again = replay(dir.path(), 0, |_| second += 1).expect("second replay");
    assert_eq!(first, second, "a second replay read other records");
    assert_eq!(outcome.records, again.records);
    assert_eq!(
        again.truncated_segments, 0,
        "the first replay left a bad tail"
    );
});
