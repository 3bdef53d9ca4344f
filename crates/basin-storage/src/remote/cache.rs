//! Blocks of remote parts kept on local disk, least recently used dropped
//! first once they pass a size cap. Parts are immutable, so a cached block
//! never goes stale; the cache starts empty at each start, which keeps its
//! bookkeeping in memory.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::RemoteStats;
use crate::error::{Result, StorageError};

/// Bytes fetched per request and cached per file: big enough that reading
/// a page costs one GET, small enough that a needle fetches little.
pub const BLOCK_BYTES: u64 = 256 * 1024;

#[derive(Default)]
struct Index {
    /// File name → (bytes, last use).
    blocks: HashMap<String, (u64, u64)>,
    total: u64,
    clock: u64,
}

/// Blocks also kept in memory: Parquet's page reader reads a block in
/// many small pieces, which should not each reread a file.
const HOT_BLOCKS: usize = 32;

/// The on-disk cache of part blocks.
pub struct RangeCache {
    dir: PathBuf,
    max_bytes: u64,
    index: Mutex<Index>,
    hot: Mutex<VecDeque<(String, Arc<Vec<u8>>)>>,
}

impl RangeCache {
    /// A cache in `dir` (emptied) holding at most `max_bytes`.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Self> {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| StorageError::io("empty cache", dir, e))?;
        }
        std::fs::create_dir_all(dir).map_err(|e| StorageError::io("create cache", dir, e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            max_bytes,
            index: Mutex::new(Index::default()),
            hot: Mutex::new(VecDeque::with_capacity(HOT_BLOCKS)),
        })
    }

    /// The cache's directory.
    pub fn dir(&self) -> &PathBuf {
        &self.dir
    }

    /// Bytes cached now.
    pub fn cached_bytes(&self) -> u64 {
        self.index.lock().unwrap_or_else(|p| p.into_inner()).total
    }

    fn name(key: &str, block: u64) -> String {
        format!(
            "{:016x}-{block}",
            xxhash_rust::xxh3::xxh3_64(key.as_bytes())
        )
    }

    /// Fills `buf` from `offset` of object `key` (`len` bytes), block by
    /// block, fetching missing blocks with `fetch(start, end)`.
    pub fn read(
        &self,
        key: &str,
        len: u64,
        offset: u64,
        buf: &mut [u8],
        stats: &RemoteStats,
        fetch: impl Fn(u64, u64) -> io::Result<Bytes>,
    ) -> io::Result<()> {
        let end = offset + buf.len() as u64;
        if end > len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("read to {end} past the end of {key} ({len} bytes)"),
            ));
        }
        let mut pos = offset;
        while pos < end {
            let block = pos / BLOCK_BYTES;
            let block_start = block * BLOCK_BYTES;
            let data = self.block(key, block, stats, || {
                fetch(block_start, (block_start + BLOCK_BYTES).min(len))
            })?;
            let from = (pos - block_start) as usize;
            let take = ((end - pos) as usize).min(data.len().saturating_sub(from));
            if take == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "short block"));
            }
            let at = (pos - offset) as usize;
            buf[at..at + take].copy_from_slice(&data[from..from + take]);
            pos += take as u64;
        }
        Ok(())
    }

    fn block(
        &self,
        key: &str,
        block: u64,
        stats: &RemoteStats,
        fetch: impl FnOnce() -> io::Result<Bytes>,
    ) -> io::Result<Arc<Vec<u8>>> {
        let name = Self::name(key, block);
        if let Some(data) = self.hot_get(&name) {
            stats.hit();
            return Ok(data);
        }
        let data = self.cold_block(&name, stats, fetch)?;
        let mut hot = self.hot.lock().unwrap_or_else(|p| p.into_inner());
        if hot.len() == HOT_BLOCKS {
            hot.pop_front();
        }
        hot.push_back((name, data.clone()));
        Ok(data)
    }

    fn hot_get(&self, name: &str) -> Option<Arc<Vec<u8>>> {
        let hot = self.hot.lock().unwrap_or_else(|p| p.into_inner());
        hot.iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.clone())
    }

    fn cold_block(
        &self,
        name: &str,
        stats: &RemoteStats,
        fetch: impl FnOnce() -> io::Result<Bytes>,
    ) -> io::Result<Arc<Vec<u8>>> {
        let name = name.to_string();
        let path = self.dir.join(&name);
        let known = {
            let mut index = self.index.lock().unwrap_or_else(|p| p.into_inner());
            index.clock += 1;
            let now = index.clock;
            match index.blocks.get_mut(&name) {
                Some(entry) => {
                    entry.1 = now;
                    true
                }
                None => false,
            }
        };
        if known {
            if let Ok(data) = std::fs::read(&path) {
                stats.hit();
                return Ok(Arc::new(data));
            }
        }
        stats.miss();
        let data = fetch()?;
        let tmp = self.dir.join(format!("{name}.tmp"));
        // A block that cannot be cached is still returned: the cache only
        // saves requests.
        if std::fs::write(&tmp, &data).is_ok() && std::fs::rename(&tmp, &path).is_ok() {
            self.admit(name, data.len() as u64);
        }
        Ok(Arc::new(data.to_vec()))
    }

    fn admit(&self, name: String, size: u64) {
        let mut index = self.index.lock().unwrap_or_else(|p| p.into_inner());
        index.clock += 1;
        let now = index.clock;
        if let Some(old) = index.blocks.insert(name, (size, now)) {
            index.total -= old.0;
        }
        index.total += size;
        while index.total > self.max_bytes && !index.blocks.is_empty() {
            let Some(oldest) = index
                .blocks
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(n, _)| n.clone())
            else {
                break;
            };
            if let Some((size, _)) = index.blocks.remove(&oldest) {
                index.total -= size;
                let _ = std::fs::remove_file(self.dir.join(&oldest));
            }
        }
    }
}
