/// What can go wrong with rules.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// A rule file or group that does not parse or validate; the message
    /// names the group, the rule and, when known, the line.
    #[error("{0}")]
    Invalid(String),
    /// A group, namespace or tenant that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Reading or writing rule files or alert state.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or directory.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl RulesError {
    /// An I/O error on `path` while doing `what`.
    pub fn io(what: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            what,
            path: path.display().to_string(),
            source,
        }
    }
}
