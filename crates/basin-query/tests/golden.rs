//! Golden queries: every case in `testdata/queries/*.lq` runs against the
//! fixture in `testdata/fixture.tsv`, first with the data in the head, then
//! again after it was flushed to parts; both must give the expected output,
//! which was worked out by hand from the fixture.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use basin_logql::{parse_expr, Expr};
use basin_model::{Entry, Labels, PushBatch, StreamBatch, TenantId};
use basin_query::{
    eval_metric, select_logs, Direction, LogSelect, MetricQuery, QueryContext, Steps, Value,
};
use basin_storage::{Storage, StorageConfig};

/// 2024-01-01T00:00:00Z: offsets in the fixture and golden files count from here.
const T0: i64 = 1_704_067_200_000_000_000;
const SEC: i64 = 1_000_000_000;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

fn load_fixture(storage: &Storage) {
    let text = std::fs::read_to_string(testdata().join("fixture.tsv")).unwrap();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let offset: i64 = cols[0].parse().unwrap();
        let mut entry = Entry::new(T0 + offset * SEC, cols[2]);
        if let Some(md) = cols.get(3) {
            entry.fields = md
                .split(',')
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap();
                    (k.to_string(), v.to_string())
                })
                .collect();
        }
        storage
            .append_blocking(PushBatch {
                tenant: TenantId::default_tenant(),
                streams: vec![StreamBatch {
                    labels: Labels::parse(cols[1]).unwrap(),
                    entries: vec![entry],
                }],
            })
            .unwrap();
    }
}

struct Case {
    file: String,
    query: String,
    params: Vec<(String, String)>,
    expected: Vec<String>,
}

impl Case {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn load_cases() -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(testdata().join("queries"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "lq"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut current: Option<Case> = None;
        let mut in_expected = false;
        for line in text.lines() {
            if line.starts_with('#') {
                continue;
            }
            if line.trim().is_empty() {
                if let Some(case) = current.take() {
                    cases.push(case);
                }
                in_expected = false;
                continue;
            }
            if in_expected {
                current.as_mut().unwrap().expected.push(line.to_string());
            } else if line == "----" {
                in_expected = true;
            } else if let Some(q) = line.strip_prefix("query: ") {
                current = Some(Case {
                    file: file.clone(),
                    query: q.to_string(),
                    params: Vec::new(),
                    expected: Vec::new(),
                });
            } else {
                let (k, v) = line
                    .split_once(": ")
                    .unwrap_or_else(|| panic!("{file}: bad line {line:?}"));
                current
                    .as_mut()
                    .unwrap_or_else(|| panic!("{file}: parameter before query"))
                    .params
                    .push((k.to_string(), v.to_string()));
            }
        }
        if let Some(case) = current.take() {
            cases.push(case);
        }
    }
    cases
}

fn secs(ns: i64) -> i64 {
    (ns - T0) / SEC
}

fn run(storage: &Storage, case: &Case) -> Vec<String> {
    let expr = match parse_expr(&case.query) {
        Ok(e) => e,
        Err(e) => return vec![format!("error: {e}")],
    };
    let tenant = TenantId::default_tenant();
    let ctx = QueryContext::new(None);
    let range = case.param("range").map(|r| {
        let (a, b) = r.split_once(' ').unwrap();
        (a.parse::<i64>().unwrap(), b.parse::<i64>().unwrap())
    });
    let out = match expr {
        Expr::Log(log) => {
            let (start, end) = range.unwrap_or((0, 180));
            let direction = match case.param("direction") {
                Some("backward") => Direction::Backward,
                _ => Direction::Forward,
            };
            select_logs(
                storage,
                &LogSelect {
                    tenant: &tenant,
                    query: &log,
                    start: T0 + start * SEC,
                    end: T0 + end * SEC + 1,
                    limit: case.param("limit").map_or(1000, |l| l.parse().unwrap()),
                    direction,
                    ctx: &ctx,
                },
            )
            .map(|sel| {
                sel.rows
                    .iter()
                    .map(|r| format!("{} +{} {}", r.labels, secs(r.ts), r.line))
                    .collect::<Vec<_>>()
            })
        }
        Expr::Metric(metric) => {
            let instant = case.param("time").map(|t| t.parse::<i64>().unwrap());
            let steps = match instant {
                Some(t) => Steps {
                    start: T0 + t * SEC,
                    end: T0 + t * SEC,
                    step: 1,
                },
                None => {
                    let (start, end) = range.unwrap_or((60, 180));
                    let step: i64 = case.param("step").map_or(60, |s| s.parse().unwrap());
                    Steps {
                        start: T0 + start * SEC,
                        end: T0 + end * SEC,
                        step: step * SEC,
                    }
                }
            };
            eval_metric(
                storage,
                &MetricQuery {
                    tenant: &tenant,
                    expr: &metric,
                    steps,
                    max_series: 500,
                    ctx: &ctx,
                },
            )
            .map(|res| match res.value {
                Value::Scalar(v) => vec![format!("scalar {}", v[0])],
                Value::Vector(mut series) => {
                    if case.param("ordered").is_none() {
                        series.sort_by(|a, b| a.labels.cmp(&b.labels));
                    }
                    series
                        .iter()
                        .map(|s| {
                            let points: Vec<String> = s
                                .points
                                .iter()
                                .enumerate()
                                .filter_map(|(i, p)| {
                                    p.map(|v| match instant {
                                        Some(_) => format!("{v}"),
                                        None => format!("{}={v}", secs(steps.at(i))),
                                    })
                                })
                                .collect();
                            format!("{} {}", s.labels, points.join(" "))
                        })
                        .collect()
                }
            })
        }
    };
    match out {
        Ok(lines) if lines.is_empty() => vec!["(empty)".into()],
        Ok(lines) => lines,
        Err(e) => vec![format!("error: {e}")],
    }
}

/// Equal, or equal but for numbers within a relative 1e-9.
fn same_line(want: &str, got: &str) -> bool {
    if want == got {
        return true;
    }
    if let Some(needle) = want.strip_prefix("error: ") {
        return got.starts_with("error: ") && got.contains(needle);
    }
    let (w, g): (Vec<&str>, Vec<&str>) = (want.split(' ').collect(), got.split(' ').collect());
    w.len() == g.len()
        && w.iter().zip(&g).all(|(a, b)| {
            if a == b {
                return true;
            }
            let split = |t: &str| match t.split_once('=') {
                Some((k, v)) if k.chars().all(|c| c.is_ascii_digit()) => {
                    (Some(k.to_string()), v.to_string())
                }
                _ => (None, t.to_string()),
            };
            let ((ka, va), (kb, vb)) = (split(a), split(b));
            match (va.parse::<f64>(), vb.parse::<f64>()) {
                (Ok(x), Ok(y)) => ka == kb && (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
                _ => false,
            }
        })
}

#[test]
fn golden_queries() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = StorageConfig::new(dir.path());
    cfg.wal_sync = false;
    cfg.flush_interval = Duration::from_secs(3600);
    cfg.merge_interval = Duration::from_secs(3600);
    let storage = Storage::open(cfg).unwrap();
    load_fixture(&storage);
    let cases = load_cases();
    assert!(cases.len() >= 80, "only {} golden cases", cases.len());
    let mut failures = Vec::new();
    for phase in ["head", "parts"] {
        if phase == "parts" {
            storage.flush().unwrap();
            assert!(!storage.parts().is_empty());
        }
        for case in &cases {
            let got = run(&storage, case);
            let ok = got.len() == case.expected.len()
                && case.expected.iter().zip(&got).all(|(w, g)| same_line(w, g));
            if !ok {
                failures.push(format!(
                    "{} [{phase}] query: {}\n  want:\n    {}\n  got:\n    {}",
                    case.file,
                    case.query,
                    case.expected.join("\n    "),
                    got.join("\n    ")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The most complex queries the parser lets through evaluate on a 2 MiB
/// thread stack (what tokio's workers and `spawn_blocking` threads get),
/// in a debug build where frames are largest.
#[test]
fn queries_at_the_complexity_bound_evaluate_on_a_small_stack() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = StorageConfig::new(dir.path());
    cfg.wal_sync = false;
    let storage = Storage::open(cfg).unwrap();
    load_fixture(&storage);
    let n = basin_logql::MAX_SUBEXPRESSIONS - 2;
    let one = r#"count_over_time({app="api"}[3m])"#;
    let queries = [
        format!("{}{one}{}", "(".repeat(n), ")".repeat(n)),
        format!("{}{one}{}", "sum(".repeat(n), ")".repeat(n)),
        format!("{one}{}", format!(" + {one}").repeat(n)),
        format!("1{}", " ^ 1".repeat(n)),
        format!("{}{one}", "- ".repeat(n)),
    ];
    for query in queries {
        let case = Case {
            file: "deep".into(),
            query: query.clone(),
            params: vec![("time".into(), "180".into())],
            expected: Vec::new(),
        };
        let storage = &storage;
        let got = std::thread::scope(|s| {
            std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn_scoped(s, || run(storage, &case))
                .unwrap()
                .join()
                .unwrap()
        });
        assert!(
            !got.is_empty() && !got[0].starts_with("error"),
            "{}: {got:?}",
            &query[..30]
        );
    }
}
