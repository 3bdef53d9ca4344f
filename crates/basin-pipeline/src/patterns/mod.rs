//! Log patterns: templates mined from lines as they arrive, variable parts
//! shown as `<_>` (Loki's notation).

pub mod miner;
pub mod token;

pub use miner::{Miner, MinerConfig, Template};
