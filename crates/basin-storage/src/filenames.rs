//! Every on-disk name in one place.
//!
//! ```text
//! <data_dir>/manifest.json                     live parts and the WAL watermark
//! <data_dir>/wal/<seq:016>.wal                 WAL segments, replayed in order
//! <data_dir>/parts/<tenant>/<day>/<id:016>.parquet
//! ```

use std::path::{Path, PathBuf};

/// Directory of WAL segments.
pub const WAL_DIR: &str = "wal";
/// Directory of parts.
pub const PARTS_DIR: &str = "parts";
/// Where parts that fail their checks at start are moved, kept for a look.
pub const QUARANTINE_DIR: &str = "quarantine";
/// The manifest: the one file that says which parts are live.
pub const MANIFEST: &str = "manifest.json";
/// Suffix of files being written; they are renamed into place when complete,
/// and any left over from a crash are deleted at start.
pub const TMP_SUFFIX: &str = ".tmp";
/// Extension of WAL segments.
pub const WAL_EXT: &str = "wal";
/// Extension of parts.
pub const PART_EXT: &str = "parquet";

/// Path of WAL segment `seq`.
pub fn wal_segment(data_dir: &Path, seq: u64) -> PathBuf {
    data_dir.join(WAL_DIR).join(format!("{seq:016}.{WAL_EXT}"))
}

/// Parses a WAL segment file name back to its sequence number.
pub fn wal_segment_seq(file_name: &str) -> Option<u64> {
    file_name
        .strip_suffix(&format!(".{WAL_EXT}"))
        .and_then(|s| s.parse().ok())
}

/// Directory of a tenant's parts for one day.
pub fn part_dir(data_dir: &Path, tenant: &str, day: &str) -> PathBuf {
    data_dir.join(PARTS_DIR).join(tenant).join(day)
}

/// Path of part `id`.
pub fn part_file(data_dir: &Path, tenant: &str, day: &str, id: u64) -> PathBuf {
    part_dir(data_dir, tenant, day).join(format!("{id:016}.{PART_EXT}"))
}

/// The temporary name a file is written under before it is renamed to `path`.
pub fn tmp_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(TMP_SUFFIX);
    PathBuf::from(name)
}

/// Removes a file when dropped unless [`DiscardOnError::keep`] was called,
/// so a write that fails part-way (a full disk) leaves nothing behind to
/// take the space that returns.
pub(crate) struct DiscardOnError {
    path: Option<PathBuf>,
}

impl DiscardOnError {
    /// Guards `path`, which the caller is about to write.
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            path: Some(path.to_path_buf()),
        }
    }

    /// The write succeeded: the file stays.
    pub(crate) fn keep(mut self) {
        self.path = None;
    }
}

impl Drop for DiscardOnError {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discard_removes_unless_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (lost, kept) = (dir.path().join("a.tmp"), dir.path().join("b"));
        for p in [&lost, &kept] {
            std::fs::write(p, b"x").unwrap();
        }
        drop(DiscardOnError::new(&lost));
        DiscardOnError::new(&kept).keep();
        assert!(!lost.exists());
        assert!(kept.exists());
    }
}
