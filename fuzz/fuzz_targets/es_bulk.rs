//! The Elasticsearch bulk decoder on any body.
#![no_main]

use basin_ingest::es_bulk::{self, BulkOptions};
use basin_ingest::IngestLimits;
use basin_model::TenantId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = es_bulk::decode(
        TenantId::default_tenant(),
        data,
        Some("logs"),
        &IngestLimits::default(),
        &BulkOptions::default(),
        1_700_000_000_000_000_000,
    );
});
