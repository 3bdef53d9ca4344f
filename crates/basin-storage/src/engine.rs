//! The store as the rest of Basin sees it: open, append, scan, flush, shut down.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;

use basin_model::{Entry, Labels, PushBatch, TenantId, TimestampNs};
use tracing::{error, info, warn};

use crate::config::StorageConfig;
use crate::disk::DiskGuard;
use crate::error::{Result, StorageError};
use crate::filenames;
use crate::head::Head;
use crate::limits::WAL_MAX_GROUP_BYTES;
use crate::maintenance::{self, Nudge};
use crate::manifest::Manifest;
use crate::part::{Part, PartPlan};
use crate::scan::{FieldPairs, ParallelRunSink, RunTimes, ScanRequest, ScanStats};
use crate::wal::{self, Wal};

/// Blocks one scan worker takes at a time: small enough to spread a big
/// part over every core, large enough that handing out work costs nothing.
const BLOCKS_PER_UNIT: usize = 4;

/// Reads some blocks of a part (given the streams wanted) into a sink;
/// false stops the scan.
type ReadUnit<'a, S> =
    dyn Fn(&Part, &[bool], Vec<usize>, &mut ScanStats, &mut S) -> Result<bool> + Sync + 'a;

/// Longest the WAL writer waits at once for a flush to finish before it
/// takes more pushes (see `wait_for_flush`).
const FLUSH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Batches a live-tail subscriber may fall behind before it loses some.
const LIVE_BUFFER: usize = 4096;

/// The embedded store. Cheap to share behind an `Arc`.
pub struct Storage {
    pub(crate) inner: Arc<Inner>,
    wal_tx: Mutex<Option<Sender<WalMsg>>>,
    nudge_tx: Mutex<Option<Sender<Nudge>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// State shared by the store, its WAL writer and its maintenance thread.
pub(crate) struct Inner {
    pub(crate) cfg: StorageConfig,
    pub(crate) state: RwLock<State>,
    pub(crate) manifest: Mutex<Manifest>,
    /// Held by whatever changes the manifest: flush, merge, retention.
    pub(crate) maintenance: Mutex<()>,
    pub(crate) wal_tx: Mutex<Option<Sender<WalMsg>>>,
    /// Acknowledged batches, for live tail; sent only while someone listens.
    pub(crate) live: tokio::sync::broadcast::Sender<Arc<PushBatch>>,
    /// Parts moved to quarantine when the store opened.
    pub(crate) quarantined: u64,
    /// Highest queue position durable in the WAL or the parts (0: none).
    pub(crate) queue_position: std::sync::atomic::AtomicU64,
    /// Set on a query node's view (see [`crate::view`]).
    pub(crate) view: Option<crate::view::ViewState>,
}

/// What a query sees: the active head, frozen heads being written, and parts.
#[derive(Default)]
pub(crate) struct State {
    pub(crate) active: Head,
    pub(crate) frozen: Vec<Arc<Frozen>>,
    pub(crate) parts: Vec<Arc<Part>>,
    /// Heads of other nodes, in a query node's view (see [`crate::view`]);
    /// scanned like frozen heads but never written to parts here.
    pub(crate) peers: Vec<Arc<Frozen>>,
}

impl State {
    /// The heads a scan reads after the active one: frozen, then peers'.
    pub(crate) fn heads_behind(&self) -> Vec<Arc<Frozen>> {
        self.frozen.iter().chain(&self.peers).cloned().collect()
    }

    /// The live parts of one tenant.
    pub(crate) fn tenant_parts(&self, tenant: &basin_model::TenantId) -> Vec<Arc<Part>> {
        self.parts
            .iter()
            .filter(|p| p.meta.tenant == tenant.as_str())
            .cloned()
            .collect()
    }
}

/// A head closed for writes, on its way to parts; its entries are in WAL
/// segments up to `wal_seq`.
pub(crate) struct Frozen {
    pub(crate) head: Head,
    pub(crate) wal_seq: u64,
}

pub(crate) enum WalMsg {
    /// Batches written in one group, all or none; `position` is the queue
    /// position of the last, for batches taken from a queue.
    Append {
        items: Vec<(PushBatch, Vec<u8>)>,
        position: Option<u64>,
        reply: tokio::sync::oneshot::Sender<Result<()>>,
    },
    /// Close the current segment and freeze the head.
    Rotate { reply: Sender<Result<()>> },
}

/// Moves a part that fails its checks to `quarantine/` (kept, never
/// deleted: someone may want to look at it or recover lines by hand).
fn quarantine(dir: &std::path::Path, meta: &crate::manifest::PartMeta, why: &StorageError) {
    let from = meta.path(dir);
    let to = dir
        .join(filenames::QUARANTINE_DIR)
        .join(&meta.tenant)
        .join(&meta.day)
        .join(format!("{}.{}", meta.id, filenames::PART_EXT));
    let moved = to
        .parent()
        .map_or(Ok(()), fs::create_dir_all)
        .and_then(|()| fs::rename(&from, &to));
    match moved {
        Ok(()) => error!(
            part = %from.display(),
            quarantine = %to.display(),
            rows = meta.rows,
            "damaged part moved to quarantine, its lines are left out of queries: {why}"
        ),
        Err(e) => error!(
            part = %from.display(),
            "damaged part left out of queries; moving it to quarantine failed ({e}): {why}"
        ),
    }
}

pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Storage {
    /// Opens (or creates) the store in `cfg.data_dir`, replaying the WAL.
    pub fn open(cfg: StorageConfig) -> Result<Self> {
        let dir = cfg.data_dir.clone();
        fs::create_dir_all(&dir).map_err(|e| StorageError::io("create dir", &dir, e))?;
        if let Some(remote) = &cfg.remote {
            if Manifest::restore_from(remote, &dir)? {
                info!("empty data directory: manifest read from the bucket");
            }
        }
        let mut manifest = Manifest::load(&dir)?;
        let mut parts = Vec::new();
        let mut damaged = HashSet::new();
        // Every listed file, damaged ones too: one whose move to quarantine
        // failed must not be taken for a leftover and removed.
        let live: HashSet<PathBuf> = manifest.parts.iter().map(|m| m.path(&dir)).collect();
        for meta in &manifest.parts {
            let path = meta.path(&dir);
            let opened = match &cfg.remote {
                // Not on this disk: read it from the bucket, range by range.
                Some(remote) if !path.exists() => {
                    remote.mark_uploaded(meta.id);
                    Part::open_remote(remote.clone(), &path, meta.clone())
                }
                Some(remote) => {
                    // Uploads at publish are skipped for parts the bucket has.
                    remote.has_part(meta)?;
                    Part::open(&path, meta.clone())
                }
                None => Part::open(&path, meta.clone()),
            };
            match opened {
                Ok(part) => parts.push(Arc::new(part)),
                Err(e) if e.is_damage() => {
                    quarantine(&dir, meta, &e);
                    damaged.insert(meta.id);
                }
                Err(e) => error!(part = %path.display(), "cannot open part, leaving it out: {e}"),
            }
        }
        if !damaged.is_empty() {
            // Out of the manifest, so merges and retention never touch it.
            let mut next = manifest.clone();
            next.parts.retain(|p| !damaged.contains(&p.id));
            next.save(&dir)?;
            manifest = next;
        }
        if let Some(remote) = &cfg.remote {
            // Parts written before a bucket was configured, or before a
            // crash cut an upload short, go up now.
            manifest.publish(&dir, Some(remote))?;
        }
        remove_leftovers(&dir.join(filenames::PARTS_DIR), &live)?;

        let mut head = Head::default();
        let outcome = wal::replay(&dir, manifest.wal_flushed_seq, |batch| head.insert(batch))?;
        if outcome.records > 0 || outcome.truncated_segments > 0 {
            info!(
                records = outcome.records,
                entries = head.len(),
                truncated_segments = outcome.truncated_segments,
                "replayed WAL"
            );
        }
        let next_seq = outcome.max_seq.max(manifest.wal_flushed_seq) + 1;
        let queue_position = manifest.queue_position;
        let wal = Wal::create(&dir, next_seq, cfg.wal_sync)?;

        let (wal_tx, wal_rx) = mpsc::channel();
        let (nudge_tx, nudge_rx) = mpsc::channel();
        let inner = Arc::new(Inner {
            cfg,
            state: RwLock::new(State {
                active: head,
                frozen: Vec::new(),
                parts,
                peers: Vec::new(),
            }),
            manifest: Mutex::new(manifest),
            maintenance: Mutex::new(()),
            wal_tx: Mutex::new(Some(wal_tx.clone())),
            live: tokio::sync::broadcast::channel(LIVE_BUFFER).0,
            quarantined: damaged.len() as u64,
            queue_position: outcome.max_position.max(queue_position).into(),
            view: None,
        });
        let writer = {
            let inner = inner.clone();
            let nudge = nudge_tx.clone();
            std::thread::Builder::new()
                .name("basin-wal".into())
                .spawn(move || run_writer(&inner, wal, &wal_rx, &nudge))
                .map_err(|e| StorageError::io("spawn WAL writer", &dir, e))?
        };
        let maint = {
            let inner = inner.clone();
            std::thread::Builder::new()
                .name("basin-maintenance".into())
                .spawn(move || maintenance::run(&inner, &nudge_rx))
                .map_err(|e| StorageError::io("spawn maintenance", &dir, e))?
        };
        Ok(Self {
            inner,
            wal_tx: Mutex::new(Some(wal_tx)),
            nudge_tx: Mutex::new(Some(nudge_tx)),
            threads: Mutex::new(vec![writer, maint]),
        })
    }

    /// A store around `inner` with no WAL writer and no background threads.
    pub(crate) fn from_inner(inner: Arc<Inner>) -> Self {
        Self {
            inner,
            wal_tx: Mutex::new(None),
            nudge_tx: Mutex::new(None),
            threads: Mutex::new(Vec::new()),
        }
    }

    /// Requests to the bucket and range-cache counters, when parts go to one.
    pub fn remote_stats(&self) -> Option<&Arc<crate::remote::RemoteStats>> {
        if let Some(view) = &self.inner.view {
            return Some(&view.stats);
        }
        self.inner.cfg.remote.as_ref().map(|r| r.stats())
    }

    /// Parts found damaged when the store opened, now in `quarantine/`.
    pub fn quarantined_parts(&self) -> u64 {
        self.inner.quarantined
    }

    /// The configuration the store runs with.
    pub fn config(&self) -> &StorageConfig {
        &self.inner.cfg
    }

    /// Appends a batch; returns once it is durable in the WAL and visible to
    /// queries.
    pub async fn append(&self, batch: PushBatch) -> Result<()> {
        match self.submit(batch)? {
            Some(rx) => rx.await.map_err(|_| StorageError::Closed)?,
            None => Ok(()),
        }
    }

    /// [`Storage::append`] for callers outside an async runtime.
    pub fn append_blocking(&self, batch: PushBatch) -> Result<()> {
        match self.submit(batch)? {
            Some(rx) => rx.blocking_recv().map_err(|_| StorageError::Closed)?,
            None => Ok(()),
        }
    }

    /// Appends batches taken from a queue, with their positions there
    /// (rising), in one WAL group: all of them are durable or none is. The
    /// highest position is then [`Storage::queue_position`], also after a
    /// restart, so a consumer can tell redeliveries from new messages.
    pub async fn append_at(&self, batches: Vec<(PushBatch, u64)>) -> Result<()> {
        let Some(position) = batches.iter().map(|(_, p)| *p).max() else {
            return Ok(());
        };
        let mut items = Vec::with_capacity(batches.len());
        for (batch, at) in batches {
            let payload = wal::encode_batch_at(&batch, at)?;
            items.push((batch, payload));
        }
        let rx = self.send(items, Some(position))?;
        rx.await.map_err(|_| StorageError::Closed)?
    }

    /// The highest queue position appended (see [`Storage::append_at`]).
    pub fn queue_position(&self) -> u64 {
        self.inner
            .queue_position
            .load(std::sync::atomic::Ordering::Acquire)
    }

    fn submit(
        &self,
        batch: PushBatch,
    ) -> Result<Option<tokio::sync::oneshot::Receiver<Result<()>>>> {
        if batch.entry_count() == 0 {
            return Ok(None);
        }
        let payload = wal::encode_batch(&batch)?;
        self.send(vec![(batch, payload)], None).map(Some)
    }

    fn send(
        &self,
        items: Vec<(PushBatch, Vec<u8>)>,
        position: Option<u64>,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<()>>> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let tx = lock(&self.wal_tx).clone().ok_or(StorageError::Closed)?;
        tx.send(WalMsg::Append {
            items,
            position,
            reply,
        })
        .map_err(|_| StorageError::Closed)?;
        Ok(rx)
    }

    /// Every batch acknowledged from now on, as it becomes visible. A
    /// receiver that falls more than a few thousand batches behind loses the
    /// oldest (and is told how many).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<PushBatch>> {
        self.inner.live.subscribe()
    }

    /// Passes every entry matching `req` to `emit` until it returns false.
    ///
    /// Entries come in no particular order: head first, then parts.
    pub fn scan(
        &self,
        req: &ScanRequest<'_>,
        emit: &mut dyn FnMut(&Arc<Labels>, &Entry) -> bool,
    ) -> Result<ScanStats> {
        let mut stats = ScanStats::default();
        let (frozen, parts) = {
            let state = read(&self.inner.state);
            if !state.active.scan(req, &mut stats, emit) {
                return Ok(stats);
            }
            (state.heads_behind(), state.tenant_parts(req.tenant))
        };
        for f in &frozen {
            if !f.head.scan(req, &mut stats, emit) {
                return Ok(stats);
            }
        }
        for part in &parts {
            if !part.scan(req, &mut stats, emit)? {
                break;
            }
        }
        Ok(stats)
    }

    /// The streams of `tenant` with entries in `[start, end)` that `filter`
    /// admits, each once, from the head and the part indexes (no block is
    /// read).
    pub fn streams(
        &self,
        tenant: &basin_model::TenantId,
        start: i64,
        end: i64,
        filter: &dyn Fn(&Labels) -> bool,
    ) -> Vec<Arc<Labels>> {
        let mut seen: std::collections::HashMap<basin_model::StreamId, Arc<Labels>> =
            std::collections::HashMap::new();
        let (frozen, parts) = {
            let state = read(&self.inner.state);
            state
                .active
                .streams_in(tenant, start, end, filter, &mut seen);
            (state.heads_behind(), state.tenant_parts(tenant))
        };
        for f in &frozen {
            f.head.streams_in(tenant, start, end, filter, &mut seen);
        }
        for part in &parts {
            part.streams_in(start, end, filter, &mut seen);
        }
        let mut out: Vec<Arc<Labels>> = seen.into_values().collect();
        out.sort();
        out
    }

    /// Like [`Storage::scan`], but reads the parts' blocks on every core:
    /// each worker feeds its own sink (made by `make_sink`), and the sinks
    /// are returned for the caller to merge. The head goes to the first sink.
    /// Entries come in no particular order; `emit` returning false stops all.
    pub fn scan_parallel<S: Send>(
        &self,
        req: &ScanRequest<'_>,
        make_sink: &(dyn Fn() -> S + Sync),
        emit: &(dyn Fn(&mut S, &Arc<Labels>, &Entry) -> bool + Sync),
    ) -> Result<(Vec<S>, ScanStats)> {
        self.on_every_core(
            req,
            make_sink,
            emit,
            &|part, wanted, blocks, stats, sink| {
                part.read_blocks(req, wanted, blocks, stats, &mut |l, e| emit(sink, l, e))
            },
        )
    }

    /// Like [`Storage::scan_parallel`] for reads that need no line: parts
    /// pass runs of rows of one stream (and, where `req.columns` asks for
    /// fields, equal values of those) as a slice of their times, without
    /// building an entry per row. The head passes one-row runs. Rows whose
    /// line lacks one of `req.needles` are left out: a count over runs with
    /// needles is exact (parts decide most rows from their skeletons, without
    /// rebuilding lines).
    ///
    /// `times` says what the caller's windows allow: with `minute_counts`,
    /// parts that keep per-minute counts and hold no wanted field pass
    /// bucket ends and counts (see [`crate::part::counts`]); units of blocks
    /// whose rows all lie in the same windows pass one weighted time a run.
    pub fn scan_runs_parallel<S: Send>(
        &self,
        req: &ScanRequest<'_>,
        times: RunTimes<'_>,
        make_sink: &(dyn Fn() -> S + Sync),
        emit: &ParallelRunSink<'_, S>,
    ) -> Result<(Vec<S>, ScanStats)> {
        let head_emit = |sink: &mut S, labels: &Arc<Labels>, e: &Entry| {
            let line = e.line.as_bytes();
            if !req
                .needles
                .iter()
                .all(|n| memchr::memmem::find(line, n.as_bytes()).is_some())
            {
                return true;
            }
            let fields: Vec<(String, String)> = e
                .fields
                .iter()
                .filter(|(name, _)| req.columns.wants_field(name))
                .cloned()
                .collect();
            emit(sink, labels, &fields, &[e.ts], None)
        };
        self.on_every_core(
            req,
            make_sink,
            &head_emit,
            &|part, wanted, blocks, stats, sink| {
                let mut to_sink =
                    |l: &Arc<Labels>, f: &FieldPairs, t: &[i64], n: Option<&[u32]>| {
                        emit(sink, l, f, t, n)
                    };
                if times.minute_counts && part.can_count(req) {
                    part.read_counts(req, wanted, blocks, stats, &mut to_sink)
                } else {
                    part.read_runs(req, wanted, blocks, stats, times, &mut to_sink)
                }
            },
        )
    }

    /// Runs a scan: the head into the first sink, then the parts' admitted
    /// blocks, in units of [`BLOCKS_PER_UNIT`], by one worker per core.
    fn on_every_core<S: Send>(
        &self,
        req: &ScanRequest<'_>,
        make_sink: &(dyn Fn() -> S + Sync),
        head_emit: &(dyn Fn(&mut S, &Arc<Labels>, &Entry) -> bool + Sync),
        read_unit: &ReadUnit<'_, S>,
    ) -> Result<(Vec<S>, ScanStats)> {
        let mut stats = ScanStats::default();
        let mut first = make_sink();
        let (frozen, parts) = {
            let state = read(&self.inner.state);
            if !state
                .active
                .scan(req, &mut stats, &mut |l, e| head_emit(&mut first, l, e))
            {
                return Ok((vec![first], stats));
            }
            (state.heads_behind(), state.tenant_parts(req.tenant))
        };
        for f in &frozen {
            if !f
                .head
                .scan(req, &mut stats, &mut |l, e| head_emit(&mut first, l, e))
            {
                return Ok((vec![first], stats));
            }
        }
        let plans: Vec<PartPlan> = parts.iter().map(|p| p.plan(req, &mut stats)).collect();
        let units: Vec<(usize, Vec<usize>)> = plans
            .iter()
            .enumerate()
            .flat_map(|(i, plan)| {
                plan.blocks
                    .chunks(BLOCKS_PER_UNIT)
                    .map(move |chunk| (i, chunk.to_vec()))
            })
            .collect();
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(units.len());
        if workers <= 1 {
            for (i, blocks) in units {
                if !read_unit(&parts[i], &plans[i].wanted, blocks, &mut stats, &mut first)? {
                    break;
                }
            }
            return Ok((vec![first], stats));
        }
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let results: Vec<Result<(S, ScanStats)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| {
                        let mut sink = make_sink();
                        let mut local = ScanStats::default();
                        while !stop.load(Ordering::Relaxed) {
                            let n = next.fetch_add(1, Ordering::Relaxed);
                            let Some((i, blocks)) = units.get(n) else {
                                break;
                            };
                            let go_on = read_unit(
                                &parts[*i],
                                &plans[*i].wanted,
                                blocks.clone(),
                                &mut local,
                                &mut sink,
                            )?;
                            if !go_on {
                                stop.store(true, Ordering::Relaxed);
                            }
                        }
                        Ok((sink, local))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(StorageError::Encode("scan worker panicked".into()))
                    })
                })
                .collect()
        });
        let mut sinks = vec![first];
        for r in results {
            let (sink, local) = r?;
            stats.add(&local);
            sinks.push(sink);
        }
        Ok((sinks, stats))
    }

    /// Writes everything in memory to parts now.
    pub fn flush(&self) -> Result<()> {
        maintenance::flush(&self.inner)
    }

    /// Removes from disk the entries of `tenant` in `[start, end]` that
    /// `drop` picks (deletes): flushes the head, then rewrites the parts
    /// holding such entries. Returns how many entries went.
    pub fn purge(
        &self,
        tenant: &TenantId,
        range: (TimestampNs, TimestampNs),
        drop: &(dyn Fn(&Labels, &Entry) -> bool + Sync),
    ) -> Result<u64> {
        self.flush()?;
        crate::merge::purge(&self.inner, tenant, range, drop)
    }

    /// Removes from parts the entries of `tenant` older than `before` that
    /// `drop` picks (retention per stream); the head is left alone, its
    /// lines being the newest. Returns how many entries went.
    pub fn expire(
        &self,
        tenant: &TenantId,
        before: TimestampNs,
        drop: &(dyn Fn(&Labels, &Entry) -> bool + Sync),
    ) -> Result<u64> {
        crate::merge::purge(
            &self.inner,
            tenant,
            (i64::MIN, before.saturating_sub(1)),
            drop,
        )
    }

    /// Runs one round of merges and retention now (tests and tools use it).
    pub fn compact(&self) -> Result<()> {
        maintenance::merge_all(&self.inner)?;
        maintenance::apply_retention(&self.inner)
    }

    /// Parts currently live, as the manifest records them.
    pub fn parts(&self) -> Vec<crate::manifest::PartMeta> {
        lock(&self.inner.manifest).parts.clone()
    }

    /// Stops background work, flushes the head to parts and closes the WAL.
    pub fn shutdown(&self) -> Result<()> {
        drop(lock(&self.nudge_tx).take());
        let flushed = self.flush();
        drop(lock(&self.wal_tx).take());
        drop(lock(&self.inner.wal_tx).take());
        for handle in lock(&self.threads).drain(..) {
            if handle.join().is_err() {
                error!("a storage thread panicked");
            }
        }
        flushed
    }

    /// Where the data lives.
    pub fn data_dir(&self) -> &Path {
        &self.inner.cfg.data_dir
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        drop(lock(&self.nudge_tx).take());
        drop(lock(&self.wal_tx).take());
        drop(lock(&self.inner.wal_tx).take());
        for handle in lock(&self.threads).drain(..) {
            let _ = handle.join();
        }
    }
}

/// The WAL writer: takes every append queued so far, writes them as one group
/// with one fsync, makes them visible, then acknowledges them.
fn run_writer(inner: &Inner, mut wal: Wal, rx: &Receiver<WalMsg>, nudge: &Sender<Nudge>) {
    let mut disk = DiskGuard::new(&inner.cfg.data_dir, inner.cfg.min_free_disk_bytes);
    while let Ok(first) = rx.recv() {
        let mut msgs = vec![first];
        let mut bytes = 0;
        while bytes < WAL_MAX_GROUP_BYTES {
            match rx.try_recv() {
                Ok(msg) => {
                    if let WalMsg::Append { items, .. } = &msg {
                        bytes += items.iter().map(|(_, p)| p.len()).sum::<usize>();
                    }
                    msgs.push(msg);
                }
                Err(_) => break,
            }
        }
        let mut group = Vec::new();
        for msg in msgs {
            match msg {
                WalMsg::Append {
                    items,
                    position,
                    reply,
                } => group.push((items, position, reply)),
                WalMsg::Rotate { reply } => {
                    commit(inner, &mut wal, &mut disk, std::mem::take(&mut group));
                    let _ = reply.send(rotate(inner, &mut wal));
                }
            }
        }
        commit(inner, &mut wal, &mut disk, group);
        let head_bytes = read(&inner.state).active.size_bytes();
        if head_bytes >= inner.cfg.head_max_bytes {
            // Freeze the full head here, not when the maintenance thread gets
            // to it (it may be busy merging), so the head never outgrows its
            // limit by more than one group.
            wait_for_flush(inner);
            if let Err(e) = rotate(inner, &mut wal) {
                warn!("cannot rotate the WAL to freeze a full head: {e}");
            }
            let _ = nudge.send(Nudge::HeadFull);
        }
    }
}

/// Backpressure: while the previous head is still being written, a full
/// head waits before it is frozen, and no push is taken meanwhile (they
/// queue, and their senders wait), so memory holds about two heads however
/// fast lines arrive. Waits at most [`FLUSH_WAIT`] at a time: a flush that
/// keeps failing must not stall ingest for good.
fn wait_for_flush(inner: &Inner) {
    let started = std::time::Instant::now();
    while !read(&inner.state).frozen.is_empty() && started.elapsed() < FLUSH_WAIT {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

type Pending = (
    Vec<(PushBatch, Vec<u8>)>,
    Option<u64>,
    tokio::sync::oneshot::Sender<Result<()>>,
);

fn commit(inner: &Inner, wal: &mut Wal, disk: &mut DiskGuard, group: Vec<Pending>) {
    if group.is_empty() {
        return;
    }
    let payloads: Vec<&[u8]> = group
        .iter()
        .flat_map(|(items, _, _)| items.iter().map(|(_, p)| p.as_slice()))
        .collect();
    let appended = disk.check().and_then(|()| wal.append_group(&payloads));
    drop(payloads);
    match appended {
        Ok(()) => {
            let mut replies = Vec::with_capacity(group.len());
            {
                let mut state = write(&inner.state);
                let live = inner.live.receiver_count() > 0;
                for (items, position, reply) in group {
                    for (batch, _) in items {
                        if live {
                            let _ = inner.live.send(Arc::new(batch.clone()));
                        }
                        state.active.insert(batch);
                    }
                    if let Some(p) = position {
                        inner
                            .queue_position
                            .fetch_max(p, std::sync::atomic::Ordering::AcqRel);
                    }
                    replies.push(reply);
                }
            }
            for reply in replies {
                let _ = reply.send(Ok(()));
            }
        }
        Err(e) => {
            warn!("WAL append failed, refusing {} pushes: {e}", group.len());
            let full = e.is_disk_full();
            let msg = e.to_string();
            for (_, _, reply) in group {
                let _ = reply.send(Err(if full {
                    StorageError::DiskFull(msg.clone())
                } else {
                    StorageError::Encode(format!("WAL append failed: {msg}"))
                }));
            }
        }
    }
}

fn rotate(inner: &Inner, wal: &mut Wal) -> Result<()> {
    if read(&inner.state).active.is_empty() {
        return Ok(());
    }
    let closed = wal.rotate()?;
    let mut state = write(&inner.state);
    let head = std::mem::take(&mut state.active);
    state.frozen.push(Arc::new(Frozen {
        head,
        wal_seq: closed,
    }));
    Ok(())
}

/// Deletes part files the manifest does not name: a crash between writing a
/// part and recording it, or between unrecording one and deleting it.
fn remove_leftovers(parts_dir: &Path, live: &HashSet<PathBuf>) -> Result<()> {
    let Ok(tenants) = fs::read_dir(parts_dir) else {
        return Ok(());
    };
    for tenant in tenants.flatten() {
        let Ok(days) = fs::read_dir(tenant.path()) else {
            continue;
        };
        for day in days.flatten() {
            let Ok(files) = fs::read_dir(day.path()) else {
                continue;
            };
            for file in files.flatten() {
                let path = file.path();
                if !live.contains(&path) {
                    warn!(file = %path.display(), "removing part file not in the manifest");
                    fs::remove_file(&path).map_err(|e| StorageError::io("remove", &path, e))?;
                }
            }
            let _ = fs::remove_dir(day.path());
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "engine_tests.rs"]
pub(crate) mod tests;
