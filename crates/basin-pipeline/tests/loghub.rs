//! Timestamp and level extraction over the loghub 2k samples
//! (`../shared/datasets/loghub-2k`): each dataset's raw lines against the
//! header columns of its structured CSV. The shares are recorded in
//! docs/pipeline.md; the test fails if one drops below 95% or below its
//! recorded figure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use basin_model::level::level_from_text;
use basin_pipeline::level::find_level;
use basin_pipeline::timestamp::find_timestamp;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/loghub-2k")
}

fn col<'a>(headers: &'a csv::StringRecord, row: &'a csv::StringRecord, name: &str) -> &'a str {
    let i = headers.iter().position(|h| h == name).unwrap();
    &row[i]
}

/// (share of lines with the right time, share with the right level or None).
fn score(
    dataset: &str,
    time_cols: &[&str],
    format: &str,
    level_col: Option<&str>,
) -> (f64, Option<f64>) {
    let base = dir().join(dataset);
    let raw = std::fs::read_to_string(base.join(format!("{dataset}_2k.log"))).unwrap();
    let mut reader =
        csv::Reader::from_path(base.join(format!("{dataset}_2k.log_structured.csv"))).unwrap();
    let headers = reader.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let lines: Vec<&str> = raw.lines().collect();
    assert_eq!(lines.len(), rows.len(), "{dataset}: lines and rows");
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
    // Year-less datasets (syslog style) are compared without the year.
    let has_year = !format.starts_with("%Y %b");
    let (mut time_ok, mut level_ok) = (0usize, 0usize);
    for (line, row) in lines.iter().zip(&rows) {
        let text: Vec<&str> = time_cols.iter().map(|c| col(&headers, row, c)).collect();
        let mut text = text.join(" ");
        if !has_year {
            text.insert_str(0, "2000 ");
        }
        let want = parse_truth(&text, format)
            .unwrap_or_else(|| panic!("{dataset}: truth {text:?} is not {format}"));
        if let Some(found) = find_timestamp(line, now) {
            let got = DateTime::from_timestamp_nanos(found.ns).naive_utc();
            let same = if has_year {
                got == want
            } else {
                got.format("%m-%d %H:%M:%S%.f").to_string()
                    == want.format("%m-%d %H:%M:%S%.f").to_string()
            };
            time_ok += usize::from(same);
        }
        if let Some(level_col) = level_col {
            let truth = col(&headers, row, level_col);
            let got = find_level(line);
            let same = match (got, level_from_text(truth)) {
                (Some(g), Some(t)) => g.level == t && g.word.eq_ignore_ascii_case(truth),
                _ => false,
            };
            level_ok += usize::from(same);
        }
    }
    let n = rows.len() as f64;
    (time_ok as f64 / n, level_col.map(|_| level_ok as f64 / n))
}

/// A truth time; `%ms` at the end of `format` is whole milliseconds without
/// padding (HealthApp writes `22:15:35:11` for 11 ms).
fn parse_truth(text: &str, format: &str) -> Option<NaiveDateTime> {
    match format.strip_suffix(":%ms") {
        Some(head) => {
            let (time, ms) = text.rsplit_once(':')?;
            // Unpadded fields (`22:16:0`) are padded for chrono.
            let (date, hms) = time.split_once('-')?;
            let hms: Vec<String> = hms.split(':').map(|p| format!("{p:0>2}")).collect();
            let time = format!("{date}-{}", hms.join(":"));
            let t = NaiveDateTime::parse_from_str(&time, head).ok()?;
            Some(t + chrono::Duration::milliseconds(ms.parse().ok()?))
        }
        None => NaiveDateTime::parse_from_str(text, format).ok(),
    }
}

/// Each dataset: time columns, their format, level column, and the shares
/// recorded in docs/pipeline.md (time, level).
type Dataset = (
    &'static str,
    &'static [&'static str],
    &'static str,
    Option<&'static str>,
    f64,
    f64,
);

const DATASETS: [Dataset; 8] = [
    (
        "BGL",
        &["Time"],
        "%Y-%m-%d-%H.%M.%S%.f",
        Some("Level"),
        1.0,
        1.0,
    ),
    (
        "HDFS",
        &["Date", "Time"],
        "%y%m%d %H%M%S",
        Some("Level"),
        1.0,
        1.0,
    ),
    (
        "Hadoop",
        &["Date", "Time"],
        "%Y-%m-%d %H:%M:%S,%3f",
        Some("Level"),
        1.0,
        1.0,
    ),
    (
        "Spark",
        &["Date", "Time"],
        "%y/%m/%d %H:%M:%S",
        Some("Level"),
        1.0,
        1.0,
    ),
    (
        "Zookeeper",
        &["Date", "Time"],
        "%Y-%m-%d %H:%M:%S,%3f",
        Some("Level"),
        1.0,
        1.0,
    ),
    (
        "HealthApp",
        &["Time"],
        "%Y%m%d-%H:%M:%S:%ms",
        None,
        1.0,
        0.0,
    ),
    (
        "Linux",
        &["Month", "Date", "Time"],
        "%Y %b %d %H:%M:%S",
        None,
        1.0,
        0.0,
    ),
    (
        "OpenSSH",
        &["Date", "Day", "Time"],
        "%Y %b %d %H:%M:%S",
        None,
        1.0,
        0.0,
    ),
];

#[test]
fn loghub_time_and_level_extraction() {
    let mut failures = Vec::new();
    println!("| dataset | time correct | level correct |");
    println!("|---|---|---|");
    for (name, cols, format, level, rec_time, rec_level) in DATASETS {
        let (time, lvl) = score(name, cols, format, level);
        println!(
            "| {name} | {:.2}% | {} |",
            time * 100.0,
            lvl.map_or("no level column".to_string(), |l| format!(
                "{:.2}%",
                l * 100.0
            ))
        );
        if time < 0.95 || time + 1e-9 < rec_time {
            failures.push(format!("{name}: time {time:.4} (recorded {rec_time})"));
        }
        if let Some(l) = lvl {
            if l < 0.95 || l + 1e-9 < rec_level {
                failures.push(format!("{name}: level {l:.4} (recorded {rec_level})"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}
