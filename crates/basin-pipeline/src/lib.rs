//! The parsing pipeline: the stage between ingest and storage that finds
//! structure in lines nobody wrote a parser for.
//!
//! So far: format auto-detection with field extraction (`auto`, `formats`:
//! JSON, access logs, syslog, logfmt, application headers), the time a line
//! carries in its header (`timestamp`), its level (`level`), masking of secrets
//! and personal data (`mask`), multi-line joining (`multiline`), and flood protection (`rate_limit`, `dedup`). Depends on `basin-model` only; no I/O.

pub mod auto;
pub mod dedup;
pub mod formats;
pub mod json_doc;
pub mod level;
pub mod mask;
pub mod multiline;
pub mod patterns;
pub mod rate_limit;
pub mod rules;
pub mod timestamp;
