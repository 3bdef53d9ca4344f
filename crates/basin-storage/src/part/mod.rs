//! Parts: immutable Parquet files of one tenant and day, rows sorted by
//! stream then time, cut into blocks (row groups) that the [`index`] lets a
//! scan skip.

mod block_tokens;
pub mod counts;
mod file;
mod hash_key;
pub mod index;
pub mod line_codec;
mod pages;
mod read;
pub mod schema;
pub mod skeleton_runs;
pub mod time_marks;
pub mod var_grams;
pub mod var_order;
mod write;

pub use read::{Part, PartPlan};
pub use write::{write_part, WrittenPart};
#[cfg(test)]
mod damage_tests;
#[cfg(test)]
mod format_tests;
