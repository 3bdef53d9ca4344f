//! The syslog message parser (RFC 3164 and 5424) on any bytes.
#![no_main]

use basin_ingest::syslog;
use basin_ingest::IngestLimits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = syslog::parse(
        data,
        "10.0.0.1",
        &IngestLimits::default(),
        1_700_000_000_000_000_000,
    );
});
