//! API tokens: who may push, read, edit rules or administer Basin, for
//! which tenants.
//!
//! A token is shown once when it is made (`basin_<id>_<secret>`); the store
//! keeps its id, scopes, tenants and the SHA-256 of its secret in an
//! embedded SQLite database in the data directory, so the CLI can manage
//! tokens offline while the server runs. Secrets are 256 random bits, so a
//! fast hash is enough: there is nothing to brute-force.

mod error;
mod scope;
mod store;
mod token;

pub use error::AuthError;
pub use scope::{Grant, Scope, ANY_TENANT};
pub use store::{TokenInfo, TokenStore, DB_FILE};
pub use token::TOKEN_PREFIX;
