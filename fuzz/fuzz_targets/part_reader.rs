//! The part reader on damaged part files: bit flips, overwritten bytes and
//! truncations of a real part (or any bytes): opening and scanning answer
//! an error or rows, never panic or hang.
#![no_main]

use std::sync::{Arc, OnceLock};

use basin_model::{Entry, Labels, TenantId};
use basin_storage::part::{write_part, Part};
use basin_storage::{Columns, LineEncoding, PartMeta, ScanRequest, ScanStats};
use libfuzzer_sys::fuzz_target;

/// A real part of both line encodings: several streams, fields, lines
/// that split into templates and lines that do not.
fn valid_part(encoding: LineEncoding) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("p.parquet");
    let entries: Vec<Entry> = (0..60i64)
        .map(|i| {
            let mut e = Entry::new(
                1_700_000_000_000_000_000 + i * 1_000_000,
                match i % 3 {
                    0 => format!("GET /api/items/{i} 200 {}ms user=u{}", i * 7, i % 5),
                    1 => format!("2024-01-01T00:00:{:02}Z worker {i} finished job", i % 60),
                    _ => "plain line without variables".to_string(),
                },
            );
            if i % 4 == 0 {
                e.fields = vec![("trace_id".into(), format!("{i:032x}"))];
            }
            e
        })
        .collect();
    let a = Arc::new(Labels::parse(r#"{job="api"}"#).expect("labels"));
    let b = Arc::new(Labels::parse(r#"{job="worker", host="h1"}"#).expect("labels"));
    let (first, second) = entries.split_at(30);
    write_part(
        &path,
        vec![(a, first.iter().collect()), (b, second.iter().collect())],
        encoding,
    )
    .expect("write part");
    std::fs::read(&path).expect("read part")
}

fn parts() -> &'static [Vec<u8>; 2] {
    static PARTS: OnceLock<[Vec<u8>; 2]> = OnceLock::new();
    PARTS.get_or_init(|| [valid_part(LineEncoding::Templates), valid_part(LineEncoding::Plain)])
}

fuzz_target!(|data: &[u8]| {
    // The storage layer catches the Parquet decoder's panics on damaged
    // pages and answers an error; libFuzzer's hook would abort on those
    // caught panics too. Uncaught ones still abort (libfuzzer-sys checks
    // the closure's result).
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| eprintln!("panic: {info}")));
    });
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        let mut bytes = parts()[usize::from(mode >> 7)].clone();
        // Each 3 bytes: a position and a value to xor there.
        let mut edits = rest.chunks_exact(3);
        for edit in &mut edits {
            let at = usize::from(u16::from_le_bytes([edit[0], edit[1]])) % bytes.len();
            bytes[at] ^= edit[2];
        }
        if mode & 2 != 0 {
            let keep = edits.remainder().first().map_or(bytes.len() / 2, |&b| {
                bytes.len() * usize::from(b) / 256
            });
            bytes.truncate(keep);
        }
        bytes
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("p.parquet");
    std::fs::write(&path, &bytes).expect("write part");
    let meta = PartMeta {
        id: 1,
        tenant: "fuzz".into(),
        day: "2023-11-14".into(),
        rows: 60,
        min_ts: 1_700_000_000_000_000_000,
        max_ts: 1_700_000_000_059_000_000,
        size_bytes: bytes.len() as u64,
    };
    let Ok(part) = Part::open(&path, meta) else {
        return;
    };
    let tenant = TenantId::new("fuzz").expect("tenant");
    let all = |_: &Labels| true;
    let needles = vec!["items".to_string()];
    for needles in [&[][..], &needles[..]] {
        let req = ScanRequest {
            tenant: &tenant,
            start: i64::MIN,
            end: i64::MAX,
            stream_filter: &all,
            needles,
            columns: Columns::all(),
        };
        let mut rows = 0usize;
        let _ = part.scan(&req, &mut ScanStats::default(), &mut |_, entry| {
            rows += 1;
            std::hint::black_box(entry.line.len());
            true
        });
    }
});
