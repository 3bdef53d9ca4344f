//! The database: one table per kind, keyed by tenant and a random id.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::SavedError;

/// The database's file name inside the data directory.
pub const DB_FILE: &str = "saved.sqlite";

/// Sizes and counts a tenant may keep.
pub struct Limits {
    /// Longest name or title, in bytes.
    pub name_bytes: usize,
    /// Longest description, in bytes.
    pub description_bytes: usize,
    /// Longest query, in bytes.
    pub query_bytes: usize,
    /// Largest dashboard document, in bytes of JSON.
    pub dashboard_bytes: usize,
    /// Most objects of one kind per tenant.
    pub per_tenant: usize,
}

/// The limits every store applies.
pub const LIMITS: Limits = Limits {
    name_bytes: 200,
    description_bytes: 4096,
    query_bytes: 64 * 1024,
    dashboard_bytes: 1024 * 1024,
    per_tenant: 10_000,
};

/// A query saved for the team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedQuery {
    /// Random id, 16 hex digits.
    pub id: String,
    /// What it answers, in a few words.
    pub name: String,
    /// Longer notes (may be empty).
    #[serde(default)]
    pub description: String,
    /// The LogQL text.
    pub query: String,
    /// When it was last written, RFC 3339.
    #[serde(default)]
    pub updated_at: String,
}

/// A dashboard: its id and title, and the document the UI draws it from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Random id, 16 hex digits.
    pub id: String,
    /// Its title (copied from the document's `title`).
    pub title: String,
    /// Panels, variables, time range and refresh, as the UI exports them.
    pub document: serde_json::Value,
    /// When it was last written, RFC 3339.
    #[serde(default)]
    pub updated_at: String,
}

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Saved queries and dashboards in SQLite.
pub struct SavedStore {
    conn: Mutex<Connection>,
}

fn new_id() -> Result<String, SavedError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| SavedError::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn check_len(what: &str, text: &str, max: usize, required: bool) -> Result<(), SavedError> {
    if required && text.trim().is_empty() {
        return Err(SavedError::Invalid(format!("{what} must not be empty")));
    }
    if text.len() > max {
        return Err(SavedError::Invalid(format!(
            "{what} is {} bytes; at most {max} are allowed",
            text.len()
        )));
    }
    Ok(())
}

/// The title of a dashboard document, checked.
fn title_of(document: &serde_json::Value) -> Result<String, SavedError> {
    if !document.is_object() {
        return Err(SavedError::Invalid(
            "a dashboard must be a JSON object".into(),
        ));
    }
    let title = document
        .get("title")
        .and_then(|t| t.as_str())
        .ok_or_else(|| SavedError::Invalid("a dashboard needs a \"title\" string".into()))?;
    check_len("title", title, LIMITS.name_bytes, true)?;
    if let Some(panels) = document.get("panels") {
        if !panels.is_array() {
            return Err(SavedError::Invalid("\"panels\" must be an array".into()));
        }
    }
    let size = document.to_string().len();
    if size > LIMITS.dashboard_bytes {
        return Err(SavedError::Invalid(format!(
            "the dashboard is {size} bytes of JSON; at most {} are allowed",
            LIMITS.dashboard_bytes
        )));
    }
    Ok(title.to_string())
}

impl SavedStore {
    /// Opens (or creates) the database in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, SavedError> {
        let conn = Connection::open(data_dir.join(DB_FILE))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS saved_queries (
                tenant TEXT NOT NULL,
                id TEXT NOT NULL,
                name TEXT NOT NULL,
                description TEXT NOT NULL,
                query TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (tenant, id)
            );
            CREATE TABLE IF NOT EXISTS dashboards (
                tenant TEXT NOT NULL,
                id TEXT NOT NULL,
                title TEXT NOT NULL,
                document TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (tenant, id)
            );",
        )?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (every
        // write is one statement), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn count(&self, table: &str, tenant: &str) -> Result<usize, SavedError> {
        let n: i64 = self.conn().query_row(
            &format!("SELECT COUNT(*) FROM {table} WHERE tenant = ?1"),
            [tenant],
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }

    /// The tenant's saved queries, by name.
    pub fn queries(&self, tenant: &str) -> Result<Vec<SavedQuery>, SavedError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, name, description, query, updated_at FROM saved_queries
             WHERE tenant = ?1 ORDER BY name COLLATE NOCASE, id",
        )?;
        let rows = stmt.query_map([tenant], |r| {
            Ok(SavedQuery {
                id: r.get(0)?,
                name: r.get(1)?,
                description: r.get(2)?,
                query: r.get(3)?,
                updated_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Saves a new query (its `id` is ignored and a new one given) or, with
    /// `id`, replaces that one.
    pub fn put_query(
        &self,
        tenant: &str,
        id: Option<&str>,
        query: &SavedQuery,
    ) -> Result<SavedQuery, SavedError> {
        check_len("name", &query.name, LIMITS.name_bytes, true)?;
        check_len(
            "description",
            &query.description,
            LIMITS.description_bytes,
            false,
        )?;
        check_len("query", &query.query, LIMITS.query_bytes, true)?;
        let mut saved = query.clone();
        saved.updated_at = now();
        match id {
            Some(id) => {
                let n = self.conn().execute(
                    "UPDATE saved_queries SET name = ?3, description = ?4, query = ?5, updated_at = ?6
                     WHERE tenant = ?1 AND id = ?2",
                    params![tenant, id, saved.name, saved.description, saved.query, saved.updated_at],
                )?;
                if n == 0 {
                    return Err(SavedError::NotFound {
                        kind: "saved query",
                        id: id.into(),
                    });
                }
                saved.id = id.to_string();
            }
            None => {
                if self.count("saved_queries", tenant)? >= LIMITS.per_tenant {
                    return Err(SavedError::TooMany(format!(
                        "this tenant already has {} saved queries, the most allowed",
                        LIMITS.per_tenant
                    )));
                }
                saved.id = new_id()?;
                self.conn().execute(
                    "INSERT INTO saved_queries (tenant, id, name, description, query, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        tenant,
                        saved.id,
                        saved.name,
                        saved.description,
                        saved.query,
                        saved.updated_at
                    ],
                )?;
            }
        }
        Ok(saved)
    }

    /// Deletes a saved query; false when there was none.
    pub fn delete_query(&self, tenant: &str, id: &str) -> Result<bool, SavedError> {
        let n = self.conn().execute(
            "DELETE FROM saved_queries WHERE tenant = ?1 AND id = ?2",
            params![tenant, id],
        )?;
        Ok(n > 0)
    }

    /// The tenant's dashboards, by title, documents included.
    pub fn dashboards(&self, tenant: &str) -> Result<Vec<Dashboard>, SavedError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, title, document, updated_at FROM dashboards
             WHERE tenant = ?1 ORDER BY title COLLATE NOCASE, id",
        )?;
        let rows = stmt.query_map([tenant], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, title, document, updated_at) = row?;
            // Documents are checked JSON when written; a row that no longer
            // parses (edited by hand) is shown as an empty dashboard.
            let document = serde_json::from_str(&document).unwrap_or(serde_json::Value::Null);
            out.push(Dashboard {
                id,
                title,
                document,
                updated_at,
            });
        }
        Ok(out)
    }

    /// One dashboard.
    pub fn dashboard(&self, tenant: &str, id: &str) -> Result<Dashboard, SavedError> {
        let row = self
            .conn()
            .query_row(
                "SELECT title, document, updated_at FROM dashboards WHERE tenant = ?1 AND id = ?2",
                params![tenant, id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()?;
        let (title, document, updated_at) = row.ok_or_else(|| SavedError::NotFound {
            kind: "dashboard",
            id: id.into(),
        })?;
        let document = serde_json::from_str(&document).unwrap_or(serde_json::Value::Null);
        Ok(Dashboard {
            id: id.to_string(),
            title,
            document,
            updated_at,
        })
    }

    /// Saves a new dashboard from its document, or with `id` replaces one.
    pub fn put_dashboard(
        &self,
        tenant: &str,
        id: Option<&str>,
        document: &serde_json::Value,
    ) -> Result<Dashboard, SavedError> {
        let title = title_of(document)?;
        let text = document.to_string();
        let updated_at = now();
        let id = match id {
            Some(id) => {
                let n = self.conn().execute(
                    "UPDATE dashboards SET title = ?3, document = ?4, updated_at = ?5
                     WHERE tenant = ?1 AND id = ?2",
                    params![tenant, id, title, text, updated_at],
                )?;
                if n == 0 {
                    return Err(SavedError::NotFound {
                        kind: "dashboard",
                        id: id.into(),
                    });
                }
                id.to_string()
            }
            None => {
                if self.count("dashboards", tenant)? >= LIMITS.per_tenant {
                    return Err(SavedError::TooMany(format!(
                        "this tenant already has {} dashboards, the most allowed",
                        LIMITS.per_tenant
                    )));
                }
                let id = new_id()?;
                self.conn().execute(
                    "INSERT INTO dashboards (tenant, id, title, document, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![tenant, id, title, text, updated_at],
                )?;
                id
            }
        };
        Ok(Dashboard {
            id,
            title,
            document: document.clone(),
            updated_at,
        })
    }

    /// Deletes a dashboard; false when there was none.
    pub fn delete_dashboard(&self, tenant: &str, id: &str) -> Result<bool, SavedError> {
        let n = self.conn().execute(
            "DELETE FROM dashboards WHERE tenant = ?1 AND id = ?2",
            params![tenant, id],
        )?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn query(name: &str, q: &str) -> SavedQuery {
        SavedQuery {
            id: String::new(),
            name: name.into(),
            description: String::new(),
            query: q.into(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn queries_are_kept_per_tenant_and_survive_reopening() {
        let dir = tempfile::tempdir().expect("dir");
        let id = {
            let store = SavedStore::open(dir.path()).expect("open");
            let a = store
                .put_query("a", None, &query("errors", r#"{app="api"} |= "error""#))
                .expect("save");
            store
                .put_query("b", None, &query("other", "{app=\"b\"}"))
                .expect("save");
            a.id
        };
        let store = SavedStore::open(dir.path()).expect("reopen");
        let a = store.queries("a").expect("list");
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].id, id);
        assert_eq!(a[0].query, r#"{app="api"} |= "error""#);
        assert_eq!(store.queries("b").expect("list")[0].name, "other");
        assert!(store.queries("c").expect("list").is_empty());
    }

    #[test]
    fn updates_and_deletes_touch_only_their_tenant() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SavedStore::open(dir.path()).expect("open");
        let saved = store
            .put_query("a", None, &query("x", "{a=\"1\"}"))
            .expect("save");
        let other = store.put_query("b", Some(&saved.id), &query("y", "{a=\"2\"}"));
        assert!(matches!(other, Err(SavedError::NotFound { .. })));
        assert!(!store.delete_query("b", &saved.id).expect("delete"));
        let renamed = store
            .put_query("a", Some(&saved.id), &query("renamed", "{a=\"3\"}"))
            .expect("update");
        assert_eq!(renamed.id, saved.id);
        assert_eq!(store.queries("a").expect("list")[0].name, "renamed");
        assert!(store.delete_query("a", &saved.id).expect("delete"));
        assert!(store.queries("a").expect("list").is_empty());
    }

    #[test]
    fn empty_or_oversized_fields_are_refused_by_name() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SavedStore::open(dir.path()).expect("open");
        let err = store
            .put_query("a", None, &query(" ", "{a=\"1\"}"))
            .unwrap_err();
        assert!(err.to_string().contains("name must not be empty"), "{err}");
        let long = "x".repeat(LIMITS.query_bytes + 1);
        let err = store.put_query("a", None, &query("n", &long)).unwrap_err();
        assert!(err.to_string().starts_with("query is 65537 bytes"), "{err}");
    }

    #[test]
    fn dashboards_round_trip_their_document_and_need_a_title() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SavedStore::open(dir.path()).expect("open");
        let doc = json!({"title": "API", "panels": [{"type": "timeseries", "query": "rate({a=\"1\"}[1m])"}], "variables": [{"name": "app", "label": "app"}]});
        let saved = store.put_dashboard("t", None, &doc).expect("save");
        assert_eq!(saved.title, "API");
        let back = store.dashboard("t", &saved.id).expect("get");
        assert_eq!(back.document, doc);
        assert!(matches!(
            store.dashboard("u", &saved.id),
            Err(SavedError::NotFound { .. })
        ));
        let err = store
            .put_dashboard("t", None, &json!({"panels": []}))
            .unwrap_err();
        assert!(err.to_string().contains("title"), "{err}");
        let err = store
            .put_dashboard("t", None, &json!({"title": "x", "panels": {}}))
            .unwrap_err();
        assert!(err.to_string().contains("panels"), "{err}");
        assert_eq!(store.dashboards("t").expect("list").len(), 1);
        assert!(store.delete_dashboard("t", &saved.id).expect("delete"));
    }
}
