//! Push decoding throughput: a 1,000-line batch as Loki JSON and as
//! snappy protobuf. Run: `cargo bench -p basin-ingest --bench push_decode`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use basin_ingest::loki_push::{self, proto};
use basin_ingest::IngestLimits;
use basin_model::TenantId;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use prost::Message;

const LINES: usize = 1000;

fn line(i: usize) -> String {
    format!(
        r#"{{"level":"info","ts":"2024-05-01T12:00:00Z","route":"/api/v1/orders/{i}","status":200,"latency_ms":{},"trace_id":"{:032x}"}}"#,
        i % 250,
        i * 7919
    )
}

fn json_body() -> Vec<u8> {
    let values: Vec<serde_json::Value> = (0..LINES)
        .map(|i| {
            serde_json::json!([
                (1_700_000_000_000_000_000i64 + i as i64).to_string(),
                line(i)
            ])
        })
        .collect();
    serde_json::json!({"streams": [{"stream": {"job": "api", "env": "prod"}, "values": values}]})
        .to_string()
        .into_bytes()
}

fn proto_body() -> Vec<u8> {
    let req = proto::PushRequest {
        streams: vec![proto::StreamAdapter {
            labels: r#"{job="api", env="prod"}"#.into(),
            entries: (0..LINES)
                .map(|i| proto::EntryAdapter {
                    timestamp: Some(proto::Timestamp {
                        seconds: 1_700_000_000,
                        nanos: i as i32,
                    }),
                    line: line(i),
                    structured_metadata: vec![],
                })
                .collect(),
            hash: 0,
        }],
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let raw_bytes: usize = (0..LINES).map(|i| line(i).len()).sum();
    let limits = IngestLimits::default();
    let mut group = c.benchmark_group("push_decode");
    group.throughput(Throughput::Bytes(raw_bytes as u64));
    let json = json_body();
    group.bench_function("loki_json_1000_lines", |b| {
        b.iter(|| {
            loki_push::decode(
                TenantId::default_tenant(),
                black_box(&json),
                Some("application/json"),
                None,
                &limits,
            )
            .unwrap()
        })
    });
    let pb = proto_body();
    group.bench_function("loki_protobuf_snappy_1000_lines", |b| {
        b.iter(|| {
            loki_push::decode(
                TenantId::default_tenant(),
                black_box(&pb),
                Some("application/x-protobuf"),
                None,
                &limits,
            )
            .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
