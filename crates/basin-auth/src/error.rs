use thiserror::Error;

/// Why a token was refused or the store failed.
#[derive(Debug, Error)]
pub enum AuthError {
    /// The text is not a Basin token at all.
    #[error("malformed token")]
    Malformed,
    /// No token has this id and secret (or it was revoked).
    #[error("unknown or revoked token")]
    Unknown,
    /// A scope name that does not exist.
    #[error("unknown scope {0:?}: use push, read, rules or admin")]
    BadScope(String),
    /// A tenant id that is not valid.
    #[error("invalid tenant {tenant:?}: {reason}")]
    BadTenant { tenant: String, reason: String },
    /// A token must grant something to someone.
    #[error("{0}")]
    Incomplete(String),
    /// The database could not be read or written.
    #[error("token database: {0}")]
    Database(#[from] rusqlite::Error),
    /// The system's random source failed.
    #[error("no randomness for a new token: {0}")]
    Random(String),
}
