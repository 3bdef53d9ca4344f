//! Rule groups on disk, as Loki's local rule store lays them out:
//! `<rules dir>/<tenant>/<namespace>.yaml`, each file a `groups:` document.
//! Unlike Loki's local store it is writable through the ruler API, so
//! Grafana can edit rules; files placed by hand are read the same way.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use basin_model::TenantId;

use crate::group::{file_yaml, parse_file, RuleGroup};
use crate::RulesError;

/// Rule groups per tenant and namespace, in a directory.
#[derive(Debug)]
pub struct RuleStore {
    root: PathBuf,
    /// Serialises writers: a read-modify-write of one file at a time.
    writing: Mutex<()>,
    /// Bumped on every change made through the store.
    generation: AtomicU64,
}

/// Groups by namespace.
pub type Namespaces = BTreeMap<String, Vec<RuleGroup>>;

impl RuleStore {
    /// A store rooted at `root` (created when the first group is saved).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            writing: Mutex::new(()),
            generation: AtomicU64::new(0),
        }
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Changes made through the store so far; the ruler reloads when it moves.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Tenants that have a rules directory.
    pub fn tenants(&self) -> Result<Vec<TenantId>, RulesError> {
        let entries = match fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(RulesError::io("cannot list", &self.root, e)),
        };
        let mut out: Vec<TenantId> = entries
            .flatten()
            .filter(|e| e.path().is_dir())
            .filter_map(|e| TenantId::new(&e.file_name().to_string_lossy()).ok())
            .collect();
        out.sort();
        Ok(out)
    }

    fn tenant_dir(&self, tenant: &TenantId) -> PathBuf {
        self.root.join(tenant.as_str())
    }

    /// Every namespace of `tenant` with its groups. A file that does not
    /// parse is an error naming it: rules must not vanish silently.
    pub fn list(&self, tenant: &TenantId) -> Result<Namespaces, RulesError> {
        let dir = self.tenant_dir(tenant);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Namespaces::new()),
            Err(e) => return Err(RulesError::io("cannot list", &dir, e)),
        };
        let mut out = Namespaces::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(namespace) = namespace_of(&path) else {
                continue;
            };
            let groups = read_groups(&path)?;
            if !groups.is_empty() {
                out.insert(namespace, groups);
            }
        }
        Ok(out)
    }

    /// One namespace's groups (empty when it does not exist).
    pub fn namespace(
        &self,
        tenant: &TenantId,
        namespace: &str,
    ) -> Result<Vec<RuleGroup>, RulesError> {
        let path = self.file(tenant, namespace)?;
        if !path.exists() {
            return Ok(Vec::new());
        }
        read_groups(&path)
    }

    /// One group.
    pub fn group(
        &self,
        tenant: &TenantId,
        namespace: &str,
        name: &str,
    ) -> Result<RuleGroup, RulesError> {
        self.namespace(tenant, namespace)?
            .into_iter()
            .find(|g| g.name == name)
            .ok_or_else(|| RulesError::NotFound("group does not exist".into()))
    }

    /// Saves `group` into `namespace`, replacing the group of the same name.
    pub fn set_group(
        &self,
        tenant: &TenantId,
        namespace: &str,
        group: RuleGroup,
    ) -> Result<(), RulesError> {
        let _write = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        let mut groups = self.namespace(tenant, namespace)?;
        match groups.iter_mut().find(|g| g.name == group.name) {
            Some(old) => *old = group,
            None => groups.push(group),
        }
        self.write(tenant, namespace, &groups)
    }

    /// Deletes a whole namespace.
    pub fn delete_namespace(&self, tenant: &TenantId, namespace: &str) -> Result<(), RulesError> {
        let _write = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        let path = self.file(tenant, namespace)?;
        match fs::remove_file(&path) {
            Ok(()) => {
                self.generation.fetch_add(1, Ordering::AcqRel);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(RulesError::NotFound(
                "group namespace does not exist".into(),
            )),
            Err(e) => Err(RulesError::io("cannot delete", &path, e)),
        }
    }

    /// Deletes one group; the namespace's file goes with its last group.
    pub fn delete_group(
        &self,
        tenant: &TenantId,
        namespace: &str,
        name: &str,
    ) -> Result<(), RulesError> {
        let _write = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        let mut groups = self.namespace(tenant, namespace)?;
        let before = groups.len();
        groups.retain(|g| g.name != name);
        if groups.len() == before {
            return Err(RulesError::NotFound("group does not exist".into()));
        }
        self.write(tenant, namespace, &groups)
    }

    fn write(
        &self,
        tenant: &TenantId,
        namespace: &str,
        groups: &[RuleGroup],
    ) -> Result<(), RulesError> {
        let path = self.file(tenant, namespace)?;
        if groups.is_empty() {
            fs::remove_file(&path).map_err(|e| RulesError::io("cannot delete", &path, e))?;
        } else {
            let dir = self.tenant_dir(tenant);
            fs::create_dir_all(&dir).map_err(|e| RulesError::io("cannot create", &dir, e))?;
            write_atomic(&path, file_yaml(groups).as_bytes())?;
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// The file of a namespace; any name is safe, as it is escaped.
    fn file(&self, tenant: &TenantId, namespace: &str) -> Result<PathBuf, RulesError> {
        if namespace.is_empty() {
            return Err(RulesError::Invalid("invalid namespace: empty".into()));
        }
        Ok(self
            .tenant_dir(tenant)
            .join(format!("{}.yaml", escape(namespace))))
    }
}

fn read_groups(path: &Path) -> Result<Vec<RuleGroup>, RulesError> {
    let text = fs::read_to_string(path).map_err(|e| RulesError::io("cannot read", path, e))?;
    parse_file(&text)
        .map(|f| f.groups)
        .map_err(|e| RulesError::Invalid(format!("rule file {}: {e}", path.display())))
}

/// Writes a file whole or not at all: temporary file, fsync, rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RulesError> {
    let tmp = path.with_extension("tmp");
    let mut file = fs::File::create(&tmp).map_err(|e| RulesError::io("cannot create", &tmp, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| RulesError::io("cannot write", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| RulesError::io("cannot rename", &tmp, e))?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// The namespace a rule file holds: its name without `.yaml`/`.yml`,
/// unescaped; None for other files.
fn namespace_of(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let stem = name
        .strip_suffix(".yaml")
        .or_else(|| name.strip_suffix(".yml"))?;
    (!stem.is_empty() && path.is_file()).then(|| unescape(stem))
}

/// Bytes outside `[A-Za-z0-9_-]` (and a leading dot) as `%XX`, so a
/// namespace never leaves its directory or hides as a dot file.
fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, b) in name.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn unescape(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::parse_group;

    fn group(name: &str) -> RuleGroup {
        parse_group(&format!(
            "name: {name}\nrules:\n  - record: r\n    expr: count_over_time({{a=\"b\"}}[1m])\n"
        ))
        .expect("valid")
    }

    #[test]
    fn round_trip_and_isolation() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = RuleStore::new(dir.path().join("rules"));
        let a = TenantId::new("a").expect("tenant");
        let b = TenantId::new("b").expect("tenant");
        store.set_group(&a, "team/api", group("g1")).expect("save");
        store.set_group(&a, "team/api", group("g2")).expect("save");
        store
            .set_group(&a, "team/api", group("g1"))
            .expect("replace");
        assert_eq!(store.namespace(&a, "team/api").expect("read").len(), 2);
        assert!(store.list(&b).expect("list").is_empty());
        assert_eq!(
            store.list(&a).expect("list").keys().collect::<Vec<_>>(),
            ["team/api"]
        );
        assert_eq!(store.group(&a, "team/api", "g2").expect("get").name, "g2");
        assert!(matches!(
            store.group(&b, "team/api", "g2"),
            Err(RulesError::NotFound(_))
        ));
        store.delete_group(&a, "team/api", "g1").expect("delete");
        store.delete_group(&a, "team/api", "g2").expect("delete");
        assert!(store.list(&a).expect("list").is_empty());
        assert!(matches!(
            store.delete_namespace(&a, "team/api"),
            Err(RulesError::NotFound(_))
        ));
        assert_eq!(store.tenants().expect("tenants"), vec![a]);
    }

    #[test]
    fn names_cannot_escape() {
        for name in ["../x", "..", ".hidden", "a/b", "x%2Fy", "ünï"] {
            let escaped = escape(name);
            assert!(
                !escaped.contains('/') && !escaped.starts_with('.'),
                "{escaped}"
            );
            assert_eq!(unescape(&escaped), name);
        }
    }
}
