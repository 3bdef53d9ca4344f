//! The OTLP logs decoder on any body, protobuf or JSON.
#![no_main]

use basin_ingest::otlp::{self, OtlpEncoding, OtlpOptions};
use basin_ingest::IngestLimits;
use basin_model::TenantId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let encoding = if mode & 1 == 1 {
        OtlpEncoding::Json
    } else {
        OtlpEncoding::Protobuf
    };
    let _ = otlp::decode(
        TenantId::default_tenant(),
        body,
        encoding,
        None,
        &IngestLimits::default(),
        &OtlpOptions::default(),
    );
});
