//! Pattern mining accuracy over the loghub 2k samples
//! (`../shared/datasets/loghub-2k`): each dataset's `Content` column mined
//! with the one default configuration, scored by grouping accuracy as
//! loghub defines it (a line is right only if the lines sharing its
//! pattern are exactly the lines sharing its true event). The figures are
//! recorded in docs/patterns.md; the test fails if one drops below them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::PathBuf;

use basin_pipeline::patterns::{Miner, MinerConfig};

/// Grouping accuracy recorded in docs/patterns.md, per dataset.
const RECORDED: [(&str, f64); 8] = [
    ("BGL", 0.9725),
    ("HDFS", 0.9975),
    ("Hadoop", 0.9705),
    ("HealthApp", 1.0),
    ("Linux", 0.8795),
    ("OpenSSH", 1.0),
    ("Spark", 1.0),
    ("Zookeeper", 0.9945),
];

/// Drain's published average on these eight datasets (tuned per dataset).
const DRAIN_AVERAGE: f64 = 0.8814;

fn grouping_accuracy(truth: &[String], predicted: &[u64]) -> f64 {
    let mut true_groups: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut pred_groups: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, (t, p)) in truth.iter().zip(predicted).enumerate() {
        true_groups.entry(t).or_default().push(i);
        pred_groups.entry(*p).or_default().push(i);
    }
    let true_sets: Vec<&Vec<usize>> = true_groups.values().collect();
    let right: usize = pred_groups
        .values()
        .filter(|g| true_sets.contains(g))
        .map(Vec::len)
        .sum();
    right as f64 / truth.len() as f64
}

fn mine(dataset: &str) -> f64 {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/loghub-2k")
        .join(dataset)
        .join(format!("{dataset}_2k.log_structured.csv"));
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let content = headers.iter().position(|h| h == "Content").unwrap();
    let event = headers.iter().position(|h| h == "EventId").unwrap();
    let mut miner = Miner::new(MinerConfig::default());
    let (mut truth, mut ids) = (Vec::new(), Vec::new());
    for row in reader.records() {
        let row = row.unwrap();
        truth.push(row[event].to_string());
        ids.push(miner.add(&row[content].replace('\n', " ")));
    }
    let predicted: Vec<u64> = ids.iter().map(|id| miner.resolve(*id)).collect();
    grouping_accuracy(&truth, &predicted)
}

#[test]
fn loghub_grouping_accuracy() {
    let mut sum = 0.0;
    let mut report = String::new();
    for (dataset, recorded) in RECORDED {
        let ga = mine(dataset);
        report.push_str(&format!("| {dataset} | {ga:.4} |\n"));
        assert!(
            ga + 1e-9 >= recorded,
            "{dataset}: grouping accuracy {ga:.4} below the recorded {recorded}\n{report}"
        );
        sum += ga;
    }
    let average = sum / RECORDED.len() as f64;
    println!("{report}| average | {average:.4} |");
    assert!(average > DRAIN_AVERAGE, "average {average:.4}");
}

#[test]
fn grouping_accuracy_is_loghubs() {
    let t: Vec<String> = ["a", "a", "b", "c"].iter().map(|s| s.to_string()).collect();
    assert_eq!(grouping_accuracy(&t, &[1, 1, 2, 3]), 1.0);
    assert_eq!(grouping_accuracy(&t, &[1, 1, 2, 2]), 0.5);
    assert_eq!(grouping_accuracy(&t, &[1, 2, 3, 4]), 0.5);
}
