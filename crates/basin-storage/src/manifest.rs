//! The manifest: the one file saying which parts are live and how much of the
//! WAL they cover. It is replaced atomically (temporary file, fsync, rename),
//! so a flush, merge or retention step is either wholly visible after a crash
//! or not at all; part files it does not name are leftovers and are deleted.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Result, StorageError};
use crate::filenames::{self, tmp_of, DiscardOnError};
use crate::remote::Remote;
use crate::wal::sync_dir;

/// A live part as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartMeta {
    /// Unique id; also the file name.
    pub id: u64,
    /// Tenant.
    pub tenant: String,
    /// UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// Rows.
    pub rows: u64,
    /// Earliest entry time.
    pub min_ts: i64,
    /// Latest entry time.
    pub max_ts: i64,
    /// File size.
    pub size_bytes: u64,
}

impl PartMeta {
    /// Path of the part file.
    pub fn path(&self, data_dir: &Path) -> PathBuf {
        filenames::part_file(data_dir, &self.tenant, &self.day, self.id)
    }
}

/// The manifest's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Version of this file's layout.
    pub format_version: u32,
    /// Every WAL segment up to this one is in parts and must not be replayed.
    pub wal_flushed_seq: u64,
    /// Next part id to hand out.
    pub next_part_id: u64,
    /// Live parts.
    pub parts: Vec<PartMeta>,
    /// Highest queue position applied when this manifest was written (see
    /// `Storage::append_at`); the WAL holds any later ones.
    #[serde(default)]
    pub queue_position: u64,
}

impl Default for Manifest {
    fn default() -> Self {
        Self {
            format_version: 1,
            wal_flushed_seq: 0,
            next_part_id: 1,
            parts: Vec::new(),
            queue_position: 0,
        }
    }
}

impl Manifest {
    /// Reads the manifest, or the empty one if there is none yet.
    pub fn load(data_dir: &Path) -> Result<Self> {
        let path = data_dir.join(filenames::MANIFEST);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StorageError::Corruption {
                path,
                detail: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(StorageError::io("read", path, e)),
        }
    }

    /// Replaces the manifest on disk atomically.
    pub fn save(&self, data_dir: &Path) -> Result<()> {
        let path = data_dir.join(filenames::MANIFEST);
        let tmp = tmp_of(&path);
        let bytes =
            serde_json::to_vec_pretty(self).map_err(|e| StorageError::Encode(e.to_string()))?;
        let discard = DiscardOnError::new(&tmp);
        let mut file = fs::File::create(&tmp).map_err(|e| StorageError::io("create", &tmp, e))?;
        file.write_all(&bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| StorageError::io("write", &tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| StorageError::io("rename", &tmp, e))?;
        discard.keep();
        sync_dir(data_dir)
    }

    /// Makes this manifest the store's: with a bucket, uploads the parts it
    /// names that the bucket lacks, then saves it locally, then replaces the
    /// bucket's copy, so neither copy ever names a part the bucket lacks.
    pub fn publish(&self, data_dir: &Path, remote: Option<&Remote>) -> Result<()> {
        if let Some(remote) = remote {
            for part in &self.parts {
                remote.upload_part(part, &part.path(data_dir))?;
            }
        }
        self.save(data_dir)?;
        if let Some(remote) = remote {
            let bytes =
                serde_json::to_vec_pretty(self).map_err(|e| StorageError::Encode(e.to_string()))?;
            remote.put_manifest(bytes)?;
        }
        Ok(())
    }

    /// The bucket's manifest, written to `data_dir` when the local disk has
    /// none (a node starting on an empty disk). Returns whether it did.
    pub fn restore_from(remote: &Remote, data_dir: &Path) -> Result<bool> {
        if data_dir.join(filenames::MANIFEST).exists() {
            return Ok(false);
        }
        let Some(bytes) = remote.get_manifest()? else {
            return Ok(false);
        };
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|e| StorageError::Corruption {
                path: data_dir.join(filenames::MANIFEST),
                detail: format!("the bucket's manifest: {e}"),
            })?;
        for part in &manifest.parts {
            remote.mark_uploaded(part.id);
        }
        manifest.save(data_dir)?;
        Ok(true)
    }

    /// Hands out a new part id.
    pub fn allocate_id(&mut self) -> u64 {
        let id = self.next_part_id;
        self.next_part_id += 1;
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), Manifest::default());
        let mut m = Manifest::default();
        let id = m.allocate_id();
        m.parts.push(PartMeta {
            id,
            tenant: "default".into(),
            day: "2024-01-01".into(),
            rows: 3,
            min_ts: 1,
            max_ts: 2,
            size_bytes: 100,
        });
        m.wal_flushed_seq = 7;
        m.save(dir.path()).unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), m);
    }
}
