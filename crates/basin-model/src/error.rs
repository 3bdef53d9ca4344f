use thiserror::Error;

/// Why a tenant id or a label set was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ModelError {
    #[error("invalid tenant id {0:?}: use 1 to 150 characters of [A-Za-z0-9_.-], not '.' or '..'")]
    InvalidTenant(String),
    #[error("invalid label set {input:?}: {msg}")]
    LabelSyntax { input: String, msg: String },
    #[error("invalid label name {0:?}: must match [a-zA-Z_][a-zA-Z0-9_]*")]
    InvalidLabelName(String),
    #[error("duplicate label name {0:?}")]
    DuplicateLabel(String),
    #[error("a stream needs at least one label")]
    NoLabels,
}
