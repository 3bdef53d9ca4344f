//! Memory budgets: what one query may hold (`max_query_memory_bytes`) and
//! what all running queries may hold together (`max_query_memory_total_bytes`).
//!
//! Queries account for what grows with the data (samples, series, kept
//! rows), not every allocation: the figures are estimates of heap bytes,
//! reserved in chunks so that scan workers rarely touch the shared counters.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::QueryError;

/// Bytes a scan worker reserves at a time.
pub(crate) const CHUNK: usize = 256 * 1024;

/// The memory all queries of a server share.
#[derive(Debug)]
pub struct MemoryPool {
    limit: usize,
    used: AtomicUsize,
}

impl MemoryPool {
    /// A pool of `limit` bytes (0: unlimited, only counted).
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit,
            used: AtomicUsize::new(0),
        })
    }

    /// Bytes reserved by running queries now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

/// One query's reservation, returned to its pool when the query ends.
#[derive(Debug)]
pub(crate) struct QueryMemory {
    limit: usize,
    used: AtomicUsize,
    pool: Option<Arc<MemoryPool>>,
}

impl QueryMemory {
    pub(crate) fn new(limit: usize, pool: Option<Arc<MemoryPool>>) -> Self {
        Self {
            limit,
            used: AtomicUsize::new(0),
            pool,
        }
    }

    /// Takes `bytes` more, or says which limit they would pass.
    pub(crate) fn reserve(&self, bytes: usize) -> Result<(), QueryError> {
        let now = self.used.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if self.limit > 0 && now > self.limit {
            self.used.fetch_sub(bytes, Ordering::Relaxed);
            return Err(QueryError::ResourcesExhausted {
                message: format!(
                    "query needs more than its memory budget of {} (max_query_memory_bytes); narrow the time range or the selector, or aggregate with sum by (...)",
                    human(self.limit)
                ),
                shared: false,
            });
        }
        if let Some(pool) = &self.pool {
            let all = pool.used.fetch_add(bytes, Ordering::Relaxed) + bytes;
            if pool.limit > 0 && all > pool.limit {
                pool.used.fetch_sub(bytes, Ordering::Relaxed);
                self.used.fetch_sub(bytes, Ordering::Relaxed);
                return Err(QueryError::ResourcesExhausted {
                    message: format!(
                        "running queries hold the server's query memory of {} (max_query_memory_total_bytes); retry later or narrow the query",
                        human(pool.limit)
                    ),
                    shared: true,
                });
            }
        }
        Ok(())
    }

    /// Gives `bytes` back.
    pub(crate) fn release(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::Relaxed);
        if let Some(pool) = &self.pool {
            pool.used.fetch_sub(bytes, Ordering::Relaxed);
        }
    }
}

impl Drop for QueryMemory {
    fn drop(&mut self) {
        if let Some(pool) = &self.pool {
            pool.used.fetch_sub(*self.used.get_mut(), Ordering::Relaxed);
        }
    }
}

/// A scan worker's share: tracks what the worker holds and keeps a
/// reservation of whole chunks above it.
#[derive(Debug)]
pub(crate) struct WorkerMemory<'a> {
    query: Option<&'a QueryMemory>,
    reserved: usize,
}

impl<'a> WorkerMemory<'a> {
    pub(crate) fn new(query: Option<&'a QueryMemory>) -> Self {
        Self { query, reserved: 0 }
    }

    /// The worker now holds `bytes`: reserves or releases whole chunks to
    /// match, failing when a limit would be passed.
    pub(crate) fn hold(&mut self, bytes: usize) -> Result<(), QueryError> {
        let Some(query) = self.query else {
            return Ok(());
        };
        if bytes > self.reserved {
            let want = bytes.div_ceil(CHUNK) * CHUNK;
            query.reserve(want - self.reserved)?;
            self.reserved = want;
        } else if bytes + 2 * CHUNK < self.reserved {
            let want = bytes.div_ceil(CHUNK) * CHUNK;
            query.release(self.reserved - want);
            self.reserved = want;
        }
        Ok(())
    }
}

impl Drop for WorkerMemory<'_> {
    fn drop(&mut self) {
        if let Some(query) = self.query {
            query.release(self.reserved);
        }
    }
}

/// Estimated heap bytes of a label set kept as a series key: its text
/// plus the map and vector entries that hold it.
pub(crate) fn key_bytes(labels: &crate::label_set::LabelSet) -> usize {
    labels
        .pairs()
        .map(|(k, v)| k.len() + v.len() + 56)
        .sum::<usize>()
        + 96
}

fn human(bytes: usize) -> String {
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_stops_at_its_own_budget() {
        let pool = MemoryPool::new(0);
        let q = QueryMemory::new(10 * CHUNK, Some(pool.clone()));
        let mut w = WorkerMemory::new(Some(&q));
        w.hold(9 * CHUNK).unwrap();
        assert_eq!(pool.used(), 9 * CHUNK);
        let err = w.hold(11 * CHUNK).unwrap_err().to_string();
        assert!(err.contains("max_query_memory_bytes"), "{err}");
        // Holding less gives chunks back.
        w.hold(CHUNK).unwrap();
        assert_eq!(pool.used(), CHUNK);
        drop(w);
        drop(q);
        assert_eq!(pool.used(), 0);
    }

    #[test]
    fn queries_together_stop_at_the_pool() {
        let pool = MemoryPool::new(4 * CHUNK);
        let a = QueryMemory::new(0, Some(pool.clone()));
        let b = QueryMemory::new(0, Some(pool.clone()));
        a.reserve(3 * CHUNK).unwrap();
        let err = b.reserve(2 * CHUNK).unwrap_err().to_string();
        assert!(err.contains("max_query_memory_total_bytes"), "{err}");
        b.reserve(CHUNK).unwrap();
        drop(a);
        assert_eq!(pool.used(), CHUNK);
        b.reserve(3 * CHUNK).unwrap();
    }
}
