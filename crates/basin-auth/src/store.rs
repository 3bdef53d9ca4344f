//! The token database: `auth.sqlite` in the data directory.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension};

use crate::token::{self, hash, same};
use crate::{AuthError, Grant, Scope, ANY_TENANT};

/// The database's file name inside the data directory.
pub const DB_FILE: &str = "auth.sqlite";

/// How long a verified token is trusted without asking the database again:
/// a token revoked anywhere (the CLI works on the file directly) stops
/// working within this.
const CACHE_FOR: Duration = Duration::from_millis(500);

/// Waits this long for another process (the CLI, the server) holding the
/// database's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A token as listed: everything but its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Public id (the part after `basin_`).
    pub id: String,
    /// What it is for, as its maker named it.
    pub name: String,
    /// Its scopes.
    pub scopes: Vec<Scope>,
    /// Its tenants (`*`: all).
    pub tenants: Vec<String>,
    /// Unix seconds when it was made.
    pub created_at: i64,
    /// Unix seconds when it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// Tokens, hashed, in SQLite; verified ones cached for half a second.
pub struct TokenStore {
    conn: Mutex<Connection>,
    cache: Mutex<HashMap<String, (Grant, Instant)>>,
}

impl TokenStore {
    /// Opens (or creates) the database in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, AuthError> {
        let conn = Connection::open(data_dir.join(DB_FILE))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL lets the server read while the CLI writes.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS tokens (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                secret_sha256 BLOB NOT NULL,
                scopes TEXT NOT NULL,
                tenants TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                revoked_at INTEGER
            );",
        )?;
        Ok(Self {
            conn: Mutex::new(conn),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Makes a token; returns its text (shown once, never stored) and info.
    pub fn create(
        &self,
        name: &str,
        scopes: &[Scope],
        tenants: &[String],
    ) -> Result<(String, TokenInfo), AuthError> {
        if scopes.is_empty() {
            return Err(AuthError::Incomplete(
                "a token needs at least one scope (push, read, rules, admin)".into(),
            ));
        }
        if tenants.is_empty() {
            return Err(AuthError::Incomplete(
                "a token needs at least one tenant (or * for all)".into(),
            ));
        }
        for t in tenants {
            if t != ANY_TENANT {
                basin_model::TenantId::new(t).map_err(|e| AuthError::BadTenant {
                    tenant: t.clone(),
                    reason: e.to_string(),
                })?;
            }
        }
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        let (id, text) = token::generate()?;
        let (_, secret) = token::split(&text)?;
        let info = TokenInfo {
            id: id.clone(),
            name: name.to_string(),
            scopes,
            tenants: tenants.to_vec(),
            created_at: chrono::Utc::now().timestamp(),
            revoked_at: None,
        };
        self.conn()?.execute(
            "INSERT INTO tokens (id, name, secret_sha256, scopes, tenants, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                info.id,
                info.name,
                hash(secret),
                join(&info.scopes),
                info.tenants.join(","),
                info.created_at
            ],
        )?;
        Ok((text, info))
    }

    /// Every token, newest first, revoked ones included.
    pub fn list(&self) -> Result<Vec<TokenInfo>, AuthError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT id, name, scopes, tenants, created_at, revoked_at
             FROM tokens ORDER BY created_at DESC, id",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(TokenInfo {
                id: row.get(0)?,
                name: row.get(1)?,
                scopes: parse_scopes(&row.get::<_, String>(2)?),
                tenants: split_list(&row.get::<_, String>(3)?),
                created_at: row.get(4)?,
                revoked_at: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Revokes a token by id; false when no live token has it.
    pub fn revoke(&self, id: &str) -> Result<bool, AuthError> {
        let changed = self.conn()?.execute(
            "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, chrono::Utc::now().timestamp()],
        )?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|_, (grant, _)| grant.id != id);
        }
        Ok(changed > 0)
    }

    /// Whether any live token exists.
    pub fn any_live(&self) -> Result<bool, AuthError> {
        let n: i64 = self.conn()?.query_row(
            "SELECT COUNT(*) FROM tokens WHERE revoked_at IS NULL",
            [],
            |row| row.get(0),
        )?;
        Ok(n > 0)
    }

    /// What a token's text grants, if it is live.
    pub fn verify(&self, text: &str) -> Result<Grant, AuthError> {
        let (id, secret) = token::split(text)?;
        let now = Instant::now();
        if let Ok(cache) = self.cache.lock() {
            if let Some((grant, at)) = cache.get(text) {
                if now.duration_since(*at) < CACHE_FOR {
                    return Ok(grant.clone());
                }
            }
        }
        let row: Option<(Vec<u8>, String, String)> = self
            .conn()?
            .query_row(
                "SELECT secret_sha256, scopes, tenants FROM tokens
                 WHERE id = ?1 AND revoked_at IS NULL",
                params![id],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        let Some((stored, scopes, tenants)) = row else {
            return Err(AuthError::Unknown);
        };
        if !same(&stored, &hash(secret)) {
            return Err(AuthError::Unknown);
        }
        let grant = Grant {
            id: id.to_string(),
            scopes: parse_scopes(&scopes),
            tenants: split_list(&tenants),
        };
        if let Ok(mut cache) = self.cache.lock() {
            // Old entries go when the cache grows: tokens are few.
            if cache.len() > 10_000 {
                cache.retain(|_, (_, at)| now.duration_since(*at) < CACHE_FOR);
            }
            cache.insert(text.to_string(), (grant.clone(), now));
        }
        Ok(grant)
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, AuthError> {
        // A panic while holding the lock leaves the connection usable.
        Ok(self.conn.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

fn join(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_scopes(text: &str) -> Vec<Scope> {
    split_list(text)
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect()
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_until_revoked_from_another_connection() {
        let dir = tempfile::tempdir().unwrap();
        let server = TokenStore::open(dir.path()).unwrap();
        let cli = TokenStore::open(dir.path()).unwrap();
        assert!(!server.any_live().unwrap());
        let (text, info) = cli
            .create("alloy", &[Scope::Push, Scope::Push], &["team-a".into()])
            .unwrap();
        assert_eq!(info.scopes, vec![Scope::Push]);
        let grant = server.verify(&text).unwrap();
        assert_eq!(grant.tenants, vec!["team-a".to_string()]);
        assert!(grant.allows(Scope::Push) && !grant.allows(Scope::Read));
        // A wrong secret with a real id is refused.
        let forged = format!(
            "{}{}",
            &text[..text.len() - 1],
            if text.ends_with('A') { 'B' } else { 'A' }
        );
        assert!(matches!(server.verify(&forged), Err(AuthError::Unknown)));

        assert!(cli.revoke(&info.id).unwrap());
        assert!(!cli.revoke(&info.id).unwrap());
        std::thread::sleep(CACHE_FOR);
        assert!(matches!(server.verify(&text), Err(AuthError::Unknown)));
        let listed = server.list().unwrap();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].revoked_at.is_some());
        // The database never holds the secret.
        let (_, secret) = token::split(&text).unwrap();
        for file in std::fs::read_dir(dir.path()).unwrap() {
            let bytes = std::fs::read(file.unwrap().path()).unwrap();
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
        }
    }

    #[test]
    fn bad_requests_for_tokens_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::open(dir.path()).unwrap();
        assert!(store.create("x", &[], &["a".into()]).is_err());
        assert!(store.create("x", &[Scope::Read], &[]).is_err());
        assert!(store
            .create("x", &[Scope::Read], &["../etc".into()])
            .is_err());
        assert!(store.create("x", &[Scope::Admin], &["*".into()]).is_ok());
    }
}
