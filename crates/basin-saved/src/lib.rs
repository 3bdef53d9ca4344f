//! Saved queries and dashboards: what a team keeps so that nobody has to
//! write the usual queries again. Stored per tenant in an embedded SQLite
//! database in the data directory (`saved.sqlite`); dashboards are kept as
//! the JSON the UI exports, so export and import are the same document.
//!
//! Depends on nothing of Basin's: it stores text and JSON, and the API
//! checks who may touch which tenant.

mod error;
mod store;

pub use error::SavedError;
pub use store::{Dashboard, SavedQuery, SavedStore, DB_FILE, LIMITS};
