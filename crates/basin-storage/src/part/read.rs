use std::cell::OnceCell;
use std::collections::HashMap;
use std::fs::File;
use std::hash::BuildHasherDefault;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use basin_model::{Entry, Labels, StreamId};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader, RowSelection, RowSelector,
};
use parquet::arrow::{parquet_to_arrow_field_levels, ProjectionMask};
use parquet::file::metadata::{FileMetaData, KeyValue, PageIndexPolicy, ParquetMetaDataBuilder};
use parquet::file::reader::{ChunkReader, Length};

use super::counts::{bucket_end, PartCounts, COUNTS_KEY};
use super::file::PartFile;
use super::hash_key::HashIsKey;
use super::index::{decode_value, stored_value, unpack, PartIndex, INDEX_KEY, VERSION_KEY};
use super::line_codec::{
    join_columns, var_column, NeedleTest, Templates, Verdict, SKELETON_PATTERNS_KEY, TEMPLATE,
    TEMPLATES_KEY, VAR_MASKS_KEY,
};
use super::pages::Blocks;
use super::schema::{column_field, var_index, LINE, PATTERN_ID, STREAM_ID, TIME};
use super::skeleton_runs::{SkeletonRun, StoredRuns, SKELETON_RUNS_KEY};
use super::var_grams::{needle_grams, GramSet, VAR_GRAMS_KEY};
use super::var_order::VarOrder;
use crate::error::{Result, StorageError};
use crate::limits::{BLOCK_ROWS, PART_FORMAT_VERSION};
use crate::manifest::PartMeta;
use crate::remote::Remote;
use crate::scan::{RunSink, RunTimes, ScanRequest, ScanStats};
use crate::token_filter::{gram_hash, token_hash};
use crate::tokens::{indexed_token, required_grams, required_tokens};

mod skeleton_count;

/// What a scan must read of one part: the admitted blocks, and which of the
/// part's streams the selector wants (evaluated once per part, not per block).
#[derive(Debug, Default)]
pub struct PartPlan {
    /// Admitted blocks, in order.
    pub blocks: Vec<usize>,
    /// Per stream of the part's index: wanted by the selector.
    pub wanted: Vec<bool>,
}

/// A skeleton dictionary decoded, or why it could not be.
type DecodedTemplates = std::result::Result<Templates, String>;

/// A part's skeleton runs decoded and checked, or why they could not be.
type DecodedRuns = std::result::Result<Vec<Vec<SkeletonRun>>, String>;

/// The labels of the wanted streams, by stream id.
type StreamsById<'a> = HashMap<u64, &'a Arc<Labels>, BuildHasherDefault<HashIsKey>>;

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
    /// Per-minute counts (version 3 on).
    counts: Option<PartCounts>,
    /// The skeleton dictionary, for parts whose lines are templated: as the
    /// footer holds it, and decoded on first use.
    templates: Option<(Vec<u8>, OnceLock<DecodedTemplates>)>,
    /// Per block, the byte classes of each variable column.
    var_masks: Vec<Vec<u64>>,
    /// Each skeleton's pattern id, for rows whose `_pattern_id` is null
    /// (format 8 on; empty before).
    skeleton_patterns: Vec<u64>,
    /// Per block, the trigrams of each variable column (format 8 on; empty
    /// before).
    var_grams: Vec<Vec<GramSet>>,
    /// Per block, its rows by skeleton and stream, if the part keeps them:
    /// as the footer holds them, and decoded on first use.
    skeleton_runs: Option<(Vec<u8>, OnceLock<DecodedRuns>)>,
    /// Number of variable columns.
    var_count: usize,
    /// Skeleton verdicts by needle (see [`Part::verdicts`]).
    verdicts: Mutex<HashMap<Vec<u8>, Arc<Vec<Verdict>>>>,
}

/// Most needles whose skeleton verdicts a part keeps.
const VERDICT_CACHE_NEEDLES: usize = 32;

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
        let file = File::open(path).map_err(|e| StorageError::io("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| StorageError::io("stat", path, e))?
            .len();
        Self::open_from(PartFile::new(file, len), path, meta)
    }

    /// Opens a part that is only in the bucket: its footer, index and, later,
    /// the pages a scan admits are read by ranged GETs (`path` is where its
    /// local copy would be, for messages).
    pub fn open_remote(remote: Arc<Remote>, path: &Path, meta: PartMeta) -> Result<Self> {
        let key = Remote::part_key(&meta);
        let file = PartFile::remote(remote, &key, meta.size_bytes);
        Self::open_from(file, path, meta)
    }

    fn open_from(file: PartFile, path: &Path, meta: PartMeta) -> Result<Self> {
        let corrupt = |detail: String| StorageError::Corruption {
            path: path.to_path_buf(),
            detail,
        };
        // Offset indexes locate each page, so a read at a few rows skips
        // the other pages of a column without decompressing them.
        let options =
            ArrowReaderOptions::default().with_offset_index_policy(PageIndexPolicy::Optional);
        let arrow_meta = ArrowReaderMetadata::load(&file, options)?;
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
        let arrow_meta = without_basin_keys(arrow_meta)?;
        let version: u32 = find(VERSION_KEY)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| corrupt("no format version in footer".into()))?;
        if version > PART_FORMAT_VERSION {
            return Err(corrupt(format!(
                "format version {version} is newer than this build reads ({PART_FORMAT_VERSION})"
            )));
        }
        // A footer value's bytes as stored (see `stored_value`).
        let stored = |key: &str| -> Result<Option<Vec<u8>>> {
            let Some(text) = find(key) else {
                return Ok(None);
            };
            let read_at = |offset: u64, len: usize| {
                if offset
                    .checked_add(len as u64)
                    .is_none_or(|end| end > file.len())
                {
                    return Err(format!("{key} lies past the end of the file"));
                }
                file.get_bytes(offset, len)
                    .map(|b| b.to_vec())
                    .map_err(|e| e.to_string())
            };
            stored_value(version, &text, read_at)
                .map(Some)
                .map_err(|e| corrupt(format!("{key}: {e}")))
        };
        let value = |key: &str| -> Result<Option<Vec<u8>>> {
            stored(key)?
                .map(|b| unpack(b, version).map_err(|e| corrupt(format!("{key}: {e}"))))
                .transpose()
        };
        let index: PartIndex = value(INDEX_KEY)?
            .ok_or_else(|| corrupt("no block index in footer".into()))
            .and_then(|raw| decode_value(&raw).map_err(corrupt))?;
        if index.blocks.len() != arrow_meta.metadata().num_row_groups() {
            return Err(corrupt("block index and row groups disagree".into()));
        }
        // Blocks name streams by their place in the index: a damaged
        // footer must not send a scan past the end.
        let streams = index.streams.len();
        if index
            .blocks
            .iter()
            .any(|b| b.streams.iter().any(|&s| s as usize >= streams))
        {
            return Err(corrupt("a block names a stream the index lacks".into()));
        }
        let counts: Option<PartCounts> = value(COUNTS_KEY)?
            .map(|raw| decode_value(&raw).map_err(corrupt))
            .transpose()?;
        if counts
            .as_ref()
            .is_some_and(|c| c.blocks.len() != index.blocks.len())
        {
            return Err(corrupt("block counts and row groups disagree".into()));
        }
        let templated = arrow_meta
            .schema()
            .fields()
            .iter()
            .any(|f| f.name() == TEMPLATE);
        // Kept compressed until a read needs lines: parts written during
        // ingest are seldom read, and a decoded dictionary is ~10 times larger.
        let templates = match templated {
            true => Some(
                stored(TEMPLATES_KEY)?
                    .ok_or_else(|| corrupt("templated lines but no skeletons in footer".into()))?,
            ),
            false => None,
        }
        .map(|packed| (packed, OnceLock::new()));
        let var_masks: Vec<Vec<u64>> = match value(VAR_MASKS_KEY)? {
            Some(raw) => decode_value(&raw).map_err(corrupt)?,
            None => Vec::new(),
        };
        if templated && var_masks.len() != index.blocks.len() {
            return Err(corrupt("variable masks and row groups disagree".into()));
        }
        // Variables are ordered per block and a read's batches must be its
        // blocks: every block but the last holds exactly one batch's rows.
        let row_groups = arrow_meta.metadata().row_groups();
        if templated
            && version >= 8
            && row_groups
                .iter()
                .rev()
                .skip(1)
                .any(|g| g.num_rows() != BLOCK_ROWS as i64)
        {
            return Err(corrupt(format!(
                "a block other than the last does not hold {BLOCK_ROWS} rows"
            )));
        }
        let var_grams: Vec<Vec<GramSet>> = match value(VAR_GRAMS_KEY)? {
            Some(raw) => decode_value(&raw).map_err(corrupt)?,
            None => Vec::new(),
        };
        if !var_grams.is_empty() && var_grams.len() != index.blocks.len() {
            return Err(corrupt("variable trigrams and row groups disagree".into()));
        }
        let skeleton_patterns: Vec<u64> = match value(SKELETON_PATTERNS_KEY)? {
            Some(raw) => decode_value(&raw).map_err(corrupt)?,
            None => Vec::new(),
        };
        // Kept compressed until a count needs them, like the skeletons.
        let skeleton_runs = stored(SKELETON_RUNS_KEY)?.map(|packed| (packed, OnceLock::new()));
        let var_count = arrow_meta
            .schema()
            .fields()
            .iter()
            .filter(|f| var_index(f.name()).is_some())
            .count();
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
            counts,
            templates,
            var_masks,
            skeleton_patterns,
            var_grams,
            skeleton_runs,
            var_count,
            verdicts: Mutex::new(HashMap::new()),
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
            let wants = |s: &u32| wanted.get(*s as usize).copied().unwrap_or(false);
            if !in_range || !block.streams.iter().any(wants) {
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
            out.extend(
                required_tokens(needle)
                    .iter()
                    .filter(|t| self.version < 8 || indexed_token(t))
                    .map(|t| token_hash(t)),
            );
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
        let projection = Projection {
            line: if req.columns.line {
                LineRead::Whole
            } else {
                LineRead::No
            },
            pattern_ids: true,
            times: true,
        };
        // Rows lacking a needle are left out before their line is rebuilt,
        // judged as runs judge them; only the variable columns whose byte
        // classes may hold a needle are searched.
        let mut needles = match req.columns.line {
            true => NeedleFilter::new(req.needles, self)?,
            false => None,
        };
        if let Some(n) = needles.as_mut() {
            if self.version >= 8 && self.templates()?.is_some() {
                return self.read_sifted(req, wanted, blocks, stats, n, emit);
            }
        }
        let searched = needles.as_ref().map(|n| self.searched_columns(n, &blocks));
        let Some((by_id, reader)) = self.open_blocks(req, wanted, blocks, stats, projection)?
        else {
            return Ok(true);
        };
        for batch in reader {
            let batch = batch?;
            stats.rows_read += batch.num_rows() as u64;
            let filter = needles.as_mut().zip(searched.as_deref());
            if !self.emit_batch(&batch, req, &by_id, filter, None, emit)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// [`Part::read_blocks`] for rows that must hold `needles`, block by
    /// block in two reads: first the columns the needle test needs, then,
    /// if rows are kept, every column at those rows only, which skips the
    /// pages without them. A needle seldom matches more than a few rows of
    /// a block, and decoding all of a block's variables was most of what a
    /// needle query cost. From format 8, where variables sit in skeleton
    /// order, the variable columns are read at the rows' positions.
    fn read_sifted(
        &self,
        req: &ScanRequest<'_>,
        wanted: &[bool],
        blocks: Vec<usize>,
        stats: &mut ScanStats,
        needles: &mut NeedleFilter<'_>,
        emit: &mut dyn FnMut(&Arc<Labels>, &Entry) -> bool,
    ) -> Result<bool> {
        let Some(templates) = self.templates()? else {
            return Err(self.corrupt_column(TEMPLATE));
        };
        for block in blocks {
            let searched = self.searched_columns(needles, &[block]);
            // Times are read first only where a row may fall outside the
            // request or a line be rebuilt with its time.
            let inside = self
                .index
                .blocks
                .get(block)
                .is_some_and(|b| b.min_ts >= req.start && b.max_ts < req.end);
            let projection = Projection {
                line: LineRead::Needles(searched),
                pattern_ids: false,
                times: !inside || needles.may_need_time(),
            };
            let Some((by_id, reader)) =
                self.open_blocks(req, wanted, vec![block], stats, projection)?
            else {
                continue;
            };
            // The kept rows, where their variables sit, and how many
            // variable columns their skeletons use.
            let mut kept: Vec<usize> = Vec::new();
            let mut positions: Vec<usize> = Vec::new();
            let mut vars = 0;
            let mut searched_batch = None;
            for batch in reader {
                let batch = batch?;
                stats.rows_read += batch.num_rows() as u64;
                let (times, ids, _) = self.columns_of(&batch)?;
                let line_at = batch
                    .schema_ref()
                    .index_of(LINE)
                    .map_err(|_| self.corrupt_column(LINE))?;
                let lines = self.line_columns(&batch, line_at, None)?;
                needles.prepare(&lines);
                for row in 0..batch.num_rows() {
                    let ts = times.as_ref().map(|t| t.value(row));
                    if ts.is_some_and(|ts| ts < req.start || ts >= req.end)
                        || !by_id.contains_key(&ids.value(row))
                        || !needles.keeps(&lines, row, ts)
                    {
                        continue;
                    }
                    kept.push(row);
                    vars = vars.max(templates.vars_of(lines.skeleton(row)));
                }
                // The block's order, even where no variable column was read.
                if !kept.is_empty() {
                    let order = lines.block_order();
                    positions.extend(kept.iter().map(|&r| order.position(r)));
                }
                // Kept only if the block is this one batch.
                searched_batch = match searched_batch {
                    None => Some(Some(batch.clone())),
                    Some(_) => Some(None),
                };
            }
            if kept.is_empty() {
                continue;
            }
            // The variables searched are decoded already: taken at the kept
            // rows' positions, not read again.
            let mut sorted = positions.clone();
            sorted.sort_unstable();
            let known = match searched_batch.flatten() {
                Some(b) => searched_at(&b, &sorted, vars),
                None => Vec::new(),
            };
            let batch = self.read_kept(req, block, &kept, &sorted, vars, known)?;
            let order = VarOrder::of_positions(&positions);
            if !self.emit_batch(&batch, req, &by_id, None, Some(order), emit)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Every column a line read wants of `block`, at rows `kept`
    /// (ascending) and, for the first `vars` variable columns, at `sorted`
    /// (the kept rows' variables' positions, ascending), as one batch;
    /// `known` holds variable columns already taken at `sorted`.
    fn read_kept(
        &self,
        req: &ScanRequest<'_>,
        block: usize,
        kept: &[usize],
        sorted: &[usize],
        vars: usize,
        known: Vec<(Field, ArrayRef)>,
    ) -> Result<RecordBatch> {
        let by_row = self.projected(
            req,
            &Projection {
                line: LineRead::Needles(vec![false; self.var_count]),
                pattern_ids: true,
                times: true,
            },
        );
        let mut batch = self.read_selected(by_row, block, kept)?;
        if vars > 0 {
            let mut wanted = vec![false; self.var_count];
            wanted.iter_mut().take(vars).for_each(|w| *w = true);
            for (field, _) in &known {
                if let Some(w) = var_index(field.name()).and_then(|n| wanted.get_mut(n)) {
                    *w = false;
                }
            }
            let by_position = self.projected(
                req,
                &Projection {
                    line: LineRead::Needles(wanted),
                    pattern_ids: false,
                    times: false,
                },
            );
            // Only the variable columns: the rest were read by row.
            let by_position: Vec<usize> = by_position
                .into_iter()
                .filter(|&i| {
                    self.arrow_meta
                        .schema()
                        .fields()
                        .get(i)
                        .is_some_and(|f| var_index(f.name()).is_some())
                })
                .collect();
            let (mut fields, mut columns): (Vec<_>, Vec<_>) = batch
                .schema()
                .fields()
                .iter()
                .cloned()
                .zip(batch.columns().iter().cloned())
                .unzip();
            if !by_position.is_empty() {
                let variables = self.read_selected(by_position, block, sorted)?;
                fields.extend(variables.schema().fields().iter().cloned());
                columns.extend(variables.columns().iter().cloned());
            }
            for (field, column) in known {
                fields.push(Arc::new(field));
                columns.push(column);
            }
            batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| {
                StorageError::Corruption {
                    path: self.path.clone(),
                    detail: format!("block {block}: rows and variables disagree: {e}"),
                }
            })?;
        }
        Ok(batch)
    }

    /// Columns `projected` of `block` at `rows` (ascending, distinct), as
    /// one batch.
    fn read_selected(
        &self,
        projected: Vec<usize>,
        block: usize,
        rows: &[usize],
    ) -> Result<RecordBatch> {
        let mut selectors = Vec::new();
        let mut next = 0;
        for &row in rows {
            if row > next {
                selectors.push(RowSelector::skip(row - next));
            }
            match selectors.last_mut() {
                Some(last) if !last.skip && row == next && next > 0 => last.row_count += 1,
                _ => selectors.push(RowSelector::select(1)),
            }
            next = row + 1;
        }
        let reader = self.reader_of(
            projected,
            vec![block],
            Some(RowSelection::from(selectors)),
            rows.len(),
        )?;
        let mut batches = reader.collect::<Result<Vec<RecordBatch>>>()?;
        match (batches.pop(), batches.is_empty()) {
            (Some(batch), true) if batch.num_rows() == rows.len() => Ok(batch),
            _ => Err(StorageError::Corruption {
                path: self.path.clone(),
                detail: format!("block {block} holds fewer rows than its index says"),
            }),
        }
    }

    /// Like [`Part::read_blocks`] without the line: passes runs of rows of
    /// one stream and equal projected fields, as the times of the rows in
    /// the request's range (or, where `times` allows, one weighted time a
    /// run). Returns false if `emit` stopped.
    pub fn read_runs(
        &self,
        req: &ScanRequest<'_>,
        wanted: &[bool],
        blocks: Vec<usize>,
        stats: &mut ScanStats,
        times: RunTimes<'_>,
        emit: &mut RunSink<'_>,
    ) -> Result<bool> {
        // Blocks a count of needles can answer from their skeleton runs
        // are counted so; the rest are decoded, in block order.
        let mut needles = NeedleFilter::new(req.needles, self)?;
        if !needles
            .as_ref()
            .is_some_and(|n| self.may_count_by_skeleton(req, n))
        {
            return self.read_runs_decoded(req, wanted, blocks, stats, times, &mut needles, emit);
        }
        let mut decoded = Vec::new();
        for block in blocks {
            let Some(n) = needles.as_mut() else {
                break;
            };
            if !self.counts_by_skeleton(req, wanted, block, n, times)? {
                decoded.push(block);
                continue;
            }
            if !decoded.is_empty() {
                let some = std::mem::take(&mut decoded);
                if !self.read_runs_decoded(req, wanted, some, stats, times, &mut needles, emit)? {
                    return Ok(false);
                }
            }
            let Some(n) = needles.as_mut() else {
                break;
            };
            if !self.count_by_skeleton(wanted, block, n, stats, emit)? {
                return Ok(false);
            }
        }
        match decoded.is_empty() {
            true => Ok(true),
            false => self.read_runs_decoded(req, wanted, decoded, stats, times, &mut needles, emit),
        }
    }

    /// [`Part::read_runs`] by decoding the blocks' rows; `needles` is the
    /// read's filter of `req.needles`.
    #[allow(clippy::too_many_arguments)]
    fn read_runs_decoded(
        &self,
        req: &ScanRequest<'_>,
        wanted: &[bool],
        blocks: Vec<usize>,
        stats: &mut ScanStats,
        times: RunTimes<'_>,
        needles: &mut Option<NeedleFilter<'_>>,
        emit: &mut RunSink<'_>,
    ) -> Result<bool> {
        // Rows must hold every needle: the skeletons decide most rows, and
        // only the variable columns that may hold a needle are read.
        // One projection serves all of a read's blocks: split the read where
        // the columns to search change, so one block's do not cost the rest.
        if let (Some(n), true) = (&*needles, blocks.len() > 1) {
            let per_block: Vec<Vec<bool>> = blocks
                .iter()
                .map(|&b| self.searched_columns(n, &[b]))
                .collect();
            if per_block.windows(2).any(|w| w[0] != w[1]) {
                let mut start = 0;
                for end in 1..=blocks.len() {
                    if end == blocks.len() || per_block[end] != per_block[start] {
                        let some = blocks[start..end].to_vec();
                        if !self
                            .read_runs_decoded(req, wanted, some, stats, times, needles, emit)?
                        {
                            return Ok(false);
                        }
                        start = end;
                    }
                }
                return Ok(true);
            }
        }
        let line = match &*needles {
            None => LineRead::No,
            Some(n) => LineRead::Needles(self.searched_columns(n, &blocks)),
        };
        // Blocks whose rows all lie in the request and in the same windows
        // are counted, not timed: their time column is not read, unless a
        // line may have to be rebuilt with its time.
        let span = blocks
            .iter()
            .filter_map(|&b| self.index.blocks.get(b))
            .map(|b| (b.min_ts, b.max_ts))
            .reduce(|(lo, hi), (l, h)| (lo.min(l), hi.max(h)));
        let timeless = self.version < 7 || needles.as_ref().is_none_or(|n| !n.may_need_time());
        let counted_at = span
            .filter(|&(lo, hi)| {
                timeless && lo >= req.start && hi < req.end && (times.same_windows)(lo, hi)
            })
            .map(|(_, hi)| hi);
        let projection = Projection {
            line,
            pattern_ids: false,
            times: counted_at.is_none(),
        };
        let Some((by_id, reader)) = self.open_blocks(req, wanted, blocks, stats, projection)?
        else {
            return Ok(true);
        };
        let mut times_in_run: Vec<i64> = Vec::with_capacity(BLOCK_ROWS);
        let mut counted: u32 = 0;
        let mut run_fields: Vec<(String, String)> = Vec::new();
        for batch in reader {
            let batch = batch?;
            stats.rows_read += batch.num_rows() as u64;
            let (times, ids, fields) = self.columns_of(&batch)?;
            let times = match (times, counted_at) {
                (Some(t), _) => Some(t),
                (None, Some(_)) => None,
                (None, None) => return Err(self.corrupt_column(TIME)),
            };
            let ids = ids.values();
            let lines = match (&*needles, batch.schema_ref().index_of(LINE)) {
                (Some(_), Ok(i)) => Some(self.line_columns(&batch, i, None)?),
                (Some(_), Err(_)) => return Err(self.corrupt_column(LINE)),
                (None, _) => None,
            };
            if let (Some(n), Some(l)) = (&mut *needles, &lines) {
                n.prepare(l);
            }
            let mut labels: Option<&Arc<Labels>> = None;
            let rows = batch.num_rows();
            let mut row = 0;
            // One past the last row closes the last run.
            while row <= rows {
                let boundary = row == 0
                    || row == rows
                    || ids[row] != ids[row - 1]
                    || fields.iter().any(|(_, v)| {
                        v.is_valid(row) != v.is_valid(row - 1)
                            || (v.is_valid(row) && v.value(row) != v.value(row - 1))
                    });
                if boundary {
                    if let Some(l) = labels {
                        let go_on = match counted_at {
                            Some(at) if counted > 0 => {
                                emit(l, &run_fields, &[at], Some(&[counted]))
                            }
                            Some(_) => true,
                            None => {
                                times_in_run.is_empty() || emit(l, &run_fields, &times_in_run, None)
                            }
                        };
                        if !go_on {
                            return Ok(false);
                        }
                    }
                    times_in_run.clear();
                    counted = 0;
                    if row == rows {
                        break;
                    }
                    labels = by_id.get(&ids[row]).copied();
                    if labels.is_none() {
                        // An unwanted stream: on to its last row.
                        let id = ids[row];
                        row += ids[row..].iter().take_while(|&&i| i == id).count() - 1;
                    }
                    run_fields.clear();
                    run_fields.extend(
                        fields
                            .iter()
                            .filter(|(_, v)| v.is_valid(row))
                            .map(|(n, v)| (n.to_string(), v.value(row).to_string())),
                    );
                }
                if labels.is_some() {
                    let kept = match (&mut *needles, &lines) {
                        (Some(n), Some(l)) => n.keeps(l, row, times.as_ref().map(|t| t.value(row))),
                        _ => true,
                    };
                    match &times {
                        None => counted += u32::from(kept),
                        Some(t) => {
                            let ts = t.value(row);
                            if kept && ts >= req.start && ts < req.end {
                                times_in_run.push(ts);
                            }
                        }
                    }
                }
                row += 1;
            }
        }
        Ok(true)
    }

    /// Whether [`Part::read_counts`] can answer `req`: the part has counts,
    /// and no field column `req` wants (counts are per stream only).
    pub fn can_count(&self, req: &ScanRequest<'_>) -> bool {
        self.counts.is_some() && req.needles.is_empty() && !self.wants_field_columns(req)
    }

    /// Whether `req` wants a field column the part has.
    fn wants_field_columns(&self, req: &ScanRequest<'_>) -> bool {
        self.arrow_meta
            .schema()
            .fields()
            .iter()
            .any(|f| column_field(f.name()).is_some_and(|name| req.columns.wants_field(name)))
    }

    /// Like [`Part::read_runs`] from the per-minute counts: passes, per
    /// stream run of each block, the ends of the buckets in the request's
    /// range and their counts. Exact when the request's bounds are whole
    /// minutes (see [`crate::part::counts`]). Returns false if `emit` stopped.
    pub fn read_counts(
        &self,
        req: &ScanRequest<'_>,
        wanted: &[bool],
        blocks: Vec<usize>,
        stats: &mut ScanStats,
        emit: &mut RunSink<'_>,
    ) -> Result<bool> {
        let Some(counts) = &self.counts else {
            return Ok(true);
        };
        let (mut ends, mut ns) = (Vec::new(), Vec::new());
        for b in blocks {
            stats.blocks_counted += 1;
            for run in counts.blocks.get(b).map_or(&[][..], Vec::as_slice) {
                let s = run.stream as usize;
                let (Some(true), Some(labels)) = (wanted.get(s), self.stream_labels.get(s)) else {
                    continue;
                };
                ends.clear();
                ns.clear();
                run.for_each(|bucket, count| {
                    let end = bucket_end(bucket);
                    if end >= req.start && end < req.end {
                        ends.push(end);
                        ns.push(count);
                    }
                });
                if !ends.is_empty() && !emit(labels, &[], &ends, Some(&ns)) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Counts `blocks` as read and opens a reader over them, projected to
    /// what `req` needs; `None` if there is nothing to read.
    fn open_blocks(
        &self,
        req: &ScanRequest<'_>,
        wanted: &[bool],
        blocks: Vec<usize>,
        stats: &mut ScanStats,
        projection: Projection,
    ) -> Result<Option<(StreamsById<'_>, GuardedBatches<'_>)>> {
        if blocks.is_empty() {
            return Ok(None);
        }
        let parquet_meta = self.arrow_meta.metadata();
        for &b in &blocks {
            stats.blocks_read += 1;
            stats.bytes_read += parquet_meta.row_group(b).compressed_size() as u64;
        }
        // Only the streams of these blocks: a part may hold thousands.
        let by_id: StreamsById<'_> = blocks
            .iter()
            .filter_map(|&b| self.index.blocks.get(b))
            .flat_map(|b| b.streams.iter().map(|&s| s as usize))
            .filter(|&s| wanted.get(s).copied().unwrap_or(false))
            .filter_map(|s| Some((self.index.streams.get(s)?.0, self.stream_labels.get(s)?)))
            .collect();
        let projected = self.projected(req, &projection);
        let reader = self.reader_of(projected, blocks, None, BLOCK_ROWS)?;
        Ok(Some((by_id, reader)))
    }

    /// The columns (by place in the schema) a read with `projection` decodes.
    fn projected(&self, req: &ScanRequest<'_>, projection: &Projection) -> Vec<usize> {
        let Projection {
            line,
            pattern_ids,
            times,
        } = projection;
        self.arrow_meta
            .schema()
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| match f.name().as_str() {
                super::schema::STREAM => false,
                TIME => *times,
                LINE => !matches!(line, LineRead::No),
                // Rows without a pattern id of their own have their skeleton's.
                TEMPLATE => {
                    !matches!(line, LineRead::No)
                        || (*pattern_ids && !self.skeleton_patterns.is_empty())
                }
                PATTERN_ID => *pattern_ids,
                name if var_index(name).is_some() => match line {
                    LineRead::No => false,
                    LineRead::Whole => true,
                    LineRead::Needles(vars) => {
                        var_index(name).is_some_and(|n| vars.get(n).copied().unwrap_or(true))
                    }
                },
                name => column_field(name).is_none_or(|field| req.columns.wants_field(field)),
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// A reader of columns `projected` in `blocks`, at the rows `selection`
    /// picks (all if none), in batches of `batch_rows`.
    fn reader_of(
        &self,
        projected: Vec<usize>,
        blocks: Vec<usize>,
        selection: Option<RowSelection>,
        batch_rows: usize,
    ) -> Result<GuardedBatches<'_>> {
        let parquet_meta = self.arrow_meta.metadata();
        let mask = ProjectionMask::roots(parquet_meta.file_metadata().schema_descr(), projected);
        let levels = parquet_to_arrow_field_levels(
            parquet_meta.file_metadata().schema_descr(),
            mask,
            Some(self.arrow_meta.schema().fields()),
        )?;
        let blocks = Blocks::new(self.file.clone(), parquet_meta.clone(), blocks);
        let reader = ParquetRecordBatchReader::try_new_with_row_groups(
            &levels,
            &blocks,
            batch_rows.max(1),
            selection,
        )?;
        Ok(GuardedBatches {
            reader,
            path: self.path(),
            failed: false,
        })
    }

    /// A batch's time (if read) and stream id columns, and its field
    /// columns by name.
    #[allow(clippy::type_complexity)]
    fn columns_of<'b>(
        &self,
        batch: &'b RecordBatch,
    ) -> Result<(
        Option<Times<'b>>,
        &'b UInt64Array,
        Vec<(&'b str, &'b StringArray)>,
    )> {
        let schema = batch.schema_ref();
        let column = |name: &str| schema.index_of(name).ok().map(|i| batch.column(i));
        let times = match column(TIME) {
            Some(c) => Some(Times::of(c).ok_or_else(|| self.corrupt_column(TIME))?),
            None => None,
        };
        let ids = column(STREAM_ID)
            .and_then(|c| c.as_primitive_opt::<UInt64Type>())
            .ok_or_else(|| self.corrupt_column(STREAM_ID))?;
        let mut fields = Vec::new();
        for (i, f) in schema.fields().iter().enumerate() {
            if let Some(name) = column_field(f.name()) {
                let values = batch
                    .column(i)
                    .as_string_opt::<i32>()
                    .ok_or_else(|| self.corrupt_column(f.name()))?;
                fields.push((name, values));
            }
        }
        Ok((times, ids, fields))
    }

    /// The columns that hold a batch's lines (`_line` at `line_at`, and the
    /// template columns if the part has them); `known` is where each row's
    /// variables sit, if not the batch's block order.
    fn line_columns<'b>(
        &'b self,
        batch: &'b RecordBatch,
        line_at: usize,
        known: Option<VarOrder>,
    ) -> Result<BatchLines<'b>> {
        let whole = batch
            .column(line_at)
            .as_string_opt::<i32>()
            .ok_or_else(|| self.corrupt_column(LINE))?;
        let Some(templates) = self.templates()? else {
            return Ok(BatchLines {
                whole,
                templated: None,
                present: Vec::new(),
                order: OnceCell::from(None),
                marks: false,
            });
        };
        let schema = batch.schema_ref();
        let ids = schema
            .index_of(TEMPLATE)
            .ok()
            .and_then(|i| batch.column(i).as_primitive_opt::<UInt32Type>())
            .ok_or_else(|| self.corrupt_column(TEMPLATE))?;
        let mut vars = Vec::with_capacity(self.var_count);
        for n in 0..self.var_count {
            // Left out of the projection where no needle can be in it.
            let Ok(i) = schema.index_of(&var_column(n)) else {
                vars.push(None);
                continue;
            };
            vars.push(Some(
                batch
                    .column(i)
                    .as_string_opt::<i32>()
                    .ok_or_else(|| self.corrupt_column(&var_column(n)))?,
            ));
        }
        let present: Vec<(usize, &StringArray)> = vars
            .iter()
            .enumerate()
            .filter_map(|(n, v)| v.map(|v| (n, v)))
            .collect();
        // A batch is one block (every block but a part's last holds
        // BLOCK_ROWS rows, checked at open), so its order is the block's;
        // worked out when first needed (a count's needle is seldom in a
        // variable, and then no row's place is asked for).
        let order = OnceCell::new();
        if known.is_some() || self.version < 8 || present.is_empty() {
            let _ = order.set(known);
        }
        Ok(BatchLines {
            whole,
            present,
            templated: Some((templates, ids, vars)),
            order,
            marks: self.version >= 7,
        })
    }

    /// The variable columns `needles` must search in `blocks` (see
    /// [`NeedleFilter::var_columns`]).
    fn searched_columns(&self, needles: &NeedleFilter<'_>, blocks: &[usize]) -> Vec<bool> {
        needles.var_columns(
            self.var_count,
            blocks
                .iter()
                .filter_map(|&b| Some((self.var_masks.get(b)?, self.var_grams.get(b)))),
        )
    }

    /// The verdicts of every skeleton on `test`'s needle, judged once per
    /// part and needle (a scan reads a part in many units of blocks).
    fn verdicts(&self, test: &NeedleTest, templates: &Templates) -> Arc<Vec<Verdict>> {
        let key = test.text().to_vec();
        let mut cache = self
            .verdicts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(v) = cache.get(&key) {
            return v.clone();
        }
        let judged: Vec<Verdict> = std::iter::once(Verdict::Rebuild)
            .chain(
                (1..=templates.len() as u32)
                    .map(|id| test.judge(templates.get(id).unwrap_or(""), templates.vars_of(id))),
            )
            .collect();
        let judged = Arc::new(judged);
        // Bounded: needles come from queries.
        if cache.len() >= VERDICT_CACHE_NEEDLES {
            cache.clear();
        }
        cache.insert(key, judged.clone());
        judged
    }

    /// The part's skeletons (none if its lines are whole), for tests.
    #[cfg(test)]
    pub(crate) fn skeletons(&self) -> Vec<String> {
        let Ok(Some(t)) = self.templates() else {
            return Vec::new();
        };
        (1..=t.len() as u32)
            .filter_map(|id| t.get(id).map(str::to_string))
            .collect()
    }

    /// The skeleton dictionary, decoded on first use; `None` if the part's
    /// lines are whole.
    fn templates(&self) -> Result<Option<&Templates>> {
        let Some((packed, decoded)) = &self.templates else {
            return Ok(None);
        };
        match decoded.get_or_init(|| Templates::decode(packed)) {
            Ok(t) => Ok(Some(t)),
            Err(detail) => Err(StorageError::Corruption {
                path: self.path.clone(),
                detail: format!("skeleton dictionary: {detail}"),
            }),
        }
    }

    /// Each block's skeleton runs, decoded and checked on first use; `None`
    /// if the part keeps none.
    fn skeleton_runs(&self) -> Result<Option<&[Vec<SkeletonRun>]>> {
        let Some((packed, decoded)) = &self.skeleton_runs else {
            return Ok(None);
        };
        let decode = || -> DecodedRuns {
            let raw = unpack(packed.clone(), self.version)?;
            let runs = decode_value::<StoredRuns>(&raw)?.runs()?;
            // Runs place rows by position: each block's must add up to its
            // rows and name streams the index has.
            let streams = self.index.streams.len();
            let groups = self.arrow_meta.metadata().row_groups();
            if runs.len() != groups.len()
                || runs.iter().zip(groups).any(|(runs, group)| {
                    runs.iter().map(|r| i64::from(r.rows)).sum::<i64>() != group.num_rows()
                        || runs.iter().any(|r| r.stream as usize >= streams)
                })
            {
                return Err("skeleton runs and row groups disagree".into());
            }
            Ok(runs)
        };
        match decoded.get_or_init(decode) {
            Ok(runs) => Ok(Some(runs)),
            Err(detail) => Err(StorageError::Corruption {
                path: self.path.clone(),
                detail: format!("skeleton runs: {detail}"),
            }),
        }
    }

    fn corrupt_column(&self, what: &str) -> StorageError {
        StorageError::Corruption {
            path: self.path.clone(),
            detail: format!("column {what} missing or of the wrong type"),
        }
    }

    fn emit_batch(
        &self,
        batch: &RecordBatch,
        req: &ScanRequest<'_>,
        by_id: &StreamsById<'_>,
        mut needles: Option<(&mut NeedleFilter<'_>, &[bool])>,
        order: Option<VarOrder>,
        emit: &mut dyn FnMut(&Arc<Labels>, &Entry) -> bool,
    ) -> Result<bool> {
        let (times, ids, fields) = self.columns_of(batch)?;
        let times = times.ok_or_else(|| self.corrupt_column(TIME))?;
        let mut lines = match batch.schema_ref().index_of(LINE) {
            Ok(i) => Some(self.line_columns(batch, i, order)?),
            Err(_) if req.columns.line => return Err(self.corrupt_column(LINE)),
            Err(_) => None,
        };
        if let (Some(lines), Some((filter, searched))) = (&mut lines, &mut needles) {
            lines
                .present
                .retain(|(n, _)| searched.get(*n).copied().unwrap_or(true));
            filter.prepare(lines);
        }
        let skeletons = batch
            .schema_ref()
            .index_of(TEMPLATE)
            .ok()
            .and_then(|i| batch.column(i).as_primitive_opt::<UInt32Type>());
        // Parts before format version 4 have no pattern ids: 0 for all.
        let patterns = match batch.schema_ref().index_of(PATTERN_ID) {
            Ok(i) => Some(
                batch
                    .column(i)
                    .as_primitive_opt::<UInt64Type>()
                    .ok_or_else(|| self.corrupt_column(PATTERN_ID))?,
            ),
            Err(_) => None,
        };
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
            if let (Some((filter, _)), Some(lines)) = (&mut needles, &lines) {
                if !filter.keeps(lines, row, Some(ts)) {
                    continue;
                }
            }
            entry.ts = ts;
            entry.pattern_id = match (patterns, skeletons) {
                (Some(p), _) if p.is_valid(row) => p.value(row),
                (Some(_), Some(s)) => s
                    .value(row)
                    .checked_sub(1)
                    .and_then(|slot| self.skeleton_patterns.get(slot as usize))
                    .copied()
                    .unwrap_or(0),
                _ => 0,
            };
            entry.line.clear();
            if let Some(lines) = &lines {
                lines.line(row, Some(ts), &mut entry.line);
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
                        .push((name.to_string(), values.value(row).to_string()));
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

/// The footer without Basin's keys, which were decoded into the part: the
/// index text alone is ~5 bytes a row, and would stay in memory for as long
/// as the part is open.
fn without_basin_keys(meta: ArrowReaderMetadata) -> Result<ArrowReaderMetadata> {
    let parquet = meta.metadata();
    let file = parquet.file_metadata();
    let kept: Vec<KeyValue> = file
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .filter(|k| !k.key.starts_with("basin."))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let slim = FileMetaData::new(
        file.version(),
        file.num_rows(),
        file.created_by().map(str::to_string),
        Some(kept),
        file.schema_descr_ptr(),
        file.column_orders().cloned(),
    );
    let mut builder = ParquetMetaDataBuilder::new(slim);
    builder = builder
        .set_row_groups(parquet.row_groups().to_vec())
        .set_page_index(parquet.page_index().cloned());
    Ok(ArrowReaderMetadata::try_new(
        Arc::new(builder.build()),
        ArrowReaderOptions::default(),
    )?)
}

/// A batch's lines: whole in `_line`, or as skeleton numbers and variables.
struct BatchLines<'b> {
    whole: &'b StringArray,
    templated: Option<(&'b Templates, &'b UInt32Array, Vec<Option<&'b StringArray>>)>,
    /// The variable columns the batch has (a read for needles leaves out
    /// those that cannot hold them), with their numbers.
    present: Vec<(usize, &'b StringArray)>,
    /// Where each row's variables sit (format 8 on; before, in row order):
    /// see [`BatchLines::order`].
    order: OnceCell<Option<VarOrder>>,
    /// Whether skeletons may hold time marks (format 7 on).
    marks: bool,
}

impl BatchLines<'_> {
    /// Where each row's variables sit, if not in row order.
    fn order(&self) -> Option<&VarOrder> {
        self.order
            .get_or_init(|| {
                self.templated
                    .as_ref()
                    .map(|(_, ids, _)| VarOrder::of(ids.values()))
            })
            .as_ref()
    }

    /// The order of the variables of the batch's block (format 8 on),
    /// whichever variable columns were read.
    fn block_order(&self) -> VarOrder {
        match (self.order(), &self.templated) {
            (Some(order), _) => order.clone(),
            (None, Some((_, ids, _))) => VarOrder::of(ids.values()),
            (None, None) => VarOrder::of(&[]),
        }
    }

    /// Row `row`'s skeleton number (0: a line kept whole).
    fn skeleton(&self, row: usize) -> u32 {
        match &self.templated {
            Some((_, ids, _)) if row < ids.len() => ids.value(row),
            _ => 0,
        }
    }

    /// Writes row `row`'s line to `out` (which is empty); `time` is the
    /// row's, which every read that may rebuild a line with a time mark
    /// reads.
    fn line(&self, row: usize, time: Option<i64>, out: &mut String) {
        let id = match &self.templated {
            Some((_, ids, _)) => ids.value(row),
            None => 0,
        };
        match (&self.templated, id) {
            (Some((templates, _, vars)), id) if id != 0 => {
                let skeleton = templates.get(id).unwrap_or("");
                let at = self.order().map_or(row, |o| o.position(row));
                let column = |n: usize| match vars.get(n) {
                    Some(Some(v)) if at < v.len() && v.is_valid(at) => v.value(at),
                    _ => "",
                };
                let time = if self.marks { time } else { None };
                join_columns(skeleton, column, time, out);
            }
            _ => {
                if self.whole.is_valid(row) {
                    out.push_str(self.whole.value(row));
                }
            }
        }
    }
}

/// A batch's times, in nanoseconds whatever unit the part keeps them in.
struct Times<'b> {
    values: &'b [i64],
    scale: i64,
}

impl<'b> Times<'b> {
    fn of(column: &'b ArrayRef) -> Option<Self> {
        let DataType::Timestamp(unit, _) = column.data_type() else {
            return None;
        };
        let (values, scale): (&[i64], i64) = match unit {
            TimeUnit::Second => (
                column.as_primitive_opt::<TimestampSecondType>()?.values(),
                1_000_000_000,
            ),
            TimeUnit::Millisecond => (
                column
                    .as_primitive_opt::<TimestampMillisecondType>()?
                    .values(),
                1_000_000,
            ),
            TimeUnit::Microsecond => (
                column
                    .as_primitive_opt::<TimestampMicrosecondType>()?
                    .values(),
                1_000,
            ),
            TimeUnit::Nanosecond => (
                column
                    .as_primitive_opt::<TimestampNanosecondType>()?
                    .values(),
                1,
            ),
        };
        Some(Self { values, scale })
    }

    /// Row `row`'s time in nanoseconds (saturating: a part only holds
    /// times that came as nanoseconds).
    fn value(&self, row: usize) -> i64 {
        self.values[row].saturating_mul(self.scale)
    }
}

/// Which columns a read decodes (stream ids and wanted fields always).
struct Projection {
    line: LineRead,
    pattern_ids: bool,
    times: bool,
}

/// Which line columns a read decodes.
enum LineRead {
    /// None.
    No,
    /// All: lines are rebuilt.
    Whole,
    /// `_line`, `_tpl`, and the variable columns marked true.
    Needles(Vec<bool>),
}

/// Tells, row by row, whether a line holds every needle of a scan, from
/// its skeleton where that decides (see [`NeedleTest`]).
struct NeedleFilter<'p> {
    tests: Vec<NeedleTest>,
    /// Per needle, its trigrams (see [`GramSet`]).
    grams: Vec<Vec<[u8; 3]>>,
    templates: Option<&'p Templates>,
    /// Per needle, the verdict for each skeleton number (0 unused).
    verdicts: Vec<Arc<Vec<Verdict>>>,
    /// A rebuilt line, reused.
    line: String,
    /// Per needle, for each row of the batch last prepared, the lowest
    /// variable column whose value holds it ([`NO_COLUMN`]: none).
    var_hits: Vec<Vec<u8>>,
    /// Per needle, whether any row of the batch last prepared has it in a
    /// variable.
    any_hit: Vec<bool>,
}

/// A row no variable column of which holds the needle.
const NO_COLUMN: u8 = u8::MAX;

impl<'p> NeedleFilter<'p> {
    /// A filter for `needles` over `part`; `None` if there are none.
    fn new(needles: &[String], part: &'p Part) -> Result<Option<Self>> {
        if needles.is_empty() {
            return Ok(None);
        }
        let templates = part.templates()?;
        let tests: Vec<NeedleTest> = needles.iter().map(|n| NeedleTest::new(n)).collect();
        let verdicts = match templates {
            Some(t) => tests.iter().map(|test| part.verdicts(test, t)).collect(),
            None => Vec::new(),
        };
        let grams = needles.iter().map(|n| needle_grams(n)).collect();
        Ok(Some(Self {
            tests,
            grams,
            templates,
            verdicts,
            line: String::new(),
            var_hits: Vec::new(),
            any_hit: Vec::new(),
        }))
    }

    /// Which of `count` variable columns a read over blocks with `masks`
    /// (and, format 8 on, trigrams) must decode: those that may hold a
    /// needle, or all if a needle may straddle a variable's edge.
    fn var_columns<'m>(
        &self,
        count: usize,
        blocks: impl Iterator<Item = (&'m Vec<u64>, Option<&'m Vec<GramSet>>)>,
    ) -> Vec<bool> {
        if self.tests.iter().any(|t| !t.tokenish()) {
            return vec![true; count];
        }
        let mut out = vec![false; count];
        for (masks, grams) in blocks {
            for (n, &mask) in masks.iter().enumerate().take(count) {
                out[n] |= self.tests.iter().zip(&self.grams).any(|(t, needle)| {
                    t.may_be_in(mask)
                        && grams
                            .and_then(|g| g.get(n))
                            .is_none_or(|set| set.may_hold(needle))
                });
            }
        }
        out
    }

    /// Whether some row may need its line rebuilt with its time.
    fn may_need_time(&self) -> bool {
        self.tests.iter().any(NeedleTest::may_need_time)
    }

    /// Finds, for a new batch, which rows' variables hold each needle: one
    /// search over each variable column's bytes instead of one per row and
    /// column (most rows of a counted block are judged on their variables).
    fn prepare(&mut self, lines: &BatchLines<'_>) {
        let rows = lines.whole.len();
        self.var_hits.resize_with(self.tests.len(), Vec::new);
        self.any_hit.clear();
        for (test, hits) in self.tests.iter().zip(&mut self.var_hits) {
            let mut any = false;
            hits.clear();
            hits.resize(rows, NO_COLUMN);
            for &(n, values) in &lines.present {
                any |= find_in_column(test, n, values, hits, |position| {
                    lines.order().map_or(position, |o| o.row(position))
                });
            }
            self.any_hit.push(any);
        }
    }

    /// Whether row `row` of `lines` (at `time`, if read) holds every needle.
    #[inline]
    fn keeps(&mut self, lines: &BatchLines<'_>, row: usize, time: Option<i64>) -> bool {
        // One needle, and a skeleton that decides, or variables none of
        // which was read (no column's bytes cover the needle's): the common
        // case, without a loop. Skeleton 0, a whole line, is judged Rebuild.
        if let (Some((_, ids, _)), [only]) = (&lines.templated, self.verdicts.as_slice()) {
            let verdict = ids
                .values()
                .get(row)
                .and_then(|&id| only.get(id as usize))
                .copied()
                .unwrap_or(Verdict::Rebuild);
            // Compared as numbers: rows of skeletons that decide alternate
            // unpredictably, and a branch per verdict would mispredict.
            if verdict as u8 <= Verdict::Always as u8 {
                return verdict == Verdict::Always;
            }
            // No variable of the batch holds it: read for nothing, or not
            // read; else the row's own hit decides (a needle's rows are few:
            // every other row of the block comes here).
            if verdict == Verdict::InVars {
                if lines.present.is_empty() || !self.any_hit.first().copied().unwrap_or(true) {
                    return false;
                }
                if let (Some(hits), Some(templates), Some(&id)) =
                    (self.var_hits.first(), self.templates, ids.values().get(row))
                {
                    return hits
                        .get(row)
                        .is_some_and(|&first| usize::from(first) < templates.vars_of(id));
                }
            }
        }
        self.looks_closer(lines, row, time)
    }

    /// [`NeedleFilter::keeps`] for rows their skeleton does not decide.
    #[inline(never)]
    fn looks_closer(&mut self, lines: &BatchLines<'_>, row: usize, time: Option<i64>) -> bool {
        let templated = match &lines.templated {
            Some((_, ids, _)) if ids.value(row) != 0 => Some(ids.value(row)),
            _ => None,
        };
        for k in 0..self.tests.len() {
            let test = &self.tests[k];
            let found = match (templated, self.templates) {
                (Some(id), Some(templates)) => {
                    // A number past the dictionary (a damaged part) is judged
                    // on the line rebuilt as well as it can be.
                    let verdict = self
                        .verdicts
                        .get(k)
                        .and_then(|v| v.get(id as usize))
                        .copied()
                        .unwrap_or(Verdict::Rebuild);
                    match verdict {
                        Verdict::Always => true,
                        Verdict::Never => false,
                        Verdict::InVars => {
                            let n = templates.vars_of(id);
                            self.var_hits
                                .get(k)
                                .and_then(|hits| hits.get(row))
                                .is_some_and(|&first| usize::from(first) < n)
                        }
                        Verdict::Rebuild => {
                            self.line.clear();
                            lines.line(row, time, &mut self.line);
                            test.is_in(self.line.as_bytes())
                        }
                    }
                }
                _ => lines.whole.is_valid(row) && test.is_in(lines.whole.value(row).as_bytes()),
            };
            if !found {
                return false;
            }
        }
        true
    }
}

/// The variable columns of `batch` (a block's, read whole) numbered below
/// `vars`, at `positions` (ascending).
fn searched_at(batch: &RecordBatch, positions: &[usize], vars: usize) -> Vec<(Field, ArrayRef)> {
    let mut out = Vec::new();
    for (field, column) in batch.schema_ref().fields().iter().zip(batch.columns()) {
        let (Some(n), Some(values)) = (var_index(field.name()), column.as_string_opt::<i32>())
        else {
            continue;
        };
        if n >= vars {
            continue;
        }
        let taken: StringArray = positions
            .iter()
            .map(|&p| (p < values.len() && values.is_valid(p)).then(|| values.value(p)))
            .collect();
        out.push((field.as_ref().clone(), Arc::new(taken) as ArrayRef));
    }
    out
}

/// Marks in `hits` (by row, which `row_of` finds from a position in the
/// column) the rows whose value in variable column `n` (`values`) holds
/// `test`'s needle, unless a lower column already did (columns are searched
/// in ascending order: a row's first hit is its lowest). One search over
/// the column's bytes, not one per value. Returns whether any row did.
fn find_in_column(
    test: &NeedleTest,
    n: usize,
    values: &StringArray,
    hits: &mut [u8],
    row_of: impl Fn(usize) -> usize,
) -> bool {
    let column = u8::try_from(n).unwrap_or(NO_COLUMN - 1);
    let bytes = values.values().as_slice();
    let offsets = values.value_offsets();
    let mut from = offsets.first().map_or(0, |&o| o as usize);
    let end = offsets.last().map_or(0, |&o| o as usize);
    let mut any = false;
    while from < end {
        let Some(at) = test.find_in(&bytes[from..end]) else {
            break;
        };
        let at = from + at;
        // The value the match starts in; it counts only if the match ends
        // inside it too.
        let position = offsets.partition_point(|&o| o as usize <= at) - 1;
        let value_end = offsets.get(position + 1).map_or(end, |&o| o as usize);
        let row = row_of(position);
        if at + test.needle_len() <= value_end && values.is_valid(position) && row < hits.len() {
            any = true;
            if hits[row] == NO_COLUMN {
                hits[row] = column;
            }
            from = value_end.max(at + 1);
        } else {
            from = at + 1;
        }
    }
    any
}

/// A part's record batches, with the Parquet decoder's panics on damaged
/// pages (some corrupt level data trips assertions in arrow-buffer, found
/// by the `part_reader` fuzz target) turned into a corruption error that
/// names the file: a damaged part fails the query that reads it, never the
/// thread or the server.
struct GuardedBatches<'a> {
    reader: ParquetRecordBatchReader,
    path: &'a Path,
    failed: bool,
}

impl Iterator for GuardedBatches<'_> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let reader = &mut self.reader;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reader.next())) {
            Ok(batch) => batch.map(|b| b.map_err(StorageError::from)),
            Err(_) => {
                self.failed = true;
                Some(Err(StorageError::Corruption {
                    path: self.path.to_path_buf(),
                    detail: "a damaged page made the Parquet decoder fail".into(),
                }))
            }
        }
    }
}
