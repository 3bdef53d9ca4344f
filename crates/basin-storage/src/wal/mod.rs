//! The write-ahead log: checksummed records in numbered segment files.
//!
//! A record is `len: u32 LE | crc32(payload): u32 LE | payload`, the payload a
//! postcard-encoded [`PushBatch`]. Records are appended in groups with one
//! fsync per group ([`Wal::append_group`]). A group that fails half-way is cut
//! off again, and the next group starts a new segment: if the cut failed too
//! (a full disk), the stray bytes end the old segment, where replay drops
//! them, instead of sitting in front of records that were acknowledged.
//! Segments are replayed in order at start ([`replay`]); a torn or corrupt
//! tail is truncated with a warning.

mod legacy;
mod replay;

use std::fs::{self, File, OpenOptions};
use std::io::{IoSlice, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use basin_model::PushBatch;

pub use replay::{replay, ReplayOutcome};

use crate::error::{Result, StorageError};
use crate::filenames;
use crate::limits::WAL_MAGIC;

/// Bytes of a record header: length and checksum.
pub const RECORD_HEADER: usize = 8;

/// Encodes one batch as a WAL record payload.
pub fn encode_batch(batch: &PushBatch) -> Result<Vec<u8>> {
    let encode = |e: postcard::Error| StorageError::Encode(e.to_string());
    // Sized first: grown by doubling, a batch of megabytes was copied
    // over and over (2% of ingest).
    let size = postcard::experimental::serialized_size(batch).map_err(encode)?;
    postcard::to_extend(batch, Vec::with_capacity(size)).map_err(encode)
}

/// Encodes one batch taken from a queue as a WAL record payload: the batch,
/// then its position in the queue (8 bytes, little-endian). Readers that
/// know no positions decode the batch and ignore the trailer.
pub fn encode_batch_at(batch: &PushBatch, position: u64) -> Result<Vec<u8>> {
    let mut payload = encode_batch(batch)?;
    payload.extend_from_slice(&position.to_le_bytes());
    Ok(payload)
}

/// Decodes a record payload: the batch and, when it came from a queue, its
/// position there.
pub fn decode_record(payload: &[u8]) -> Option<(PushBatch, Option<u64>)> {
    let (batch, rest) = postcard::take_from_bytes::<PushBatch>(payload).ok()?;
    let position = match rest.len() {
        0 => None,
        8 => Some(u64::from_le_bytes(rest.try_into().ok()?)),
        _ => return None,
    };
    Some((batch, position))
}

/// The segment being appended to.
pub struct Wal {
    data_dir: PathBuf,
    seq: u64,
    file: File,
    len: u64,
    sync: bool,
    /// An append failed: the next one goes to a new segment.
    damaged: bool,
}

impl Wal {
    /// Creates segment `seq` (which must not exist) and appends to it.
    pub fn create(data_dir: &Path, seq: u64, sync: bool) -> Result<Self> {
        let dir = data_dir.join(filenames::WAL_DIR);
        fs::create_dir_all(&dir).map_err(|e| StorageError::io("create dir", &dir, e))?;
        let path = filenames::wal_segment(data_dir, seq);
        let mut file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&path)
            .map_err(|e| StorageError::io("create", &path, e))?;
        let started = file
            .write_all(WAL_MAGIC)
            .and_then(|()| if sync { file.sync_all() } else { Ok(()) })
            .map_err(|e| StorageError::io("write", &path, e))
            .and_then(|()| if sync { sync_dir(&dir) } else { Ok(()) });
        if let Err(e) = started {
            // Holds no record: removed, so that creating it again (once
            // space returns) does not fail on "file exists".
            drop(file);
            let _ = fs::remove_file(&path);
            return Err(e);
        }
        Ok(Self {
            data_dir: data_dir.to_path_buf(),
            seq,
            file,
            len: WAL_MAGIC.len() as u64,
            sync,
            damaged: false,
        })
    }

    /// Sequence number of the current segment.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Appends the payloads as records and makes them durable (one fsync).
    pub fn append_group<P: AsRef<[u8]>>(&mut self, payloads: &[P]) -> Result<()> {
        if self.damaged {
            self.rotate()?;
        }
        let mut headers = Vec::with_capacity(payloads.len());
        for payload in payloads {
            let payload = payload.as_ref();
            let len = u32::try_from(payload.len())
                .map_err(|_| StorageError::Encode("WAL record over 4 GiB".into()))?;
            let mut header = [0u8; RECORD_HEADER];
            header[..4].copy_from_slice(&len.to_le_bytes());
            header[4..].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
            headers.push(header);
        }
        // Written as they lie, headers between payloads: copied into one
        // buffer first, megabytes a group were moved for nothing.
        let mut slices: Vec<IoSlice<'_>> = headers
            .iter()
            .zip(payloads)
            .flat_map(|(h, p)| [IoSlice::new(h), IoSlice::new(p.as_ref())])
            .collect();
        let total: usize = slices.iter().map(|s| s.len()).sum();
        let path = filenames::wal_segment(&self.data_dir, self.seq);
        let written = write_all_vectored(&mut self.file, &mut slices).and_then(|()| {
            if self.sync {
                self.file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            // Cut the partial group off (replay would truncate it anyway)
            // and leave this segment: its cursor or its tail may be wrong.
            let _ = self.file.set_len(self.len);
            let _ = self.file.seek(SeekFrom::Start(self.len));
            self.damaged = true;
            return Err(StorageError::io("append", path, e));
        }
        self.len += total as u64;
        Ok(())
    }

    /// Closes this segment and starts segment `seq + 1`; returns the closed seq.
    pub fn rotate(&mut self) -> Result<u64> {
        let next = Wal::create(&self.data_dir, self.seq + 1, self.sync)?;
        let closed = self.seq;
        *self = next;
        Ok(closed)
    }
}

/// Deletes every segment with a sequence number up to `seq`.
pub fn delete_segments_through(data_dir: &Path, seq: u64) -> Result<()> {
    for (s, path) in list_segments(data_dir)? {
        if s <= seq {
            fs::remove_file(&path).map_err(|e| StorageError::io("remove", &path, e))?;
        }
    }
    Ok(())
}

/// The segments present, sorted by sequence number.
pub fn list_segments(data_dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let dir = data_dir.join(filenames::WAL_DIR);
    let mut out = Vec::new();
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(StorageError::io("list", &dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| StorageError::io("list", &dir, e))?;
        if let Some(seq) = entry
            .file_name()
            .to_str()
            .and_then(filenames::wal_segment_seq)
        {
            out.push((seq, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// fsyncs a directory so a file created or renamed in it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StorageError::io("fsync dir", dir, e))
}

/// Writes every byte of `slices`, in as few calls as the OS allows.
fn write_all_vectored(file: &mut File, mut slices: &mut [IoSlice<'_>]) -> std::io::Result<()> {
    while !slices.is_empty() {
        match file.write_vectored(slices) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
