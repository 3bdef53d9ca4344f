//! The NDJSON / text lines decoder on any body, with and without fields
//! named for labels, message and time.
#![no_main]

use basin_ingest::ndjson::{self, LinesRequest};
use basin_ingest::IngestLimits;
use basin_model::TenantId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let request = if mode & 1 == 1 {
        LinesRequest {
            labels: Some("{app=\"fuzz\"}"),
            label_fields: Some("level,service"),
            message_field: Some("msg,message"),
            time_field: Some("ts,time"),
        }
    } else {
        LinesRequest {
            labels: None,
            label_fields: None,
            message_field: None,
            time_field: None,
        }
    };
    let _ = ndjson::decode(
        TenantId::default_tenant(),
        body,
        &request,
        &IngestLimits::default(),
        1_700_000_000_000_000_000,
    );
});
