//! What log metrics cost at ingest: `LogMetrics::measure` and `apply` over
//! 50,000 corpus lines in push-sized batches (5,000 consecutive lines each,
//! grouped by stream as a shipper sends them), for each rule of
//! bench/log-metrics.yaml alone and for all ten. One core.
//! Run: `cargo bench -p basin-bench --bench log_metrics`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use basin_api::line_matcher::QueryLineMatcher;
use basin_bench::corpus::Corpus;
use basin_model::{Entry, Labels, PushBatch, StreamBatch, TenantId};
use basin_rules::log_metrics::{LogMetricConfig, LogMetrics};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const LINES: u64 = 50_000;
const BATCH_LINES: u64 = 5_000;

fn batches() -> Vec<PushBatch> {
    let mut corpus = Corpus::new(1, LINES);
    let labels: Vec<Labels> = corpus
        .streams
        .iter()
        .map(|s| Labels::parse(&s.labels).unwrap())
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < LINES {
        let mut by_stream: Vec<Vec<Entry>> = vec![Vec::new(); labels.len()];
        for j in i..(i + BATCH_LINES).min(LINES) {
            let r = corpus.record(j);
            by_stream[r.stream].push(Entry::new(r.ts, r.line));
        }
        out.push(PushBatch {
            tenant: TenantId::default_tenant(),
            streams: by_stream
                .into_iter()
                .enumerate()
                .filter(|(_, e)| !e.is_empty())
                .map(|(k, entries)| StreamBatch {
                    labels: labels[k].clone(),
                    entries,
                })
                .collect(),
        });
        i += BATCH_LINES;
    }
    out
}

fn rules() -> Vec<LogMetricConfig> {
    #[derive(serde::Deserialize)]
    struct File {
        log_metrics: Vec<LogMetricConfig>,
    }
    let text = include_str!("../log-metrics.yaml");
    serde_yaml::from_str::<File>(text).unwrap().log_metrics
}

fn log_metrics(c: &mut Criterion) {
    let input = batches();
    let all = rules();
    let mut group = c.benchmark_group("log_metrics");
    group.throughput(Throughput::Elements(LINES));
    group.sample_size(10);
    let mut cases: Vec<(String, Vec<LogMetricConfig>)> = all
        .iter()
        .map(|r| (r.name.clone(), vec![r.clone()]))
        .collect();
    cases.push(("all_ten".into(), all.clone()));
    for (name, configs) in cases {
        let metrics = LogMetrics::new(&configs, &QueryLineMatcher::compile).unwrap();
        group.bench_function(name, |b| {
            b.iter(|| {
                for batch in &input {
                    let m = metrics.measure(batch);
                    metrics.apply(m);
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, log_metrics);
criterion_main!(benches);
