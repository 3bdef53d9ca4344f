use std::sync::{Arc, OnceLock};

use basin_ingest::IngestLimits;
use basin_storage::Storage;

use crate::ApiError;

/// Limits the API enforces on top of ingest's.
#[derive(Debug, Clone)]
pub struct ApiLimits {
    /// Ingest limits (line size, body size, labels).
    pub ingest: IngestLimits,
    /// Most entries one log query may return (`max_entries_limit_per_query`).
    pub max_entries_limit_per_query: usize,
}

impl Default for ApiLimits {
    fn default() -> Self {
        Self {
            ingest: IngestLimits::default(),
            max_entries_limit_per_query: 5000,
        }
    }
}

/// What every handler shares.
pub struct AppState {
    storage: OnceLock<Arc<Storage>>,
    /// The limits in force.
    pub limits: ApiLimits,
}

impl AppState {
    /// A state whose store is not open yet: `/ready` answers 503 until
    /// [`AppState::set_storage`].
    pub fn new(limits: ApiLimits) -> Self {
        Self {
            storage: OnceLock::new(),
            limits,
        }
    }

    /// Hands over the opened store; the server is ready from now on.
    pub fn set_storage(&self, storage: Arc<Storage>) {
        let _ = self.storage.set(storage);
    }

    /// The store, or 503 while it is still opening.
    pub fn storage(&self) -> Result<&Arc<Storage>, ApiError> {
        self.storage.get().ok_or(ApiError::NotReady)
    }
}
