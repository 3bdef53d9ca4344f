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
