//! Parsing pipeline throughput on the benchmark corpus, levels only and
//! auto-detection plus field and level extraction, over 20,000 generated lines (all formats of the
//! corpus, in batches by stream as pushes arrive), one core; and the
//! per-line detection a query runs when a label filter names a field the
//! line was stored without (no remembered format).
//! Run: `cargo bench -p basin-bench --bench pipeline`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use basin_bench::corpus::Corpus;
use basin_model::{Labels, PushBatch, StreamBatch, TenantId};
use basin_pipeline::auto::{extract, AutoParse, ParseMode};
use basin_pipeline::patterns::token::signature;
use basin_pipeline::patterns::{MinerConfig, PatternStore};
use chrono::DateTime;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

const LINES: u64 = 20_000;

fn batch() -> PushBatch {
    PushBatch {
        tenant: TenantId::default_tenant(),
        streams: Corpus::new(1, LINES)
            .entries_by_stream()
            .into_iter()
            .map(|(labels, entries)| StreamBatch {
                labels: Labels::parse(&labels).unwrap(),
                entries,
            })
            .collect(),
    }
}

fn auto_parse(c: &mut Criterion) {
    let input = batch();
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(LINES));
    group.sample_size(20);
    for (name, mode) in [("levels", ParseMode::Levels), ("fields", ParseMode::Fields)] {
        let pipeline = AutoParse::new(mode);
        group.bench_function(format!("{name}_corpus_20k"), |b| {
            b.iter_batched(
                || input.clone(),
                |mut batch| {
                    pipeline.process(&mut batch);
                    batch
                },
                BatchSize::LargeInput,
            )
        });
    }
    let lines: Vec<(i64, String)> = input
        .streams
        .iter()
        .flat_map(|s| s.entries.iter().map(|e| (e.ts, e.line.clone())))
        .collect();
    group.bench_function("query_time_extract_corpus_20k", |b| {
        b.iter(|| {
            lines
                .iter()
                .map(|(ts, line)| extract(line, DateTime::from_timestamp_nanos(*ts)).len())
                .sum::<usize>()
        })
    });
    group.finish();
}

/// Pattern mining: the line signature alone, and tagging whole batches
/// (signatures, then the tenant's miner) as the server does at ingest.
fn patterns(c: &mut Criterion) {
    let input = batch();
    let lines: Vec<String> = input
        .streams
        .iter()
        .flat_map(|s| s.entries.iter().map(|e| e.line.clone()))
        .collect();
    let mut group = c.benchmark_group("patterns");
    group.throughput(Throughput::Elements(LINES));
    group.sample_size(20);
    group.bench_function("signature_corpus_20k", |b| {
        let mut buf = Vec::new();
        b.iter(|| {
            lines
                .iter()
                .map(|l| signature(l, &mut buf))
                .fold(0u64, |a, h| a ^ h)
        })
    });
    // A warm miner, as in a running server: the corpus seen once before.
    let store = PatternStore::new(MinerConfig::default());
    store.tag(&mut input.clone());
    group.bench_function("tag_corpus_20k", |b| {
        b.iter_batched(
            || input.clone(),
            |mut batch| {
                store.tag(&mut batch);
                batch
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, auto_parse, patterns);
criterion_main!(benches);
