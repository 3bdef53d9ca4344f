//! A running query's deadline and cancellation flag, checked while scanning.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::deletes::DeleteFilter;
use crate::memory::{MemoryPool, QueryMemory, WorkerMemory};
use crate::QueryError;

/// When a query must stop: at its deadline, or when its client went away.
#[derive(Debug, Clone, Default)]
pub struct QueryContext {
    deadline: Option<(Instant, Duration)>,
    cancelled: Arc<AtomicBool>,
    /// Pattern ids that merged into others → the id they go by now.
    pattern_aliases: Option<Arc<HashMap<u64, u64>>>,
    /// The query's memory budget, if it has one.
    memory: Option<Arc<QueryMemory>>,
    /// The tenant's delete requests, whose entries no answer shows.
    deletes: Option<Arc<DeleteFilter>>,
}

impl QueryContext {
    /// A query that may run for `timeout` (none: no limit).
    pub fn new(timeout: Option<Duration>) -> Self {
        Self {
            deadline: timeout.map(|t| (Instant::now() + t, t)),
            cancelled: Arc::default(),
            pattern_aliases: None,
            memory: None,
            deletes: None,
        }
    }

    /// Gives the query a memory budget of `limit` bytes (0: unlimited)
    /// drawn from `pool`, which all queries of the server share.
    pub fn with_memory_budget(mut self, limit: usize, pool: Option<Arc<MemoryPool>>) -> Self {
        self.memory = Some(Arc::new(QueryMemory::new(limit, pool)));
        self
    }

    /// Leaves out the entries `deletes` covers.
    pub fn with_deletes(mut self, deletes: Option<Arc<DeleteFilter>>) -> Self {
        self.deletes = deletes;
        self
    }

    /// Whether a delete request covers the entry.
    pub fn deleted(&self, labels: &basin_model::Labels, entry: &basin_model::Entry) -> bool {
        self.deletes
            .as_ref()
            .is_some_and(|d| d.covers(labels, entry))
    }

    /// Whether a delete request covers any time in `[start, end)`.
    pub fn deletes_overlap(&self, start: i64, end: i64) -> bool {
        self.deletes
            .as_ref()
            .is_some_and(|d| d.overlaps(start, end))
    }

    /// Takes `bytes` of the query's budget for the rest of the query.
    pub(crate) fn reserve(&self, bytes: usize) -> Result<(), QueryError> {
        match &self.memory {
            Some(m) => m.reserve(bytes),
            None => Ok(()),
        }
    }

    /// Makes `| pattern_id="12"` also keep lines stored under ids that
    /// merged into 12 (`aliases`: old id → id now).
    pub fn with_pattern_aliases(mut self, aliases: HashMap<u64, u64>) -> Self {
        self.pattern_aliases = (!aliases.is_empty()).then(|| Arc::new(aliases));
        self
    }

    /// The pattern aliases in force, if any.
    pub fn pattern_aliases(&self) -> Option<Arc<HashMap<u64, u64>>> {
        self.pattern_aliases.clone()
    }

    /// A guard that cancels the query when dropped: keep it in the request
    /// handler, so a client that disconnects stops the work it started.
    pub fn cancel_on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(self.cancelled.clone())
    }

    /// Whether the query must stop, and why.
    pub fn check(&self) -> Result<(), QueryError> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(QueryError::Cancelled);
        }
        if let Some((deadline, timeout)) = self.deadline {
            if Instant::now() >= deadline {
                return Err(QueryError::Limit(format!(
                    "query timed out after {timeout:?} (query_timeout); narrow the time range or the selector"
                )));
            }
        }
        Ok(())
    }
}

/// Cancels its query when dropped.
pub struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Checks a context every `EVERY` calls, remembering why it stopped.
pub(crate) struct Checker<'a> {
    ctx: &'a QueryContext,
    count: u32,
    memory: WorkerMemory<'a>,
    pub(crate) stopped: Option<QueryError>,
}

/// Entries between two checks: often enough to stop within milliseconds,
/// rarely enough to cost nothing.
const EVERY: u32 = 4096;

impl<'a> Checker<'a> {
    pub(crate) fn new(ctx: &'a QueryContext) -> Self {
        Self {
            ctx,
            count: 0,
            memory: WorkerMemory::new(ctx.memory.as_deref()),
            stopped: None,
        }
    }

    /// False once the worker, now holding `bytes`, passes a memory budget.
    pub(crate) fn hold(&mut self, bytes: usize) -> bool {
        if let Err(e) = self.memory.hold(bytes) {
            self.stopped = Some(e);
            return false;
        }
        true
    }

    /// Stops the worker for `error` (a limit it passed).
    pub(crate) fn stop(&mut self, error: QueryError) -> bool {
        self.stopped = Some(error);
        false
    }

    /// False once the query must stop.
    pub(crate) fn go_on(&mut self) -> bool {
        self.count += 1;
        if self.count.is_multiple_of(EVERY) {
            if let Err(e) = self.ctx.check() {
                self.stopped = Some(e);
                return false;
            }
        }
        true
    }

    /// Why the worker stopped early, if it did, keeping its reservation
    /// (held until the checker is dropped).
    pub(crate) fn check(&mut self) -> Result<(), QueryError> {
        match self.stopped.take() {
            Some(e) => Err(e),
            None => self.ctx.check(),
        }
    }

    /// The reason the scan stopped early, if it did.
    pub(crate) fn finish(self) -> Result<(), QueryError> {
        match self.stopped {
            Some(e) => Err(e),
            None => self.ctx.check(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_and_cancel() {
        assert!(QueryContext::new(None).check().is_ok());
        let ctx = QueryContext::new(Some(Duration::ZERO));
        assert!(matches!(ctx.check(), Err(QueryError::Limit(_))));
        let ctx = QueryContext::new(None);
        drop(ctx.cancel_on_drop());
        assert!(matches!(ctx.check(), Err(QueryError::Cancelled)));
    }
}
