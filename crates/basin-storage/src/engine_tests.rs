use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::{Columns, LineEncoding, RunTimes};
use basin_model::{Entry, Labels, PushBatch, StreamBatch, TenantId};

use super::*;

const DAY_NS: i64 = 86_400 * 1_000_000_000;

fn cfg(dir: &Path) -> StorageConfig {
    let mut cfg = StorageConfig::new(dir);
    cfg.wal_sync = false;
    cfg.flush_interval = Duration::from_secs(3600);
    cfg.merge_interval = Duration::from_secs(3600);
    cfg
}

pub(crate) fn batch(tenant: &str, labels: &str, entries: Vec<Entry>) -> PushBatch {
    PushBatch {
        tenant: TenantId::new(tenant).unwrap(),
        streams: vec![StreamBatch {
            labels: Labels::parse(labels).unwrap(),
            entries,
        }],
    }
}

/// Scans every entry of a tenant (with `needles`), returning the stats.
fn scan_all(
    storage: &Storage,
    tenant: &str,
    needles: &[String],
    mut each: impl FnMut(&Entry),
) -> ScanStats {
    let tenant = TenantId::new(tenant).unwrap();
    let all = |_: &Labels| true;
    let req = ScanRequest {
        tenant: &tenant,
        start: i64::MIN,
        end: i64::MAX,
        stream_filter: &all,
        needles,
        columns: Columns::all(),
    };
    storage
        .scan(&req, &mut |_, e| {
            each(e);
            true
        })
        .unwrap()
}

/// All lines of a tenant, sorted, with the stats of the scan.
fn lines_with(storage: &Storage, tenant: &str, needles: &[String]) -> (Vec<String>, ScanStats) {
    let mut out = Vec::new();
    let stats = scan_all(storage, tenant, needles, |e| out.push(e.line.clone()));
    out.sort();
    (out, stats)
}

pub(crate) fn lines(storage: &Storage, tenant: &str) -> Vec<String> {
    lines_with(storage, tenant, &[]).0
}

#[test]
fn appends_are_visible_then_survive_flush_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(cfg(dir.path())).unwrap();
    storage
        .append_blocking(batch(
            "a",
            r#"{job="x"}"#,
            vec![Entry::new(2, "two"), Entry::new(1, "one")],
        ))
        .unwrap();
    storage
        .append_blocking(batch("b", r#"{job="x"}"#, vec![Entry::new(1, "other")]))
        .unwrap();
    assert_eq!(lines(&storage, "a"), ["one", "two"]);
    storage.flush().unwrap();
    assert_eq!(lines(&storage, "a"), ["one", "two"]);
    assert_eq!(lines(&storage, "b"), ["other"]);
    assert_eq!(storage.parts().len(), 2);
    // The WAL no longer holds what the parts hold.
    assert_eq!(wal::list_segments(dir.path()).unwrap().len(), 1);
    storage
        .append_blocking(batch("a", r#"{job="x"}"#, vec![Entry::new(3, "three")]))
        .unwrap();
    drop(storage);

    // Reopen: parts from the manifest, the last append from the WAL.
    let storage = Storage::open(cfg(dir.path())).unwrap();
    assert_eq!(lines(&storage, "a"), ["one", "three", "two"]);
    storage.shutdown().unwrap();
    let storage = Storage::open(cfg(dir.path())).unwrap();
    assert_eq!(lines(&storage, "a"), ["one", "three", "two"]);
}

#[test]
fn queue_positions_survive_the_wal_and_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(cfg(dir.path())).unwrap();
    assert_eq!(storage.queue_position(), 0);
    let at = |n: i64, p: u64| (batch("a", r#"{job="q"}"#, vec![Entry::new(n, "q")]), p);
    futures::executor::block_on(storage.append_at(vec![at(1, 7), at(2, 8)])).unwrap();
    // Plain appends leave the position alone.
    storage
        .append_blocking(batch("a", r#"{job="x"}"#, vec![Entry::new(3, "x")]))
        .unwrap();
    assert_eq!(storage.queue_position(), 8);
    drop(storage);

    // From the WAL's records.
    let storage = Storage::open(cfg(dir.path())).unwrap();
    assert_eq!(storage.queue_position(), 8);
    assert_eq!(lines(&storage, "a"), ["q", "q", "x"]);
    storage.flush().unwrap();
    futures::executor::block_on(storage.append_at(vec![at(4, 9)])).unwrap();
    storage.flush().unwrap();
    assert_eq!(wal::list_segments(dir.path()).unwrap().len(), 1);
    drop(storage);

    // From the manifest, once the WAL segments holding them are gone.
    let storage = Storage::open(cfg(dir.path())).unwrap();
    assert_eq!(storage.queue_position(), 9);
    assert_eq!(lines(&storage, "a").len(), 4);
}

#[test]
fn parts_split_by_day_and_keep_fields() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(cfg(dir.path())).unwrap();
    let mut with_fields = Entry::new(DAY_NS + 5, "day two");
    with_fields.fields = vec![
        ("trace_id".into(), "abc".into()),
        ("__private".into(), "p".into()),
    ];
    storage
        .append_blocking(batch(
            "a",
            r#"{job="x"}"#,
            vec![Entry::new(5, "day one"), with_fields.clone()],
        ))
        .unwrap();
    storage.flush().unwrap();
    let days: Vec<String> = storage.parts().iter().map(|p| p.day.clone()).collect();
    assert_eq!(days.len(), 2);
    assert!(days.contains(&"1970-01-02".to_string()));
    let tenant = TenantId::new("a").unwrap();
    let all = |_: &Labels| true;
    let mut got = Vec::new();
    storage
        .scan(
            &ScanRequest {
                tenant: &tenant,
                start: DAY_NS,
                end: 2 * DAY_NS,
                stream_filter: &all,
                needles: &[],
                columns: Columns::all(),
            },
            &mut |_, e| {
                got.push(e.clone());
                true
            },
        )
        .unwrap();
    let mut want = with_fields;
    want.fields.sort();
    got[0].fields.sort();
    assert_eq!(got, [want]);
}

#[test]
fn token_filter_prunes_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(cfg(dir.path())).unwrap();
    let entries = (0..3 * crate::limits::BLOCK_ROWS as i64)
        .map(|i| Entry::new(i, format!("request {i} by u{i} ok")))
        .collect();
    storage
        .append_blocking(batch("a", r#"{job="x"}"#, entries))
        .unwrap();
    storage.flush().unwrap();
    let (got, stats) = lines_with(&storage, "a", &[" u100 ".to_string()]);
    assert_eq!(got, ["request 100 by u100 ok"]);
    assert_eq!(stats.blocks_total, 3);
    assert_eq!(stats.blocks_read, 1);
    assert_eq!(stats.blocks_pruned_by_tokens, 2);
    // A bare token may sit inside a longer one: only its trigrams prune
    // (`u10` is in no line of the last block, u16384 to u24575).
    let (_, stats) = lines_with(&storage, "a", &["u100".to_string()]);
    assert_eq!(stats.blocks_read, 2);
    // Tokens of hex digits alone are not recorded (they were most of a
    // filter's bits): even bounded, such a needle reads every block.
    let (got, stats) = lines_with(&storage, "a", &[" 100 ".to_string()]);
    assert_eq!(got, ["request 100 by u100 ok"]);
    assert_eq!(stats.blocks_read, 3);
}

#[test]
fn trigrams_prune_blocks_for_needles_inside_words() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(cfg(dir.path())).unwrap();
    let rows = 3 * crate::limits::BLOCK_ROWS as i64;
    let entries = (0..rows)
        .map(|i| match i {
            10_000 => Entry::new(i, "upload id=xneedlez7f3a9c done"),
            _ => Entry::new(i, format!("upload id={i:x} done")),
        })
        .collect();
    storage
        .append_blocking(batch("a", r#"{job="x"}"#, entries))
        .unwrap();
    storage.flush().unwrap();
    // Unbounded on both sides: only the trigrams can rule blocks out.
    let (got, stats) = lines_with(&storage, "a", &["needlez7f".to_string()]);
    assert!(got.contains(&"upload id=xneedlez7f3a9c done".to_string()));
    assert_eq!(stats.blocks_read, 1);
    assert_eq!(stats.blocks_pruned_by_tokens, 2);
    // A needle of hex digits only has no trigram worth indexing.
    let (_, stats) = lines_with(&storage, "a", &["3a9c".to_string()]);
    assert_eq!(stats.blocks_read, 3);
}

#[test]
fn merges_keep_every_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(cfg(dir.path())).unwrap();
    let mut want = Vec::new();
    for round in 0..crate::limits::MERGE_MIN_PARTS {
        let line = format!("round {round}");
        want.push(line.clone());
        storage
            .append_blocking(batch(
                "a",
                r#"{job="x"}"#,
                vec![Entry::new(round as i64, line)],
            ))
            .unwrap();
        storage.flush().unwrap();
    }
    assert_eq!(storage.parts().len(), crate::limits::MERGE_MIN_PARTS);
    storage.compact().unwrap();
    assert_eq!(storage.parts().len(), 1);
    assert_eq!(lines(&storage, "a"), want);
    drop(storage);
    let storage = Storage::open(cfg(dir.path())).unwrap();
    assert_eq!(lines(&storage, "a"), want);
    // Only the merged part is left on disk.
    let files = std::fs::read_dir(dir.path().join("parts/a/1970-01-01"))
        .unwrap()
        .count();
    assert_eq!(files, 1);
}

#[test]
fn purges_remove_picked_entries_from_parts_and_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(cfg(dir.path())).unwrap();
    let entries = |job: &str| {
        (0..10)
            .map(|i| Entry::new(i * 1_000, format!("{job} line {i}")))
            .collect::<Vec<_>>()
    };
    storage
        .append_blocking(batch("a", r#"{job="x"}"#, entries("x")))
        .unwrap();
    storage.flush().unwrap();
    storage
        .append_blocking(batch("a", r#"{job="y"}"#, entries("y")))
        .unwrap();
    storage
        .append_blocking(batch("b", r#"{job="x"}"#, entries("x")))
        .unwrap();
    storage.flush().unwrap();
    // Still in the head when the purge starts: flushed first.
    storage
        .append_blocking(batch(
            "a",
            r#"{job="x"}"#,
            vec![Entry::new(5_500, "x late")],
        ))
        .unwrap();
    let is_x = |labels: &Labels, _: &Entry| labels.get("job") == Some("x");
    let removed = storage
        .purge(&TenantId::new("a").unwrap(), (3_000, 6_000), &is_x)
        .unwrap();
    assert_eq!(removed, 5);
    let left = lines(&storage, "a");
    assert_eq!(left.len(), 16);
    assert!(!left.iter().any(|l| l == "x line 4" || l == "x late"));
    assert!(left.iter().any(|l| l == "x line 2") && left.iter().any(|l| l == "y line 4"));
    assert_eq!(lines(&storage, "b").len(), 10, "other tenants untouched");
    // Everything of a part picked: the part goes.
    let all = |_: &Labels, _: &Entry| true;
    storage
        .purge(&TenantId::new("a").unwrap(), (i64::MIN, i64::MAX), &all)
        .unwrap();
    assert!(lines(&storage, "a").is_empty());
    assert!(storage.parts().iter().all(|p| p.tenant == "b"));
    drop(storage);
    let storage = Storage::open(cfg(dir.path())).unwrap();
    assert!(lines(&storage, "a").is_empty());
    assert_eq!(lines(&storage, "b").len(), 10);
}

#[test]
fn damaged_parts_are_quarantined_at_open_and_the_rest_reads() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(cfg(dir.path())).unwrap();
    storage
        .append_blocking(batch("a", r#"{job="x"}"#, vec![Entry::new(1, "kept line")]))
        .unwrap();
    storage.flush().unwrap();
    storage
        .append_blocking(batch(
            "a",
            r#"{job="x"}"#,
            vec![Entry::new(DAY_NS, "damaged line")],
        ))
        .unwrap();
    storage.flush().unwrap();
    let damaged = storage
        .parts()
        .into_iter()
        .find(|p| p.min_ts == DAY_NS)
        .unwrap();
    assert_eq!(storage.quarantined_parts(), 0);
    drop(storage);
    // A torn write: the file loses its second half (and its footer).
    let path = damaged.path(dir.path());
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();

    let storage = Storage::open(cfg(dir.path())).unwrap();
    assert_eq!(storage.quarantined_parts(), 1);
    assert_eq!(lines(&storage, "a"), vec!["kept line".to_string()]);
    assert!(!path.exists());
    let kept = dir
        .path()
        .join(crate::filenames::QUARANTINE_DIR)
        .join("a")
        .join(&damaged.day)
        .join(format!("{}.parquet", damaged.id));
    assert_eq!(
        std::fs::read(&kept).unwrap().len(),
        bytes.len() / 2,
        "kept, not deleted"
    );
    assert!(storage.parts().iter().all(|p| p.id != damaged.id));
    drop(storage);
    // Reopening again finds nothing more to quarantine.
    let storage = Storage::open(cfg(dir.path())).unwrap();
    assert_eq!(storage.quarantined_parts(), 0);
    assert_eq!(lines(&storage, "a"), vec!["kept line".to_string()]);
}

#[test]
fn retention_drops_old_parts_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = cfg(dir.path());
    config.retention_period = Some(Duration::from_secs(3600));
    let storage = Storage::open(config).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    storage
        .append_blocking(batch(
            "a",
            r#"{job="x"}"#,
            vec![Entry::new(now - 3 * DAY_NS, "old"), Entry::new(now, "new")],
        ))
        .unwrap();
    storage.flush().unwrap();
    storage.compact().unwrap();
    assert_eq!(lines(&storage, "a"), ["new"]);
    assert_eq!(storage.parts().len(), 1);
}

#[test]
fn parallel_scan_sees_what_the_plain_scan_sees() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(cfg(dir.path())).unwrap();
    let rows = 5 * crate::limits::BLOCK_ROWS as i64;
    for part in 0..3 {
        let entries = (0..rows)
            .map(|i| Entry::new(part * rows + i, format!("line {part} {i}")))
            .collect();
        storage
            .append_blocking(batch("a", &format!("{{job=\"j{part}\"}}"), entries))
            .unwrap();
        storage.flush().unwrap();
    }
    storage
        .append_blocking(batch(
            "a",
            r#"{job="head"}"#,
            vec![Entry::new(1, "in the head")],
        ))
        .unwrap();
    let tenant = TenantId::new("a").unwrap();
    let all = |_: &Labels| true;
    let req = ScanRequest::everything(&tenant, &all);
    let (sinks, stats) = storage
        .scan_parallel(&req, &|| 0u64, &|n: &mut u64, _, _| {
            *n += 1;
            true
        })
        .unwrap();
    assert!(sinks.len() > 1, "no parallel workers");
    assert_eq!(sinks.iter().sum::<u64>(), 3 * rows as u64 + 1);
    assert_eq!(stats.blocks_read, 15);
    let (_, plain) = lines_with(&storage, "a", &[]);
    assert_eq!(plain.rows_read, stats.rows_read, "{plain:?} {stats:?}");
}

/// Every (line, pattern id) of a tenant, sorted.
fn patterns(storage: &Storage, tenant: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    scan_all(storage, tenant, &[], |e| {
        out.push((e.line.clone(), e.pattern_id))
    });
    out.sort();
    out
}

#[test]
fn pattern_ids_survive_the_wal_parts_and_merges() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(cfg(dir.path())).unwrap();
    let mut want = Vec::new();
    for round in 0..crate::limits::MERGE_MIN_PARTS as u64 {
        let mut e = Entry::new(round as i64, format!("round {round}"));
        e.pattern_id = 100 + round;
        want.push((e.line.clone(), e.pattern_id));
        storage
            .append_blocking(batch("a", r#"{job="x"}"#, vec![e]))
            .unwrap();
        if round > 0 {
            storage.flush().unwrap();
        }
    }
    want.sort();
    assert_eq!(patterns(&storage, "a"), want, "head and parts");
    drop(storage);
    let storage = Storage::open(cfg(dir.path())).unwrap();
    assert_eq!(patterns(&storage, "a"), want, "after WAL replay");
    storage.flush().unwrap();
    storage.compact().unwrap();
    assert_eq!(patterns(&storage, "a"), want, "after the merge");
}

/// Lines every encoding must give back byte for byte: templated ones, ones
/// stored whole (the placeholder byte, too many variables), and edge cases.
fn awkward_lines() -> Vec<String> {
    let mut lines: Vec<String> = vec![
        r#"{"ts":"2026-01-01T00:00:00.086Z","level":"info","trace_id":"40d6824e2ef3fc17"}"#.into(),
        "2026-01-01 00:00:12,355 ERROR boom (user=u44386)\n\tat a.B.c(B.java:364)\n\tat a.B.d(B.java:92)".into(),
        "no digits at all".into(),
        String::new(),
        "ünïcode 12ä ends with 7".into(),
        "holds \u{11} the placeholder 42".into(),
        "  leading and trailing spaces 9  ".into(),
    ];
    lines.push(
        (0..200)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(","),
    );
    for i in 0..3000 {
        lines.push(format!("GET /api/v1/items/{i} 200 {}ms", i % 97));
    }
    lines
}

/// Writes `lines` to tenant `a`, stream `{job="x"}`, at times 1, 2, ...,
/// and flushes them to a part.
fn store_lines(storage: &Storage, lines: &[String]) {
    append_lines(storage, r#"{job="x"}"#, lines);
    storage.flush().unwrap();
}

/// Appends `lines` to tenant `a`, stream `stream`, at times 1, 2, ...
fn append_lines(storage: &Storage, stream: &str, lines: &[String]) {
    let entries = lines
        .iter()
        .enumerate()
        .map(|(i, l)| Entry::new(i as i64 + 1, l.as_str()))
        .collect();
    storage
        .append_blocking(batch("a", stream, entries))
        .unwrap();
}

#[test]
fn both_line_encodings_give_lines_back_whole() {
    for encoding in [LineEncoding::Templates, LineEncoding::Plain] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = cfg(dir.path());
        config.line_encoding = encoding;
        let storage = Storage::open(config).unwrap();
        let lines = awkward_lines();
        store_lines(&storage, &lines);
        assert_eq!(storage.parts().len(), 1, "{encoding:?}");
        let mut want = lines.clone();
        want.sort();
        assert_eq!(lines_with(&storage, "a", &[]).0, want, "{encoding:?}");
        // Merged parts are written again: still whole.
        storage.shutdown().unwrap();
        let storage = Storage::open(cfg(dir.path())).unwrap();
        assert_eq!(
            lines_with(&storage, "a", &[]).0,
            want,
            "{encoding:?} reopened"
        );
    }
}

/// Run times where every time lies in the same windows: runs may arrive
/// counted, their times not read.
fn one_window() -> RunTimes<'static> {
    RunTimes {
        minute_counts: false,
        same_windows: &|_, _| true,
    }
}

/// A request for the runs of every stream of `tenant` holding `needles`,
/// as counts read them (no lines, no fields).
fn counting_request<'a>(
    tenant: &'a TenantId,
    all: &'a (dyn Fn(&Labels) -> bool + Sync),
    needles: &'a [String],
) -> ScanRequest<'a> {
    ScanRequest {
        needles,
        columns: Columns {
            line: false,
            fields: Some(Vec::new()),
        },
        ..ScanRequest::everything(tenant, all)
    }
}

/// Rows of tenant `a` holding `needle`, counted by runs read with `times`.
fn count_runs_with(storage: &Storage, needle: &str, times: RunTimes<'_>) -> usize {
    let tenant = TenantId::new("a").unwrap();
    let all = |_: &Labels| true;
    let needles = [needle.to_string()];
    let req = counting_request(&tenant, &all, &needles);
    let (sinks, _) = storage
        .scan_runs_parallel(&req, times, &|| 0usize, &|n, _, _, ts, weights| {
            *n += weights.map_or(ts.len(), |w| w.iter().map(|&w| w as usize).sum());
            true
        })
        .unwrap();
    sinks.iter().sum()
}

#[test]
fn runs_with_needles_count_exactly_what_lines_hold() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(cfg(dir.path())).unwrap();
    let mut lines = awkward_lines();
    lines.extend((0..500).map(|i| format!("level=error id={i} xerror{i} took {}ms", i % 7)));
    // Values that hold a needle only across two rows' values of a column
    // (`14` then `2z` is `142z`), or just after such a place (`7` then `77`).
    lines.extend((0..40).map(|i| ["p 14 q", "p 2z q", "r 7 s", "r 77 s"][i % 4].to_string()));
    let entries = |from: usize, lines: &[String]| {
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| Entry::new((from + i) as i64 + 1, l.as_str()))
            .collect()
    };
    storage
        .append_blocking(batch("a", r#"{job="x"}"#, entries(0, &lines)))
        .unwrap();
    storage.flush().unwrap();
    // The same lines again in the head.
    storage
        .append_blocking(batch("a", r#"{job="x"}"#, entries(lines.len(), &lines)))
        .unwrap();
    for needle in [
        "error", "xerror4", "42", "id=4", "items/1", "\u{11}", "ünï", "7f", "ms", "zzz", "", "77",
        "2z",
    ] {
        let want = 2 * lines.iter().filter(|l| l.contains(needle)).count();
        // Times one by one, and runs counted where every time lies in the
        // same windows (times not read).
        for times in [RunTimes::exact(), one_window()] {
            assert_eq!(
                count_runs_with(&storage, needle, times),
                want,
                "needle {needle:?}"
            );
        }
    }
}

#[test]
fn runs_over_blocks_whose_variables_differ_count_exactly() {
    // Only the third block's variables hold `err`: reads split where the
    // columns a needle may be in change, and each part still counts right.
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(cfg(dir.path())).unwrap();
    let rows = 5 * crate::limits::BLOCK_ROWS + 100;
    let lines: Vec<String> = (0..rows)
        .map(|i| match i % 3 {
            0 => format!("took {i}ms by u{}", i % 50),
            1 if i / crate::limits::BLOCK_ROWS == 2 => format!("job err{i}x done"),
            1 => format!("job j{i} done"),
            _ => format!("level=error code={}", i % 9),
        })
        .collect();
    store_lines(&storage, &lines);
    for needle in [
        "err1", "err", "error", "u7", "done", "j1", "code", "rr2", "x",
    ] {
        let want = lines.iter().filter(|l| l.contains(needle)).count();
        for times in [RunTimes::exact(), one_window()] {
            assert_eq!(
                count_runs_with(&storage, needle, times),
                want,
                "needle {needle:?}"
            );
        }
    }
}

#[test]
fn counts_of_needles_per_stream_come_from_skeleton_runs() {
    // Three streams whose lines hold `error` in a skeleton, in a variable
    // (`x12error`), or not at all, over more than one block.
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(cfg(dir.path())).unwrap();
    let streams = [r#"{job="a"}"#, r#"{job="b"}"#, r#"{job="c"}"#];
    let rows = crate::limits::BLOCK_ROWS + 700;
    let mut all_lines: Vec<(usize, String)> = Vec::new();
    for (s, stream) in streams.iter().enumerate() {
        let lines: Vec<String> = (0..rows)
            .map(|i| match (i + s) % 4 {
                0 => format!("level=error code={} in {}ms", i % 9, i % 300),
                1 => format!("user u{} said x{}error", i % 40, i % (7 + s)),
                2 if s == 1 => format!("user u{} said x{}", i % 40, i % 11),
                _ => format!("all fine after {} tries", i % 5),
            })
            .collect();
        append_lines(&storage, stream, &lines);
        all_lines.extend(lines.into_iter().map(|l| (s, l)));
    }
    storage.flush().unwrap();
    let tenant = TenantId::new("a").unwrap();
    let all = |_: &Labels| true;
    for needles in [
        vec!["error"],
        vec!["fine"],
        vec!["said", "error"],
        vec!["u7 ", "x3error"],
        vec!["x2"],
        vec!["zzz"],
    ] {
        let needles: Vec<String> = needles.iter().map(|n| n.to_string()).collect();
        let req = counting_request(&tenant, &all, &needles);
        let (sinks, stats) = storage
            .scan_runs_parallel(
                &req,
                one_window(),
                &HashMap::<String, usize>::new,
                &|seen, labels, _, ts, weights| {
                    *seen.entry(labels.to_string()).or_default() +=
                        weights.map_or(ts.len(), |w| w.iter().map(|&w| w as usize).sum());
                    true
                },
            )
            .unwrap();
        let mut got: HashMap<String, usize> = HashMap::new();
        for sink in sinks {
            for (k, n) in sink {
                *got.entry(k).or_default() += n;
            }
        }
        let mut want: HashMap<String, usize> = HashMap::new();
        for (s, line) in &all_lines {
            if needles.iter().all(|n| line.contains(n.as_str())) {
                let key = Labels::parse(streams[*s]).unwrap().to_string();
                *want.entry(key).or_default() += 1;
            }
        }
        assert_eq!(got, want, "needles {needles:?}");
        // Skeletons alone decide `fine`: no block is decoded.
        if needles == ["fine"] {
            assert!(stats.blocks_counted >= 2, "{stats:?}");
            assert_eq!((stats.blocks_read, stats.rows_read), (0, 0), "{stats:?}");
        }
    }
}

#[test]
fn counted_runs_leave_out_rows_outside_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(cfg(dir.path())).unwrap();
    let entries: Vec<Entry> = (1..=100)
        .map(|i| Entry::new(i, format!("level=error n={i}")))
        .collect();
    storage
        .append_blocking(batch("a", r#"{job="x"}"#, entries))
        .unwrap();
    storage.flush().unwrap();
    let tenant = TenantId::new("a").unwrap();
    let all = |_: &Labels| true;
    let needles = ["error".to_string()];
    let req = ScanRequest {
        start: 11,
        end: 51,
        ..counting_request(&tenant, &all, &needles)
    };
    // The part's block spans 1..=100: it must be read time by time.
    let (sinks, _) = storage
        .scan_runs_parallel(&req, one_window(), &|| Vec::new(), &|seen, _, _, ts, w| {
            assert!(w.is_none(), "a run counted across the request's edge");
            seen.extend_from_slice(ts);
            true
        })
        .unwrap();
    let mut seen: Vec<i64> = sinks.concat();
    seen.sort();
    assert_eq!(seen, (11..=50).collect::<Vec<i64>>());
}

#[test]
fn lines_showing_their_own_time_read_and_count_whole() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(cfg(dir.path())).unwrap();
    // Times across a month edge, with sub-millisecond parts the lines cut.
    let formats = [
        r#"{"ts":"%Y-%m-%dT%H:%M:%S%.3fZ","level":"info","n":N}"#,
        "%Y-%m-%d %H:%M:%S,%3f ERROR [main] failed N",
        r#"10.0.0.1 - - [%d/%b/%Y:%H:%M:%S +0000] "GET /a/N HTTP/1.1" 200 5"#,
        "<14>%b %e %H:%M:%S host app[N]: hello",
        "at %Y-%m-%dT%H:%M:%SZ done N",
    ];
    let base: i64 = 1_769_817_000_000_000_000; // 2026-01-30T23:50:00Z
    let entries: Vec<Entry> = (0..600)
        .map(|i: i64| {
            let ts = base + i * 4_321_987_654;
            let at = chrono::DateTime::from_timestamp_nanos(ts);
            let format = formats[i as usize % formats.len()];
            // Every seventh line shows a time a second off: kept as variables.
            let shown = if i % 7 == 0 {
                at + chrono::Duration::seconds(1)
            } else {
                at
            };
            let line = shown
                .format(format)
                .to_string()
                .replace('N', &i.to_string());
            Entry::new(ts, line)
        })
        .collect();
    let mut want: Vec<String> = entries.iter().map(|e| e.line.clone()).collect();
    want.sort();
    storage
        .append_blocking(batch("a", r#"{job="x"}"#, entries.clone()))
        .unwrap();
    storage.flush().unwrap();
    assert_eq!(lines(&storage, "a"), want);
    // Each layout's lines went to a marked skeleton.
    let parts = storage
        .inner
        .state
        .read()
        .unwrap()
        .tenant_parts(&TenantId::new("a").unwrap());
    let skeletons: Vec<String> = parts.iter().flat_map(|p| p.skeletons()).collect();
    for code in 0x13..=0x1a_u8 {
        let used = skeletons
            .iter()
            .any(|s| s.contains(&format!("\u{12}{}", char::from(code))));
        // Layouts 0x14, 0x15 (micro and nanoseconds) and 0x18 (a dot before
        // the milliseconds) are not among these lines.
        assert_eq!(
            used,
            ![0x14, 0x15, 0x18].contains(&code),
            "layout {code:#x}"
        );
    }
    for needle in [
        "2026",
        "Jan",
        "Feb",
        "1T0",
        "00Z",
        "error",
        "ERROR",
        "info",
        ":5",
        "/Jan/2026:",
        "hello",
        "4",
    ] {
        let needles = [needle.to_string()];
        let want = entries.iter().filter(|e| e.line.contains(needle)).count();
        // Scans leave out the rows lacking a needle.
        let (got, _) = lines_with(&storage, "a", &needles);
        assert!(got.iter().all(|l| l.contains(needle)), "{needle:?}");
        assert_eq!(got.len(), want, "lines with {needle:?}");
        for times in [RunTimes::exact(), one_window()] {
            assert_eq!(
                count_runs_with(&storage, needle, times),
                want,
                "count of {needle:?}"
            );
        }
    }
}

/// A store whose parts also go to `bucket`, caching ranges under `cache`.
fn cfg_with_bucket(
    dir: &Path,
    cache: &Path,
    bucket: &Arc<object_store::memory::InMemory>,
) -> StorageConfig {
    let mut cfg = cfg(dir);
    let remote =
        crate::remote::Remote::with_store(bucket.clone(), "basin", cache, 1 << 20).unwrap();
    cfg.remote = Some(Arc::new(remote));
    cfg
}

#[test]
fn a_store_on_an_empty_disk_reads_its_parts_from_the_bucket() {
    let bucket = Arc::new(object_store::memory::InMemory::new());
    let first = tempfile::tempdir().unwrap();
    let mut want = Vec::new();
    {
        let storage = Storage::open(cfg_with_bucket(
            first.path(),
            &first.path().join("cache"),
            &bucket,
        ))
        .unwrap();
        for round in 0..crate::limits::MERGE_MIN_PARTS {
            let line = format!("round {round} needle{round}");
            want.push(line.clone());
            storage
                .append_blocking(batch(
                    "a",
                    r#"{job="x"}"#,
                    vec![Entry::new(round as i64, line)],
                ))
                .unwrap();
            storage.flush().unwrap();
        }
        // Merged: the sources leave the bucket, the merged part goes in.
        storage.compact().unwrap();
        assert_eq!(storage.parts().len(), 1);
    }
    // Another node, nothing on its disk but what it reads from the bucket.
    let second = tempfile::tempdir().unwrap();
    let cfg = cfg_with_bucket(
        &second.path().join("data"),
        &second.path().join("cache"),
        &bucket,
    );
    let remote = cfg.remote.clone().unwrap();
    let storage = Storage::open(cfg).unwrap();
    assert_eq!(lines(&storage, "a"), want);
    let (found, _) = lines_with(&storage, "a", &["needle3".to_string()]);
    assert_eq!(found, ["round 3 needle3"]);
    assert!(
        remote
            .stats()
            .get_requests
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
    assert!(
        !second.path().join("data/parts/a").exists(),
        "parts are read from the bucket, not downloaded whole"
    );
    // The bucket holds the manifest and exactly the merged part.
    let objects: Vec<String> = futures_list(&bucket);
    assert_eq!(
        objects.iter().filter(|k| k.ends_with(".parquet")).count(),
        1,
        "{objects:?}"
    );
    assert!(
        objects.iter().any(|k| k == "basin/manifest.json"),
        "{objects:?}"
    );
}

/// Every key in the in-memory bucket.
fn futures_list(bucket: &object_store::memory::InMemory) -> Vec<String> {
    use object_store::ObjectStore;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        use futures::StreamExt;
        bucket
            .list(None)
            .map(|m| m.unwrap().location.to_string())
            .collect()
            .await
    })
}

#[test]
fn a_compactors_rewrite_is_adopted_once_and_only_with_reserved_ids() {
    let bucket = Arc::new(object_store::memory::InMemory::new());
    let dir = tempfile::tempdir().unwrap();
    let cfg = cfg_with_bucket(&dir.path().join("data"), &dir.path().join("cache"), &bucket);
    let remote = cfg.remote.clone().unwrap();
    let storage = Storage::open(cfg).unwrap();
    let mut want = Vec::new();
    for round in 0..3 {
        let line = format!("round {round} took {round}ms");
        want.push(line.clone());
        storage
            .append_blocking(batch("a", r#"{job="x"}"#, vec![Entry::new(round, line)]))
            .unwrap();
        storage.flush().unwrap();
    }
    let sources: Vec<crate::PartMeta> = storage.parts();
    assert_eq!(sources.len(), 3);
    let [id] = storage.reserve_part_ids(1).unwrap()[..] else {
        panic!("one id");
    };
    assert!(sources.iter().all(|p| p.id < id));
    // Reserved ids are published: a restart hands out later ones.
    drop(storage);
    let cfg = cfg_with_bucket(&dir.path().join("data"), &dir.path().join("cache"), &bucket);
    let storage = Storage::open(cfg).unwrap();
    assert!(storage.reserve_part_ids(2).unwrap().iter().all(|&i| i > id));
    assert!(storage.reserve_part_ids(0).is_err());

    // What a compactor does: one part of all three, put in the bucket.
    let elsewhere = tempfile::tempdir().unwrap();
    let labels = Arc::new(Labels::parse(r#"{job="x"}"#).unwrap());
    let entries: Vec<Entry> = (0..3)
        .map(|r| Entry::new(r as i64, want[r].clone()))
        .collect();
    let path = elsewhere.path().join("merged.parquet");
    let w = crate::part::write_part(
        &path,
        vec![(labels, entries.iter().collect())],
        LineEncoding::Templates,
    )
    .unwrap();
    let meta = crate::PartMeta {
        id,
        tenant: "a".into(),
        day: sources[0].day.clone(),
        rows: w.rows,
        min_ts: w.min_ts,
        max_ts: w.max_ts,
        size_bytes: w.size_bytes,
    };
    remote.upload_part(&meta, &path).unwrap();
    let replaced: Vec<u64> = sources.iter().map(|p| p.id).collect();
    // An id this store never reserved is refused.
    let stray = crate::PartMeta {
        id: id + 1000,
        ..meta.clone()
    };
    assert!(storage.adopt_rewrite("a", &replaced, Some(stray)).is_err());
    // A reserved id whose part the bucket lacks is refused too.
    let missing = crate::PartMeta {
        id: storage.reserve_part_ids(1).unwrap()[0],
        ..meta.clone()
    };
    assert!(storage
        .adopt_rewrite("a", &replaced, Some(missing))
        .is_err());
    assert_eq!(storage.parts(), sources);
    assert!(storage
        .adopt_rewrite("a", &replaced, Some(meta.clone()))
        .unwrap());
    assert_eq!(storage.parts(), std::slice::from_ref(&meta));
    assert_eq!(lines(&storage, "a"), want, "each line once");
    // The sources are gone: the same rewrite again changes nothing.
    assert!(!storage
        .adopt_rewrite("a", &replaced, Some(meta.clone()))
        .unwrap());
    assert_eq!(lines(&storage, "a"), want);
    // Everything expired: the part leaves with nothing in its place.
    assert!(storage.adopt_rewrite("a", &[id], None).unwrap());
    assert!(storage.parts().is_empty() && lines(&storage, "a").is_empty());
}

#[test]
fn a_compactor_merges_what_the_plan_says_from_the_bucket_alone() {
    let bucket = Arc::new(object_store::memory::InMemory::new());
    let dir = tempfile::tempdir().unwrap();
    let cfg = cfg_with_bucket(&dir.path().join("data"), &dir.path().join("cache"), &bucket);
    let storage = Storage::open(cfg).unwrap();
    let mut want = Vec::new();
    for round in 0..crate::limits::MERGE_MIN_PARTS as i64 {
        let line = format!("round {round} user=u{round}");
        want.push(line.clone());
        let stream = format!(r#"{{job="x", round="{}"}}"#, round % 2);
        storage
            .append_blocking(batch("a", &stream, vec![Entry::new(round, line)]))
            .unwrap();
        storage.flush().unwrap();
    }
    let plan = crate::plan_merges(&storage.parts());
    assert_eq!(plan.len(), 1);
    assert_eq!(plan[0].len(), crate::limits::MERGE_MIN_PARTS);
    // The compactor's side: its own disk, the owner's prefix in the bucket.
    let elsewhere = tempfile::tempdir().unwrap();
    let theirs = Arc::new(
        crate::remote::Remote::with_store(
            bucket.clone(),
            "basin",
            &elsewhere.path().join("c"),
            1 << 20,
        )
        .unwrap(),
    );
    let id = storage.reserve_part_ids(1).unwrap()[0];
    let meta = crate::merge_in_bucket(
        &theirs,
        &plan[0],
        id,
        &elsewhere.path().join("scratch"),
        LineEncoding::Templates,
    )
    .unwrap();
    assert_eq!(meta.rows, want.len() as u64);
    let replaced: Vec<u64> = plan[0].iter().map(|p| p.id).collect();
    assert!(storage.adopt_rewrite("a", &replaced, Some(meta)).unwrap());
    assert_eq!(storage.parts().len(), 1);
    assert_eq!(lines(&storage, "a"), want);
    assert!(crate::plan_merges(&storage.parts()).is_empty());
}

#[test]
fn lines_with_needles_are_those_that_hold_them() {
    // Three blocks of alternating skeletons, needles in variables of a few
    // rows (read by their pages only) and in many; and a request that cuts
    // the first and last block.
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(cfg(dir.path())).unwrap();
    let mut lines = awkward_lines();
    lines.extend(
        (0..2 * crate::limits::BLOCK_ROWS + 500).map(|i| match i % 4 {
            0 => format!("took {i}ms by u{}", i % 50),
            1 if i % 997 == 0 => format!("job needle{i}x done in {} s", i % 13),
            1 => format!("job j{i} done in {} s", i % 13),
            2 => format!("level=error code={} path=/a/{}", i % 9, i % 31),
            _ => format!("GET /items/{i} 200 {}ms", i % 97),
        }),
    );
    store_lines(&storage, &lines);
    let tenant = TenantId::new("a").unwrap();
    let all = |_: &Labels| true;
    for (start, end) in [(i64::MIN, i64::MAX), (4000, 17_001)] {
        for needle in [
            "needle",
            "needle1994x",
            "ms by u4",
            "code=3 path",
            "items/1",
            "42",
            "zzz",
            "ünï",
            "",
        ] {
            let needles = [needle.to_string()];
            let req = ScanRequest {
                tenant: &tenant,
                start,
                end,
                stream_filter: &all,
                needles: &needles,
                columns: Columns::all(),
            };
            let mut got = Vec::new();
            storage
                .scan(&req, &mut |_, e| {
                    got.push((e.ts, e.line.clone()));
                    true
                })
                .unwrap();
            got.sort();
            let want: Vec<(i64, String)> = lines
                .iter()
                .enumerate()
                .map(|(i, l)| (i as i64 + 1, l.clone()))
                .filter(|(ts, l)| *ts >= start && *ts < end && l.contains(needle))
                .collect();
            assert_eq!(got, want, "needle {needle:?} in {start}..{end}");
        }
    }
}
