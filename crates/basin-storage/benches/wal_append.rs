//! WAL append throughput: groups of 1,000-line batches, with and without the
//! fsync per group. Run: `cargo bench -p basin-storage --bench wal_append`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use basin_model::{Entry, Labels, PushBatch, StreamBatch, TenantId};
use basin_storage::wal::{encode_batch, Wal};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const LINES: usize = 1000;

fn batch() -> PushBatch {
    PushBatch {
        tenant: TenantId::default_tenant(),
        streams: vec![StreamBatch {
            labels: Labels::parse(r#"{job="api", env="prod"}"#).unwrap(),
            entries: (0..LINES)
                .map(|i| {
                    Entry::new(
                        1_700_000_000_000_000_000 + i as i64,
                        format!(
                            "GET /api/v1/orders/{i} 200 {}ms trace={:032x}",
                            i % 250,
                            i * 7919
                        ),
                    )
                })
                .collect(),
        }],
    }
}

fn bench(c: &mut Criterion) {
    let batch = batch();
    let raw: usize = batch.streams[0].entries.iter().map(|e| e.line.len()).sum();
    let mut group = c.benchmark_group("wal_append");
    group.throughput(Throughput::Bytes(raw as u64));
    group.bench_function("encode_1000_lines", |b| {
        b.iter(|| encode_batch(&batch).unwrap())
    });
    group.throughput(Throughput::Bytes(raw as u64 * 4));
    for sync in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::create(dir.path(), 1, sync).unwrap();
        let payloads: Vec<Vec<u8>> = (0..4).map(|_| encode_batch(&batch).unwrap()).collect();
        let name = if sync {
            "group_of_4x1000_lines_fsync"
        } else {
            "group_of_4x1000_lines_no_fsync"
        };
        let mut appended = 0u64;
        group.bench_function(name, |b| {
            b.iter(|| {
                wal.append_group(&payloads).unwrap();
                appended += 1;
                // Keep the segment from growing without bound.
                if appended.is_multiple_of(2000) {
                    wal.rotate().unwrap();
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
