use basin_logql::ParseError;
use basin_storage::StorageError;
use thiserror::Error;

/// Why a query failed, by phase.
#[derive(Debug, Error)]
pub enum QueryError {
    /// The query text is not valid LogQL.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A regex in the query does not compile.
    #[error("invalid regex {regex:?}: {msg}")]
    InvalidRegex { regex: String, msg: String },
    /// The query is valid LogQL but cannot be run as written.
    #[error("{0}")]
    Plan(String),
    /// The query failed while running (Loki's pipeline and matching errors).
    #[error("{0}")]
    Execution(String),
    /// The request asks for more than the limits allow.
    #[error("{0}")]
    Limit(String),
    /// The query needs more memory than it may have: its own budget, or
    /// (`shared`: retrying later may succeed) what all queries share.
    #[error("resources exhausted: {message}")]
    ResourcesExhausted { message: String, shared: bool },
    /// The client went away; nobody will read the answer.
    #[error("query cancelled")]
    Cancelled,
    /// Reading the store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}
