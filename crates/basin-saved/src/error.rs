use thiserror::Error;

/// Why a saved object was refused or the store failed.
#[derive(Debug, Error)]
pub enum SavedError {
    /// A field is missing, too long or of the wrong shape.
    #[error("{0}")]
    Invalid(String),
    /// The tenant already has as many objects as it may.
    #[error("{0}")]
    TooMany(String),
    /// No object has this id in this tenant.
    #[error("no {kind} with id {id:?}")]
    NotFound { kind: &'static str, id: String },
    /// The database could not be read or written.
    #[error("saved objects database: {0}")]
    Database(#[from] rusqlite::Error),
    /// The system's random source failed.
    #[error("no randomness for a new id: {0}")]
    Random(String),
}
