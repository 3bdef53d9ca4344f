//! Pattern miners' state on disk: `<data_dir>/patterns/<tenant>.json`,
//! written atomically (temporary file, then rename), read at start before
//! any push is accepted, so pattern ids stay stable across restarts.

use std::io;
use std::path::{Path, PathBuf};

use basin_model::TenantId;
use basin_pipeline::patterns::PatternStore;

/// The folder under the data directory.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("patterns")
}

/// Loads every tenant's saved state into `store`; returns how many.
pub fn load(data_dir: &Path, store: &PatternStore) -> io::Result<usize> {
    let dir = dir(data_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut loaded = 0;
    for entry in entries {
        let path = entry?.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        let Ok(tenant) = TenantId::new(name) else {
            continue;
        };
        let text = std::fs::read_to_string(&path)?;
        store.load(tenant, &text).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })?;
        loaded += 1;
    }
    Ok(loaded)
}

/// Writes the state of every tenant whose patterns changed.
pub fn save(data_dir: &Path, store: &PatternStore) -> io::Result<()> {
    let states = store.save().map_err(io::Error::other)?;
    if states.is_empty() {
        return Ok(());
    }
    let dir = dir(data_dir);
    std::fs::create_dir_all(&dir)?;
    for (tenant, json) in states {
        let path = dir.join(format!("{}.json", tenant.as_str()));
        let tmp = dir.join(format!("{}.json.tmp", tenant.as_str()));
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use basin_model::{Entry, Labels, PushBatch, StreamBatch};
    use basin_pipeline::patterns::MinerConfig;

    use super::*;

    #[test]
    fn saved_state_loads_back() {
        let data = tempfile::tempdir().unwrap();
        let store = PatternStore::new(MinerConfig::default());
        let mut batch = PushBatch {
            tenant: TenantId::new("acme").unwrap(),
            streams: vec![StreamBatch {
                labels: Labels::parse(r#"{job="x"}"#).unwrap(),
                entries: vec![Entry::new(1, "job 7 done")],
            }],
        };
        store.tag(&mut batch);
        save(data.path(), &store).unwrap();
        let back = PatternStore::new(MinerConfig::default());
        assert_eq!(load(data.path(), &back).unwrap(), 1);
        let tenant = TenantId::new("acme").unwrap();
        assert_eq!(back.patterns(&tenant), store.patterns(&tenant));
        std::fs::write(dir(data.path()).join("bad.json"), "{").unwrap();
        let err = load(data.path(), &PatternStore::default()).unwrap_err();
        assert!(err.to_string().contains("bad.json"), "{err}");
    }
}
