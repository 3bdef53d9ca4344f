//! Loki's push decoder on any body: the first byte picks JSON, protobuf,
//! or either behind gzip/snappy content encodings.
#![no_main]

use basin_ingest::{loki_push, IngestLimits};
use basin_model::TenantId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let content_type = if mode & 1 == 1 {
        Some("application/json")
    } else {
        Some("application/x-protobuf")
    };
    let content_encoding = match mode >> 1 & 3 {
        1 => Some("gzip"),
        2 => Some("snappy"),
        _ => None,
    };
    let _ = loki_push::decode(
        TenantId::default_tenant(),
        body,
        content_type,
        content_encoding,
        &IngestLimits::default(),
    );
});
