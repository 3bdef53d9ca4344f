//! Parts written by older formats still read: `testdata/format5.parquet`
//! was written by format 5 (footer values as base64 text), from the lines
//! below.

use std::path::Path;
use std::sync::Arc;

use basin_model::{Entry, Labels, TenantId};

use super::Part;
use crate::manifest::PartMeta;
use crate::scan::{ScanRequest, ScanStats};

/// A row as read back: stream, time, line, fields.
type Row = (String, i64, String, Vec<(String, String)>);

/// The rows the fixture was written from (a copy, not the engine tests'
/// lines: the fixture is frozen, those may change).
fn fixture_rows() -> Vec<Row> {
    let mut lines: Vec<String> = vec![
        r#"{"ts":"2026-01-01T00:00:00.086Z","level":"info","trace_id":"40d6824e2ef3fc17"}"#.into(),
        "2026-01-01 00:00:12,355 ERROR boom (user=u44386)\n\tat a.B.c(B.java:364)\n\tat a.B.d(B.java:92)".into(),
        "no digits at all".into(),
        String::new(),
        "ünïcode 12ä ends with 7".into(),
        "holds \u{11} the placeholder 42".into(),
        "  leading and trailing spaces 9  ".into(),
        (0..200).map(|i| i.to_string()).collect::<Vec<_>>().join(","),
    ];
    lines.extend((0..52).map(|i| format!("GET /api/v1/items/{i} 200 {}ms", i % 97)));
    let mut rows: Vec<_> = lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            (
                r#"{job="x"}"#.to_string(),
                1_000_000 * (i as i64 + 1),
                l,
                Vec::new(),
            )
        })
        .collect();
    rows.extend((0..10).map(|i| {
        (
            r#"{job="y"}"#.to_string(),
            1_000_000 * (i + 1),
            format!("level=warn took {i}ms"),
            vec![("level".to_string(), "warn".to_string())],
        )
    }));
    rows
}

#[test]
fn parts_of_format_5_read_whole() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/format5.parquet");
    let want = fixture_rows();
    let meta = PartMeta {
        id: 1,
        tenant: "a".into(),
        day: "1970-01-01".into(),
        rows: want.len() as u64,
        min_ts: 1_000_000,
        max_ts: 60_000_000,
        size_bytes: std::fs::metadata(&path).expect("fixture").len(),
    };
    let part = Part::open(&path, meta).expect("a format 5 part opens");
    let tenant = TenantId::new("a").expect("tenant");
    let all = |_: &Labels| true;
    let mut got = Vec::new();
    let mut emit = |labels: &Arc<Labels>, e: &Entry| {
        got.push((labels.to_string(), e.ts, e.line.clone(), e.fields.clone()));
        true
    };
    part.scan(
        &ScanRequest::everything(&tenant, &all),
        &mut ScanStats::default(),
        &mut emit,
    )
    .expect("scans");
    assert_eq!(got, want);
    // Its index still prunes: one block, whose filter holds "boom" only.
    for (needle, blocks) in [("boom", 1), ("absent", 0)] {
        let needles = [needle.to_string()];
        let req = ScanRequest {
            needles: &needles,
            ..ScanRequest::everything(&tenant, &all)
        };
        let plan = part.plan(&req, &mut ScanStats::default());
        assert_eq!(plan.blocks.len(), blocks, "{needle}");
    }
}

/// The rows `testdata/format7.parquet` was written from: one stream whose
/// skeletons alternate row by row (format 8 changed the order variables
/// are kept in), a header time the skeleton marks, and a line kept whole.
fn format7_rows() -> Vec<Row> {
    (0..60)
        .map(|i: i64| {
            let ts = 1_767_225_600_000_000_000 + i * 1_000_000_000;
            let line = match i % 4 {
                0 => format!("GET /api/v1/items/{i} 200 {}ms", i * 7 % 97),
                1 => format!("level=warn took {i}ms user=u{}", 100 + i),
                2 => format!(
                    "2026-01-01 00:{:02}:{:02},000 INFO block blk_{} size {}",
                    i / 60,
                    i % 60,
                    9000 + i,
                    i * 31
                ),
                _ => format!("holds \u{11} the placeholder {i}"),
            };
            (r#"{job="x"}"#.to_string(), ts, line, Vec::new())
        })
        .collect()
}

/// Reads `part` whole and with needles in variables, against `want`.
fn check_reads(part: &Part, want: &[Row]) {
    let tenant = TenantId::new("a").expect("tenant");
    let all = |_: &Labels| true;
    let read = |needles: &[String]| {
        let mut got = Vec::new();
        let mut emit = |labels: &Arc<Labels>, e: &Entry| {
            got.push((labels.to_string(), e.ts, e.line.clone(), e.fields.clone()));
            true
        };
        let req = ScanRequest {
            needles,
            ..ScanRequest::everything(&tenant, &all)
        };
        part.scan(&req, &mut ScanStats::default(), &mut emit)
            .expect("scans");
        got
    };
    assert_eq!(read(&[]), want);
    for needle in ["u117", "blk_9042", "placeholder 59", "ms user", "1ms"] {
        let expect: Vec<Row> = want
            .iter()
            .filter(|r| r.2.contains(needle))
            .cloned()
            .collect();
        assert!(!expect.is_empty(), "{needle}");
        assert_eq!(read(&[needle.to_string()]), expect, "{needle}");
    }
}

fn meta_of(path: &Path, rows: &[Row]) -> PartMeta {
    PartMeta {
        id: 1,
        tenant: "a".into(),
        day: "2026-01-01".into(),
        rows: rows.len() as u64,
        min_ts: rows[0].1,
        max_ts: rows[rows.len() - 1].1,
        size_bytes: std::fs::metadata(path).expect("part").len(),
    }
}

#[test]
fn parts_of_format_7_read_whole() {
    // Variables in row order.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/format7.parquet");
    let want = format7_rows();
    let part = Part::open(&path, meta_of(&path, &want)).expect("a format 7 part opens");
    check_reads(&part, &want);
}

#[test]
fn parts_of_this_format_read_whole() {
    // The same rows as the format 7 fixture, variables grouped by skeleton.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("part.parquet");
    let want = format7_rows();
    let labels = Arc::new(Labels::parse(r#"{job="x"}"#).expect("labels"));
    let entries: Vec<Entry> = want
        .iter()
        .map(|(_, ts, line, _)| Entry::new(*ts, line.clone()))
        .collect();
    super::write_part(
        &path,
        vec![(labels, entries.iter().collect())],
        crate::config::LineEncoding::Templates,
    )
    .expect("writes");
    let part = Part::open(&path, meta_of(&path, &want)).expect("opens");
    check_reads(&part, &want);
}

#[test]
fn pattern_ids_read_back_with_and_without_lines() {
    // Over two blocks, a skeleton's ids differ from its first row's (which
    // has none), and a line stored whole has an id of its own.
    let rows = crate::limits::BLOCK_ROWS as i64 + 500;
    let entries: Vec<Entry> = (0..rows)
        .map(|i| {
            let (line, id) = match i % 3 {
                0 => (format!("took {i}ms"), if i == 0 { 0 } else { 7 }),
                1 => (format!("user u{i} left"), if i % 100 == 1 { 11 } else { 9 }),
                _ => (format!("holds \u{11} the placeholder {i}"), 5),
            };
            let mut e = Entry::new(1_000 + i, line);
            e.pattern_id = id;
            e
        })
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("part.parquet");
    let labels = Arc::new(Labels::parse(r#"{job="x"}"#).expect("labels"));
    super::write_part(
        &path,
        vec![(labels, entries.iter().collect())],
        crate::config::LineEncoding::Templates,
    )
    .expect("writes");
    let want: Vec<(i64, u64)> = entries.iter().map(|e| (e.ts, e.pattern_id)).collect();
    let meta = PartMeta {
        id: 1,
        tenant: "a".into(),
        day: "1970-01-01".into(),
        rows: rows as u64,
        min_ts: 1_000,
        max_ts: 1_000 + rows - 1,
        size_bytes: std::fs::metadata(&path).expect("part").len(),
    };
    let part = Part::open(&path, meta).expect("opens");
    let tenant = TenantId::new("a").expect("tenant");
    let all = |_: &Labels| true;
    for line in [true, false] {
        let mut got = Vec::new();
        let mut emit = |_: &Arc<Labels>, e: &Entry| {
            got.push((e.ts, e.pattern_id));
            true
        };
        let mut req = ScanRequest::everything(&tenant, &all);
        req.columns.line = line;
        part.scan(&req, &mut ScanStats::default(), &mut emit)
            .expect("scans");
        assert_eq!(got, want, "line read: {line}");
    }
}
