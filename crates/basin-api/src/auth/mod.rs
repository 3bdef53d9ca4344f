//! Who may call the API: tokens from `basin-auth`, checked on every request
//! but `/ready` when auth is on, with the tenant taken from the token.

mod failed_logins;
mod guard;

use std::sync::Arc;

use basin_auth::TokenStore;

pub use failed_logins::FailedLogins;
pub use guard::{credentials, grant_of, guard, SESSION_COOKIE};

/// The token store and whether requests must present a token.
pub struct Auth {
    /// Tokens (open even when auth is off, so the admin API and the CLI work).
    pub store: Arc<TokenStore>,
    /// Whether every request but `/ready` needs a token.
    pub required: bool,
    /// Failed attempts per source address.
    pub failures: FailedLogins,
}

impl Auth {
    /// Auth over `store`, enforced when `required`.
    pub fn new(store: Arc<TokenStore>, required: bool) -> Self {
        Self {
            store,
            required,
            failures: FailedLogins::default(),
        }
    }
}
