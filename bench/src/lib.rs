//! Benchmark support: a deterministic random source and the corpus model
//! shared by the generator and the load driver.

pub mod corpus;
pub mod loghub;
pub mod rng;
pub mod wire;
