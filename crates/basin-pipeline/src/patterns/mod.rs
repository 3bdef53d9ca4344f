//! Log patterns: templates mined from lines as they arrive, variable parts
//! shown as `<_>` (Loki's notation).

pub mod miner;
pub mod store;
pub mod token;

pub use miner::{Miner, MinerConfig, Template};
pub use store::{mine_line, mined_part, PatternInfo, PatternStore};
