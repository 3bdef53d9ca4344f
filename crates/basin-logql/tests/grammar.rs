//! Grammar conformance: Grafana's official LogQL grammar (`@grafana/lezer-logql`,
//! run with Node from `tests/grammar/`) and Basin's parser must agree on which
//! queries of `tests/grammar/corpus.txt` parse, except for the differences
//! listed, each with its reason, in `tests/grammar/differences.txt` (and in
//! docs/logql.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn grammar_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/grammar")
}

/// Grafana's verdicts, from Node.
fn grafana_verdicts(corpus: &str) -> Vec<bool> {
    let dir = grammar_dir();
    assert!(
        dir.join("node_modules/@grafana/lezer-logql").exists(),
        "run `npm ci --prefix tests/grammar` first (scripts/test.sh does)"
    );
    let mut child = Command::new("node")
        .arg("check.mjs")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs (scripts/test.sh installs what the tests need)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(corpus.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "check.mjs failed");
    serde_json::from_slice(&out.stdout).expect("a JSON array of verdicts")
}

/// Listed differences: query → reason.
fn listed() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(grammar_dir().join("differences.txt")).unwrap();
    let mut out = BTreeMap::new();
    let mut reason = String::new();
    for line in text.lines() {
        if let Some(r) = line.strip_prefix("# ") {
            reason = r.to_string();
        } else if !line.trim().is_empty() {
            assert!(!reason.is_empty(), "difference without a reason: {line}");
            out.insert(line.to_string(), reason.clone());
        }
    }
    out
}

#[test]
fn basin_agrees_with_grafanas_grammar() {
    let corpus = std::fs::read_to_string(grammar_dir().join("corpus.txt")).unwrap();
    let queries: Vec<&str> = corpus.lines().filter(|q| !q.trim().is_empty()).collect();
    assert!(queries.len() >= 300, "only {} queries", queries.len());
    let grafana = grafana_verdicts(&corpus);
    assert_eq!(grafana.len(), queries.len());
    let valid = grafana.iter().filter(|v| **v).count();
    assert!(
        valid >= 100 && queries.len() - valid >= 100,
        "{valid} valid of {}",
        queries.len()
    );
    let listed = listed();
    let mut unexplained = Vec::new();
    let mut differing = Vec::new();
    for (q, g) in queries.iter().zip(&grafana) {
        let basin = basin_logql::parse_expr(q).is_ok();
        if basin != *g {
            differing.push(q.to_string());
            if !listed.contains_key(*q) {
                unexplained.push(format!("grafana={g} basin={basin}: {q}"));
            }
        }
    }
    assert!(
        unexplained.is_empty(),
        "{} unexplained differences:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
    let stale: Vec<&String> = listed.keys().filter(|q| !differing.contains(q)).collect();
    assert!(
        stale.is_empty(),
        "listed differences that no longer differ: {stale:?}"
    );
}
