//! The maintenance thread: flushes the head to parts, merges, applies retention.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use basin_model::{Entry, Labels, StreamId};
use tracing::{debug, error};

use crate::engine::{lock, read, write, Frozen, Inner, WalMsg};
use crate::error::{Result, StorageError};
use crate::filenames::DiscardOnError;
use crate::part::{write_part, Part};
use crate::time::{day_number, day_text};
use crate::wal;

pub use crate::merge::merge_all;
pub use crate::retention::apply_retention;

/// Wakes the maintenance thread before its next tick.
pub(crate) enum Nudge {
    /// The WAL writer froze a full head: it waits to be written.
    HeadFull,
}

/// How often the thread looks at the head's age and at retention.
const TICK: Duration = Duration::from_millis(500);

pub(crate) fn run(inner: &Inner, nudges: &Receiver<Nudge>) {
    let mut last_merge = Instant::now();
    loop {
        // A nudge only wakes the thread: the head's own size decides, so
        // nudges queued while a flush was writing do not each cut a part.
        match nudges.recv_timeout(TICK) {
            Ok(Nudge::HeadFull) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let (head_due, pending) = {
            let state = read(&inner.state);
            let head = &state.active;
            let due = !head.is_empty()
                && (head.size_bytes() >= inner.cfg.head_max_bytes
                    || head.created().elapsed() >= inner.cfg.flush_interval);
            (due, !state.frozen.is_empty())
        };
        let flushed = if head_due {
            flush(inner)
        } else if pending {
            // A flush that failed earlier: retry writing, without freezing
            // the head again.
            write_pending(inner)
        } else {
            Ok(())
        };
        if let Err(e) = flushed {
            error!("flush failed, will retry: {e}");
        }
        if last_merge.elapsed() >= inner.cfg.merge_interval {
            last_merge = Instant::now();
            if let Err(e) = merge_all(inner) {
                error!("merge failed: {e}");
            }
        }
        if let Err(e) = apply_retention(inner) {
            error!("retention failed: {e}");
        }
    }
}

/// Freezes the head and writes every frozen head to parts, oldest first.
pub(crate) fn flush(inner: &Inner) -> Result<()> {
    let _guard = lock(&inner.maintenance);
    request_rotate(inner)?;
    write_frozen_heads(inner)
}

/// Writes the heads frozen earlier whose writing failed.
fn write_pending(inner: &Inner) -> Result<()> {
    let _guard = lock(&inner.maintenance);
    write_frozen_heads(inner)
}

fn write_frozen_heads(inner: &Inner) -> Result<()> {
    let pending: Vec<Arc<Frozen>> = read(&inner.state).frozen.clone();
    for frozen in pending {
        write_frozen(inner, &frozen)?;
    }
    Ok(())
}

fn request_rotate(inner: &Inner) -> Result<()> {
    let Some(tx) = lock(&inner.wal_tx).clone() else {
        return Ok(());
    };
    let (reply, rx) = mpsc::channel();
    if tx.send(WalMsg::Rotate { reply }).is_err() {
        return Ok(());
    }
    rx.recv().map_err(|_| StorageError::Closed)?
}

/// Streams of one tenant and day, ready for [`write_part`].
type DayStreams<'a> = HashMap<StreamId, (Arc<Labels>, Vec<&'a Entry>)>;

fn write_frozen(inner: &Inner, frozen: &Arc<Frozen>) -> Result<()> {
    let dir = &inner.cfg.data_dir;
    let mut written = Vec::new();
    // Parts the manifest does not name yet: removed if the flush fails, to
    // be written again whole at the next attempt.
    let mut unlisted = Vec::new();
    for (tenant, streams) in &frozen.head.tenants {
        // By day number: a day's text is made once, not once a line.
        let mut by_day: BTreeMap<i64, DayStreams<'_>> = BTreeMap::new();
        for (id, stream) in streams {
            let mut days = stream.entries.iter().map(|e| day_number(e.ts));
            let first = days.next();
            if days.all(|d| Some(d) == first) {
                // One day, as nearly always: the stream in one go.
                if let Some(day) = first {
                    by_day.entry(day).or_default().insert(
                        *id,
                        (stream.labels.clone(), stream.entries.iter().collect()),
                    );
                }
                continue;
            }
            for entry in &stream.entries {
                by_day
                    .entry(day_number(entry.ts))
                    .or_default()
                    .entry(*id)
                    .or_insert_with(|| (stream.labels.clone(), Vec::new()))
                    .1
                    .push(entry);
            }
        }
        for (day, streams) in by_day {
            let id = lock(&inner.manifest).allocate_id();
            let mut meta = crate::manifest::PartMeta {
                id,
                tenant: tenant.as_str().to_string(),
                day: day_text(day),
                rows: 0,
                min_ts: 0,
                max_ts: 0,
                size_bytes: 0,
            };
            let path = meta.path(dir);
            let w = write_part(
                &path,
                streams.into_values().collect(),
                inner.cfg.line_encoding,
            )?;
            unlisted.push(DiscardOnError::new(&path));
            meta.rows = w.rows;
            meta.min_ts = w.min_ts;
            meta.max_ts = w.max_ts;
            meta.size_bytes = w.size_bytes;
            written.push(Arc::new(Part::open(&path, meta)?));
        }
    }
    {
        let mut manifest = lock(&inner.manifest);
        let mut next = manifest.clone();
        next.parts.extend(written.iter().map(|p| p.meta.clone()));
        next.wal_flushed_seq = frozen.wal_seq;
        // Positions of the segments dropped below are in the parts now.
        next.queue_position = inner
            .queue_position
            .load(std::sync::atomic::Ordering::Acquire);
        next.publish(dir, inner.cfg.remote.as_deref())?;
        *manifest = next;
    }
    unlisted.into_iter().for_each(DiscardOnError::keep);
    {
        let mut state = write(&inner.state);
        state.frozen.retain(|f| !Arc::ptr_eq(f, frozen));
        state.parts.extend(written.iter().cloned());
    }
    debug!(
        parts = written.len(),
        entries = frozen.head.len(),
        wal_seq = frozen.wal_seq,
        "flushed head"
    );
    wal::delete_segments_through(dir, frozen.wal_seq)
}
