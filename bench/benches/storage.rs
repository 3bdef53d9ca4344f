//! Storage and query hot paths on 20,000 corpus lines: writing a part
//! (block token index, Parquet, zstd), the token filter's build and probe,
//! decoding a part's blocks, and the `|=` line filter.
//!
//!   cargo bench -p basin-bench --bench storage

use std::sync::Arc;

use basin_bench::corpus::Corpus;
use basin_model::{Entry, Labels, TenantId};
use basin_query::pipeline::Pipeline;
use basin_storage::limits::BLOCK_ROWS;
use basin_storage::part::{write_part, Part};
use basin_storage::token_filter::{gram_hash, token_hash, TokenFilter};
use basin_storage::tokens::{for_each_gram, for_each_token};
use basin_storage::{LineEncoding, PartMeta, ScanRequest, ScanStats};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const LINES: u64 = 20_000;

/// The corpus's first lines, by stream.
fn streams() -> Vec<(Arc<Labels>, Vec<Entry>)> {
    Corpus::new(1, LINES)
        .entries_by_stream()
        .into_iter()
        .map(|(labels, entries)| {
            let labels = Labels::parse(&labels).expect("corpus labels parse");
            (Arc::new(labels), entries)
        })
        .collect()
}

fn borrowed(streams: &[(Arc<Labels>, Vec<Entry>)]) -> Vec<(Arc<Labels>, Vec<&Entry>)> {
    streams
        .iter()
        .map(|(l, e)| (l.clone(), e.iter().collect()))
        .collect()
}

/// The hashes a block's token filter holds (line tokens and their trigrams).
fn block_hashes(entries: &[&Entry]) -> Vec<u64> {
    let mut hashes = Vec::new();
    for e in entries {
        for_each_token(&e.line, |t| {
            hashes.push(token_hash(t));
            for_each_gram(t, |g| hashes.push(gram_hash(g)));
        });
    }
    hashes.sort_unstable();
    hashes.dedup();
    hashes
}

fn storage(c: &mut Criterion) {
    let input = streams();
    // In memory where there is a tmpfs: the part's fsync would otherwise
    // add the disk's latency, which varies more than the work measured.
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .expect("temp dir");
    let mut group = c.benchmark_group("storage");
    group.sample_size(10);
    group.throughput(Throughput::Elements(LINES));

    let path = dir.path().join("bench.parquet");
    group.bench_function("write_part_20k", |b| {
        b.iter(|| {
            write_part(&path, borrowed(&input), LineEncoding::default()).expect("part written")
        })
    });

    let written =
        write_part(&path, borrowed(&input), LineEncoding::default()).expect("part written");
    let meta = PartMeta {
        id: 1,
        tenant: "bench".into(),
        day: "2026-01-01".into(),
        rows: written.rows,
        min_ts: written.min_ts,
        max_ts: written.max_ts,
        size_bytes: written.size_bytes,
    };
    let part = Part::open(&path, meta).expect("part opens");
    let tenant = TenantId::default_tenant();
    let all = |_: &Labels| true;
    group.bench_function("scan_part_20k", |b| {
        b.iter(|| {
            let req = ScanRequest::everything(&tenant, &all);
            let mut rows = 0u64;
            part.scan(&req, &mut ScanStats::default(), &mut |_, _| {
                rows += 1;
                true
            })
            .expect("part scans");
            assert_eq!(rows, LINES);
            rows
        })
    });

    let entries: Vec<&Entry> = input.iter().flat_map(|(_, e)| e.iter()).collect();
    let pipeline = Pipeline::new(
        &basin_logql::parse_log_query(r#"{job="x"} |= "error""#)
            .expect("query parses")
            .stages,
    )
    .expect("pipeline compiles");
    let labels = input[0].0.clone();
    group.bench_function("line_filter_contains_20k", |b| {
        b.iter(|| {
            entries
                .iter()
                .filter(|e| pipeline.run(e, &labels).is_some())
                .count()
        })
    });

    group.bench_function("tokenize_20k", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for e in &entries {
                for_each_token(&e.line, |t| n += t.len());
            }
            n
        })
    });

    let block = &entries[..BLOCK_ROWS.min(entries.len())];
    let hashes = block_hashes(block);
    group.throughput(Throughput::Elements(hashes.len() as u64));
    group.bench_function("token_filter_build_block", |b| {
        b.iter(|| TokenFilter::build(&hashes))
    });
    let filter = TokenFilter::build(&hashes);
    let probes: Vec<u64> = (0..hashes.len() as u64)
        .map(|i| {
            if i % 2 == 0 {
                hashes[i as usize]
            } else {
                i.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            }
        })
        .collect();
    group.bench_function("token_filter_probe_block", |b| {
        b.iter(|| probes.iter().filter(|&&h| filter.may_contain(h)).count())
    });
    group.finish();
}

criterion_group!(benches, storage);
criterion_main!(benches);
