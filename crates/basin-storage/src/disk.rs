//! Free disk space: pushes are refused before the data directory's file
//! system is full, and write errors for lack of space are told apart.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Result, StorageError};

/// How long a free-space reading is trusted while it shows room enough.
/// Pushes arrive by the thousand a second; one `statvfs` a second is enough
/// to stop them well before a threshold of megabytes is crossed.
const RECHECK: Duration = Duration::from_secs(1);

/// Refuses writes while the file system holding the data directory has less
/// than `min_free` bytes available.
pub(crate) struct DiskGuard {
    dir: PathBuf,
    min_free: u64,
    checked: Option<(Instant, bool)>,
}

impl DiskGuard {
    /// A guard over `dir`; `min_free` 0 never refuses.
    pub(crate) fn new(dir: &Path, min_free: u64) -> Self {
        Self {
            dir: dir.to_path_buf(),
            min_free,
            checked: None,
        }
    }

    /// Ok while there is room; [`StorageError::DiskFull`] otherwise. A low
    /// reading is taken again at every call, so writes resume as soon as
    /// space returns.
    pub(crate) fn check(&mut self) -> Result<()> {
        if self.min_free == 0 {
            return Ok(());
        }
        let fresh = matches!(self.checked, Some((at, true)) if at.elapsed() < RECHECK);
        if !fresh {
            // A file system that cannot say is taken as roomy: the write
            // itself still fails cleanly if it is not.
            let room = free_bytes(&self.dir).is_none_or(|free| free >= self.min_free);
            self.checked = Some((Instant::now(), room));
        }
        match self.checked {
            Some((_, false)) => Err(StorageError::DiskFull(format!(
                "less than min_free_disk_bytes ({}) available under {}",
                self.min_free,
                self.dir.display()
            ))),
            _ => Ok(()),
        }
    }
}

/// Bytes an unprivileged writer may still use on the file system of `path`.
pub fn free_bytes(path: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        let st = rustix::fs::statvfs(path).ok()?;
        Some(st.f_bavail.saturating_mul(st.f_frsize))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Whether an I/O error means the disk (or the user's quota) is full.
pub fn is_out_of_space(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_threshold_never_refuses() {
        let dir = tempfile::tempdir().unwrap();
        assert!(DiskGuard::new(dir.path(), 0).check().is_ok());
    }

    #[test]
    fn threshold_above_the_disk_refuses_with_the_setting_named() {
        let dir = tempfile::tempdir().unwrap();
        assert!(free_bytes(dir.path()).is_some_and(|f| f > 0));
        let err = DiskGuard::new(dir.path(), u64::MAX).check().unwrap_err();
        assert!(matches!(err, StorageError::DiskFull(_)));
        assert!(err.to_string().contains("min_free_disk_bytes"), "{err}");
    }

    #[test]
    fn enospc_is_out_of_space() {
        assert!(is_out_of_space(&io::Error::from_raw_os_error(28)));
        assert!(!is_out_of_space(&io::Error::from_raw_os_error(2)));
    }
}
