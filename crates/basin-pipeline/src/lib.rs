//! The parsing pipeline: the stage between ingest and storage that finds
//! structure in lines nobody wrote a parser for.
//!
//! So far: the time a line carries in its header (`timestamp`), and its level
//! (`level`). Depends on `basin-model` only; no I/O.

pub mod level;
pub mod timestamp;
