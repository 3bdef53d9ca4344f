use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{TimestampNanosecondType, UInt64Type};
use arrow_array::{Array, RecordBatch};
use basin_model::{Entry, Labels, StreamId};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;

use super::file::PartFile;
use super::index::{PartIndex, INDEX_KEY, VERSION_KEY};
use super::schema::{column_field, LINE, STREAM_ID, TIME};
use crate::error::{Result, StorageError};
use crate::limits::{BLOCK_ROWS, PART_FORMAT_VERSION};
use crate::manifest::PartMeta;
use crate::scan::{ScanRequest, ScanStats};
use crate::token_filter::{gram_hash, token_hash};
use crate::tokens::{required_grams, required_tokens};

/// What a scan must read of one part: the admitted blocks, and which of the
/// part's streams the selector wants (evaluated once per part, not per block).
#[derive(Debug, Default)]
pub struct PartPlan {
    /// Admitted blocks, in order.
    pub blocks: Vec<usize>,
    /// Per stream of the part's index: wanted by the selector.
    pub wanted: Vec<bool>,
}

/// An open part: its file, footer and index, ready to scan.
pub struct Part {
    /// What the manifest says of it.
    pub meta: PartMeta,
    path: PathBuf,
    file: PartFile,
    arrow_meta: ArrowReaderMetadata,
    index: PartIndex,
    stream_labels: Vec<Arc<Labels>>,
    /// Part format version (see [`PART_FORMAT_VERSION`]).
    version: u32,
}

impl std::fmt::Debug for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Part")
            .field("path", &self.path)
            .field("meta", &self.meta)
            .finish()
    }
}

impl Part {
    /// Opens a part file and reads its footer and index.
    pub fn open(path: &Path, meta: PartMeta) -> Result<Self> {
        let corrupt = |detail: String| StorageError::Corruption {
            path: path.to_path_buf(),
            detail,
        };
        let file = File::open(path).map_err(|e| StorageError::io("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| StorageError::io("stat", path, e))?
            .len();
        let file = PartFile::new(file, len);
        let arrow_meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::default())?;
        let kv = arrow_meta
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .cloned()
            .unwrap_or_default();
        let find = |key: &str| {
            kv.iter()
                .find(|k| k.key == key)
                .and_then(|k| k.value.clone())
        };
        let version: u32 = find(VERSION_KEY)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| corrupt("no format version in footer".into()))?;
        if version > PART_FORMAT_VERSION {
            return Err(corrupt(format!(
                "format version {version} is newer than this build reads ({PART_FORMAT_VERSION})"
            )));
        }
        let index = find(INDEX_KEY)
            .ok_or_else(|| corrupt("no block index in footer".into()))
            .and_then(|text| PartIndex::decode(&text).map_err(corrupt))?;
        if index.blocks.len() != arrow_meta.metadata().num_row_groups() {
            return Err(corrupt("block index and row groups disagree".into()));
        }
        let stream_labels = index
            .streams
            .iter()
            .map(|(_, text)| {
                Labels::parse(text)
                    .map(Arc::new)
                    .map_err(|e| corrupt(e.to_string()))
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            meta,
            path: path.to_path_buf(),
            file,
            arrow_meta,
            index,
            stream_labels,
            version,
        })
    }

    /// Where the part lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The block index.
    pub fn index(&self) -> &PartIndex {
        &self.index
    }

    /// Adds to `out` the streams with a block overlapping `[start, end)`.
    pub fn streams_in(
        &self,
        start: i64,
        end: i64,
        filter: &dyn Fn(&Labels) -> bool,
        out: &mut HashMap<StreamId, Arc<Labels>>,
    ) {
        if self.meta.max_ts < start || self.meta.min_ts >= end {
            return;
        }
        for block in &self.index.blocks {
            if block.max_ts < start || block.min_ts >= end {
                continue;
            }
            for &s in &block.streams {
                let id = StreamId(self.index.streams[s as usize].0);
                let labels = &self.stream_labels[s as usize];
                if !out.contains_key(&id) && filter(labels) {
                    out.insert(id, labels.clone());
                }
            }
        }
    }

    /// Passes the entries matching `req` to `emit`; returns false if `emit` stopped.
    pub fn scan(
        &self,
        req: &ScanRequest<'_>,
        stats: &mut ScanStats,
        emit: &mut dyn FnMut(&Arc<Labels>, &Entry) -> bool,
    ) -> Result<bool> {
        let plan = self.plan(req, stats);
        self.read_blocks(req, &plan.wanted, plan.blocks, stats, emit)
    }

    /// The blocks `req` must read: those whose time range, streams and token
    /// filter admit it. Counts the pruning in `stats`.
    pub fn plan(&self, req: &ScanRequest<'_>, stats: &mut ScanStats) -> PartPlan {
        if self.meta.max_ts < req.start || self.meta.min_ts >= req.end {
            return PartPlan::default();
        }
        stats.parts_considered += 1;
        let wanted = self.wanted_streams(req);
        let token_hashes = self.needle_hashes(req.needles);
        let mut blocks = Vec::new();
        for (i, block) in self.index.blocks.iter().enumerate() {
            stats.blocks_total += 1;
            let in_range = block.max_ts >= req.start && block.min_ts < req.end;
            if !in_range || !block.streams.iter().any(|&s| wanted[s as usize]) {
                stats.blocks_pruned_by_range_or_stream += 1;
            } else if !token_hashes.iter().all(|&h| block.tokens.may_contain(h)) {
                stats.blocks_pruned_by_tokens += 1;
            } else {
                blocks.push(i);
            }
        }
        PartPlan { blocks, wanted }
    }

    /// Filter hashes every block holding all `needles` has: the needles'
    /// bounded tokens, and the trigrams inside their tokens (version 2 on).
    fn needle_hashes(&self, needles: &[String]) -> Vec<u64> {
        let mut out = Vec::new();
        for needle in needles {
            out.extend(required_tokens(needle).iter().map(|t| token_hash(t)));
            if self.version >= 2 {
                out.extend(required_grams(needle).into_iter().map(gram_hash));
            }
        }
        out
    }

    fn wanted_streams(&self, req: &ScanRequest<'_>) -> Vec<bool> {
        self.stream_labels
            .iter()
            .map(|l| (req.stream_filter)(l))
            .collect()
    }

    /// Decodes `blocks` (from [`Part::plan`], with its `wanted` streams) and
    /// passes the matching entries to `emit`; returns false if `emit` stopped.
    pub fn read_blocks(
        &self,
        req: &ScanRequest<'_>,
        wanted: &[bool],
        blocks: Vec<usize>,
        stats: &mut ScanStats,
        emit: &mut dyn FnMut(&Arc<Labels>, &Entry) -> bool,
    ) -> Result<bool> {
        if blocks.is_empty() {
            return Ok(true);
        }
        let parquet_meta = self.arrow_meta.metadata();
        for &b in &blocks {
            stats.blocks_read += 1;
            stats.bytes_read += parquet_meta.row_group(b).compressed_size() as u64;
        }
        let by_id: HashMap<u64, &Arc<Labels>> = self
            .index
            .streams
            .iter()
            .zip(&self.stream_labels)
            .zip(wanted)
            .filter(|(_, &w)| w)
            .map(|(((id, _), labels), _)| (*id, labels))
            .collect();
        let schema = self.arrow_meta.schema().clone();
        let projected: Vec<usize> = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| match f.name().as_str() {
                super::schema::STREAM => false,
                LINE => req.columns.line,
                name => column_field(name).is_none_or(|field| req.columns.wants_field(field)),
            })
            .map(|(i, _)| i)
            .collect();
        let mask = ProjectionMask::roots(parquet_meta.file_metadata().schema_descr(), projected);
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(
            self.file.clone(),
            self.arrow_meta.clone(),
        )
        .with_row_groups(blocks)
        .with_projection(mask)
        .with_batch_size(BLOCK_ROWS)
        .build()?;
        for batch in reader {
            let batch = batch?;
            stats.rows_read += batch.num_rows() as u64;
            if !self.emit_batch(&batch, req, &by_id, emit)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn emit_batch(
        &self,
        batch: &RecordBatch,
        req: &ScanRequest<'_>,
        by_id: &HashMap<u64, &Arc<Labels>>,
        emit: &mut dyn FnMut(&Arc<Labels>, &Entry) -> bool,
    ) -> Result<bool> {
        let corrupt = |what: &str| StorageError::Corruption {
            path: self.path.clone(),
            detail: format!("column {what} missing or of the wrong type"),
        };
        let schema = batch.schema();
        let column = |name: &str| schema.index_of(name).ok().map(|i| batch.column(i));
        let times = column(TIME)
            .and_then(|c| c.as_primitive_opt::<TimestampNanosecondType>())
            .ok_or_else(|| corrupt(TIME))?;
        let ids = column(STREAM_ID)
            .and_then(|c| c.as_primitive_opt::<UInt64Type>())
            .ok_or_else(|| corrupt(STREAM_ID))?;
        let lines = match column(LINE) {
            Some(c) => Some(c.as_string_opt::<i32>().ok_or_else(|| corrupt(LINE))?),
            None if req.columns.line => return Err(corrupt(LINE)),
            None => None,
        };
        let mut fields = Vec::new();
        for (i, f) in schema.fields().iter().enumerate() {
            if let Some(name) = column_field(f.name()) {
                let values = batch
                    .column(i)
                    .as_string_opt::<i32>()
                    .ok_or_else(|| corrupt(f.name()))?;
                fields.push((name.to_string(), values));
            }
        }
        // One entry, refilled per row, so a row costs no allocation once
        // the buffers have grown.
        let mut entry = Entry::new(0, String::new());
        for row in 0..batch.num_rows() {
            let ts = times.value(row);
            if ts < req.start || ts >= req.end {
                continue;
            }
            let Some(labels) = by_id.get(&ids.value(row)) else {
                continue;
            };
            entry.ts = ts;
            entry.line.clear();
            if let Some(lines) = lines {
                entry.line.push_str(lines.value(row));
            }
            let mut used = 0;
            for (name, values) in &fields {
                if !values.is_valid(row) {
                    continue;
                }
                if let Some((n, v)) = entry.fields.get_mut(used) {
                    n.clear();
                    n.push_str(name);
                    v.clear();
                    v.push_str(values.value(row));
                } else {
                    entry
                        .fields
                        .push((name.clone(), values.value(row).to_string()));
                }
                used += 1;
            }
            entry.fields.truncate(used);
            if !emit(labels, &entry) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
