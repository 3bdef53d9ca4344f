use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File};
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{
    ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray, TimestampMillisecondArray,
    TimestampNanosecondArray, TimestampSecondArray, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, TimeUnit};
use basin_model::{Entry, Labels};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::block_tokens::BlockTokens;
use super::counts::{count_block, PartCounts, COUNTS_KEY};
use super::index::{encode_value, value_pointer, BlockIndex, PartIndex, INDEX_KEY, VERSION_KEY};
use super::line_codec::{
    byte_mask, var_column, SkeletonBuilder, TemplateBuilder, PLACEHOLDER, SKELETON_PATTERNS_KEY,
    TEMPLATE, TEMPLATES_KEY, VAR_COLUMNS, VAR_MASKS_KEY,
};
use super::schema::{part_schema, time_unit, LINE, PATTERN_ID, STREAM, STREAM_ID, TIME};
use super::skeleton_runs::{runs_of_block, SkeletonRun, StoredRuns, SKELETON_RUNS_KEY};
use super::var_grams::{GramSet, VAR_GRAMS_KEY};
use super::var_order::VarOrder;
use crate::config::LineEncoding;
use crate::error::{Result, StorageError};
use crate::filenames::{tmp_of, DiscardOnError};
use crate::limits::{BLOCK_ROWS, PART_FORMAT_VERSION, PART_ZSTD_LEVEL, VAR_PAGE_BYTES};
use crate::token_filter::{field_hash, token_hash, TokenFilter};
use crate::tokens::{for_each_token, token_spans, Span};
use crate::wal::sync_dir;

/// What a written part holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrittenPart {
    /// Rows written.
    pub rows: u64,
    /// Earliest entry time.
    pub min_ts: i64,
    /// Latest entry time.
    pub max_ts: i64,
    /// File size.
    pub size_bytes: u64,
}

/// Writes `streams` as a part at `path`: written under a temporary name,
/// fsynced, then renamed into place, so a part file is whole or absent.
///
/// Streams are sorted by label text and each stream's entries by time here.
pub fn write_part(
    path: &Path,
    streams: Vec<(Arc<Labels>, Vec<&Entry>)>,
    encoding: LineEncoding,
) -> Result<WrittenPart> {
    let dir = path.parent().ok_or_else(|| {
        StorageError::Encode(format!("part path {} has no parent", path.display()))
    })?;
    fs::create_dir_all(dir).map_err(|e| StorageError::io("create dir", dir, e))?;
    let mut ordered: Vec<(String, u64, Vec<&Entry>)> = streams
        .into_iter()
        .map(|(labels, mut entries)| {
            entries.sort_by_key(|e| e.ts);
            (labels.to_string(), labels.stream_id().0, entries)
        })
        .collect();
    ordered.sort_by(|a, b| a.0.cmp(&b.0));

    let field_names: Vec<String> = ordered
        .iter()
        .flat_map(|(_, _, entries)| entries.iter())
        .flat_map(|e| e.fields.iter().map(|(k, _)| k.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let rows: Vec<(u32, &Entry)> = ordered
        .iter()
        .enumerate()
        .flat_map(|(i, (_, _, entries))| entries.iter().map(move |e| (i as u32, *e)))
        .collect();
    let mut templates = (encoding == LineEncoding::Templates).then(TemplateBuilder::default);
    let (unit, scale) = time_unit(rows.iter().map(|(_, e)| e.ts));
    let schema = part_schema(&field_names, unit, templates.as_ref().map(|_| VAR_COLUMNS));
    let tmp = tmp_of(path);
    let discard = DiscardOnError::new(&tmp);
    let file = File::create(&tmp).map_err(|e| StorageError::io("create", &tmp, e))?;
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(PART_ZSTD_LEVEL)?))
        .set_max_row_group_row_count(Some(BLOCK_ROWS))
        // Lines rarely repeat exactly; a dictionary attempt only costs time.
        .set_column_dictionary_enabled(ColumnPath::from(LINE), false)
        // Times rise within each stream's run: deltas pack into few bits.
        .set_column_dictionary_enabled(ColumnPath::from(TIME), false)
        .set_column_encoding(ColumnPath::from(TIME), Encoding::DELTA_BINARY_PACKED)
        .set_created_by(format!("basin {}", env!("CARGO_PKG_VERSION")));
    // Columns every `|=` count reads, small once encoded (dictionary runs;
    // with templated lines `_line` holds only the rare lines kept whole):
    // zstd saves too few bytes there to pay for a decoder. Skeleton numbers
    // are compressed: their runs do not repeat, and zstd takes a quarter
    // off them (loghub corpus).
    let mut uncompressed = vec![STREAM_ID];
    if templates.is_some() {
        uncompressed.push(LINE);
    }
    for column in uncompressed {
        props = props.set_column_compression(ColumnPath::from(column), Compression::UNCOMPRESSED);
    }
    // Pattern ids are 64-bit hashes, a few per stream: their bytes, split
    // by significance, compress better than dictionary keys.
    props = props
        .set_column_dictionary_enabled(ColumnPath::from(PATTERN_ID), false)
        .set_column_encoding(ColumnPath::from(PATTERN_ID), Encoding::BYTE_STREAM_SPLIT);
    for n in 0..templates.as_ref().map_or(0, |_| VAR_COLUMNS) {
        let column = ColumnPath::from(var_column(n));
        // Min/max of ids and numbers would only grow the footer.
        props = props
            .set_column_statistics_enabled(column.clone(), EnabledStatistics::None)
            .set_column_dictionary_enabled(column.clone(), false)
            .set_column_encoding(column.clone(), Encoding::DELTA_LENGTH_BYTE_ARRAY)
            .set_column_data_page_size_limit(column, VAR_PAGE_BYTES);
    }
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props.build()))?;
    let field_pos: HashMap<&str, usize> = field_names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut index = PartIndex {
        streams: ordered
            .iter()
            .map(|(text, id, _)| (*id, text.clone()))
            .collect(),
        blocks: Vec::new(),
    };
    let mut counts = PartCounts::default();
    let mut var_masks: Vec<Vec<u64>> = Vec::new();
    let mut var_grams: Vec<Vec<GramSet>> = Vec::new();
    let mut skeleton_patterns: Vec<Option<u64>> = Vec::new();
    let mut skeleton_runs: Vec<Vec<SkeletonRun>> = Vec::new();
    for block in rows.chunks(BLOCK_ROWS) {
        let (batch, block_index, masks) = encode_block(
            &schema,
            block,
            &ordered,
            &field_pos,
            scale,
            templates.as_mut().map(|t| (t, &mut skeleton_patterns)),
        )?;
        if let Some((masks, grams)) = masks {
            var_masks.push(masks);
            var_grams.push(grams);
            let skeletons = batch
                .column_by_name(TEMPLATE)
                .and_then(|c| c.as_any().downcast_ref::<UInt32Array>())
                .ok_or_else(|| StorageError::Encode("templated block without skeletons".into()))?;
            let streams: Vec<u32> = block.iter().map(|(s, _)| *s).collect();
            skeleton_runs.push(runs_of_block(&streams, skeletons.values()));
        }
        writer.write(&batch)?;
        writer.flush()?;
        index.blocks.push(block_index);
        counts
            .blocks
            .push(count_block(block.iter().map(|(s, e)| (*s, e.ts))));
    }
    // Basin's own values go after the last block (see `encode_value`).
    let mut values: Vec<(&str, std::result::Result<Vec<u8>, String>)> = vec![
        (INDEX_KEY, encode_value(&index)),
        (COUNTS_KEY, encode_value(&counts)),
    ];
    if let Some(t) = &templates {
        values.push((TEMPLATES_KEY, t.encode()));
        values.push((VAR_MASKS_KEY, encode_value(&var_masks)));
        values.push((VAR_GRAMS_KEY, encode_value(&var_grams)));
        let by_skeleton: Vec<u64> = skeleton_patterns.iter().map(|p| p.unwrap_or(0)).collect();
        values.push((SKELETON_PATTERNS_KEY, encode_value(&by_skeleton)));
        values.push((
            SKELETON_RUNS_KEY,
            encode_value(&StoredRuns::of(&skeleton_runs)),
        ));
    }
    for (key, bytes) in values {
        let bytes = bytes.map_err(|e| StorageError::Encode(format!("part {key}: {e}")))?;
        let offset = writer.bytes_written();
        writer
            .write_all(&bytes)
            .map_err(|e| StorageError::io("write", &tmp, e))?;
        writer.append_key_value_metadata(KeyValue::new(
            key.to_string(),
            value_pointer(offset, bytes.len()),
        ));
    }
    writer.append_key_value_metadata(KeyValue::new(
        VERSION_KEY.to_string(),
        PART_FORMAT_VERSION.to_string(),
    ));
    let file = writer.into_inner()?;
    file.sync_all()
        .map_err(|e| StorageError::io("fsync", &tmp, e))?;
    let size_bytes = file
        .metadata()
        .map_err(|e| StorageError::io("stat", &tmp, e))?
        .len();
    drop(file);
    fs::rename(&tmp, path).map_err(|e| StorageError::io("rename", &tmp, e))?;
    discard.keep();
    sync_dir(dir)?;
    Ok(WrittenPart {
        rows: rows.len() as u64,
        min_ts: rows.iter().map(|(_, e)| e.ts).min().unwrap_or(0),
        max_ts: rows.iter().map(|(_, e)| e.ts).max().unwrap_or(0),
        size_bytes,
    })
}

/// A block's columns, index, and (for templated lines) the byte classes
/// and trigrams of each variable column.
type EncodedBlock = (RecordBatch, BlockIndex, Option<(Vec<u64>, Vec<GramSet>)>);

fn encode_block(
    schema: &Arc<arrow_schema::Schema>,
    block: &[(u32, &Entry)],
    streams: &[(String, u64, Vec<&Entry>)],
    field_pos: &HashMap<&str, usize>,
    time_scale: i64,
    templates: Option<(&mut TemplateBuilder, &mut Vec<Option<u64>>)>,
) -> Result<EncodedBlock> {
    let mut fields: Vec<Vec<Option<&str>>> = vec![vec![None; block.len()]; field_pos.len()];
    let mut tokens = BlockTokens::new(block.len());
    let mut spans = Vec::new();
    let mut block_streams: Vec<u32> = Vec::new();
    // Lines are split into skeletons and variables in the same pass over
    // their tokens that feeds the index.
    let (templates, skeleton_patterns) = templates.unzip();
    let mut split = templates.map(|dict| BlockSplit::new(dict, block.len()));
    for (row, (stream, entry)) in block.iter().enumerate() {
        if block_streams.last() != Some(stream) {
            block_streams.push(*stream);
        }
        let line = entry.line.as_str();
        token_spans(line, &mut spans);
        for span in &spans {
            tokens.token(line, span.start as usize, span.end as usize);
        }
        if let Some(split) = &mut split {
            split.line(line, &spans, entry.ts);
        }
        for (name, value) in &entry.fields {
            if let Some(&col) = field_pos.get(name.as_str()) {
                fields[col][row] = Some(value.as_str());
            }
            for_each_token(value, |t| tokens.push(token_hash(t)));
            tokens.push(field_hash(name, value));
        }
    }
    let hashes = tokens.finish();
    let mut columns: Vec<ArrayRef> = vec![
        time_column(block.iter().map(|(_, e)| e.ts / time_scale), schema)?,
        Arc::new(UInt64Array::from_iter_values(
            block.iter().map(|(s, _)| streams[*s as usize].1),
        )),
        Arc::new(StringArray::from_iter_values(
            block.iter().map(|(s, _)| streams[*s as usize].0.as_str()),
        )),
        match &split {
            None => Arc::new(StringArray::from_iter_values(
                block.iter().map(|(_, e)| e.line.as_str()),
            )),
            Some(split) => Arc::new(split.whole_lines(block)),
        },
        match (&split, skeleton_patterns) {
            (Some(split), Some(by_skeleton)) => Arc::new(split.pattern_ids(block, by_skeleton)),
            _ => Arc::new(UInt64Array::from_iter_values(
                block.iter().map(|(_, e)| e.pattern_id),
            )),
        },
    ];
    columns.extend(
        fields
            .into_iter()
            .map(|values| Arc::new(StringArray::from(values)) as ArrayRef),
    );
    let masks = split.map(|split| {
        let (template_columns, masks, grams) = split.finish();
        columns.extend(template_columns);
        (masks, grams)
    });
    debug_assert_eq!(schema.field(1).name(), STREAM_ID);
    debug_assert_eq!(schema.field(2).name(), STREAM);
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    let index = BlockIndex {
        min_ts: block.iter().map(|(_, e)| e.ts).min().unwrap_or(0),
        max_ts: block.iter().map(|(_, e)| e.ts).max().unwrap_or(0),
        rows: block.len() as u32,
        streams: block_streams,
        tokens: TokenFilter::build(&hashes),
    };
    Ok((batch, index, masks))
}

/// The `_time` column of the unit `schema` gives it.
fn time_column(
    values: impl Iterator<Item = i64>,
    schema: &arrow_schema::Schema,
) -> Result<ArrayRef> {
    let DataType::Timestamp(unit, _) = schema.field(0).data_type() else {
        return Err(StorageError::Encode("bug: _time is not a timestamp".into()));
    };
    Ok(match unit {
        TimeUnit::Second => {
            Arc::new(TimestampSecondArray::from_iter_values(values).with_timezone("UTC"))
        }
        TimeUnit::Millisecond => {
            Arc::new(TimestampMillisecondArray::from_iter_values(values).with_timezone("UTC"))
        }
        TimeUnit::Microsecond => {
            Arc::new(TimestampMicrosecondArray::from_iter_values(values).with_timezone("UTC"))
        }
        TimeUnit::Nanosecond => {
            Arc::new(TimestampNanosecondArray::from_iter_values(values).with_timezone("UTC"))
        }
    })
}

/// A block's lines split into skeletons (numbered in the part's dictionary)
/// and variables, token by token as the block index reads them.
struct BlockSplit<'a, 'd> {
    dict: &'d mut TemplateBuilder,
    skeleton: SkeletonBuilder,
    /// Whether the current line can be templated (holds no reserved byte).
    templated: bool,
    /// Each row's skeleton number, 0 for a line stored whole.
    ids: Vec<u32>,
    vars: VarColumns<'a>,
    /// The current line's variables, as byte ranges.
    picked: Vec<(usize, usize)>,
}

impl<'a, 'd> BlockSplit<'a, 'd> {
    fn new(dict: &'d mut TemplateBuilder, rows: usize) -> Self {
        Self {
            dict,
            skeleton: SkeletonBuilder::default(),
            templated: false,
            ids: Vec::with_capacity(rows),
            vars: VarColumns::new(rows),
            picked: Vec::new(),
        }
    }

    /// Splits `line` (its tokens `spans`, its time `ts`) into its skeleton
    /// number and variables.
    fn line(&mut self, line: &'a str, spans: &[Span], ts: i64) {
        self.templated = self.skeleton.start(line);
        if self.templated {
            self.vars(line, spans);
        }
        self.end(line, ts);
    }

    /// Takes the tokens of `line` holding a digit: its variables.
    fn vars(&mut self, line: &'a str, spans: &[Span]) {
        // Picked without a test a token: whether one holds a digit varies
        // from token to token, so such tests mispredict. Grown, never
        // cleared: only the first `n` slots are read.
        if self.picked.len() < spans.len() {
            self.picked.resize(spans.len(), (0, 0));
        }
        let mut n = 0;
        for span in spans {
            if let Some(slot) = self.picked.get_mut(n) {
                *slot = (span.start as usize, span.end as usize);
            }
            n += usize::from(span.digit);
        }
        for &(start, end) in self.picked.get(..n).unwrap_or_default() {
            self.skeleton.var(line, start, end);
            self.vars.push(line.get(start..end).unwrap_or_default());
        }
    }

    /// Ends `line`, of time `ts`.
    fn end(&mut self, line: &str, ts: i64) {
        let mut id = match self.skeleton.finish(line) {
            Some(s) if self.templated => self.dict.id_of(s),
            _ => 0,
        };
        if id != 0 {
            // A time the row's own: marked, its variables left out.
            if let Some((marked, vars)) = self.dict.timed(id, line, &self.vars.row, ts) {
                id = marked;
                self.vars.row.drain(vars);
            }
        }
        self.ids.push(id);
        self.vars.end_row(id != 0);
    }

    /// The `_line` column: only the lines stored whole.
    fn whole_lines(&self, block: &[(u32, &Entry)]) -> StringArray {
        block
            .iter()
            .zip(&self.ids)
            .map(|((_, e), &id)| (id == 0).then_some(e.line.as_str()))
            .collect()
    }

    /// The `_pattern_id` column: null where the row's skeleton gives its id
    /// (`by_skeleton`, indexed by skeleton number - 1, set where a skeleton
    /// first appears in the part).
    fn pattern_ids(
        &self,
        block: &[(u32, &Entry)],
        by_skeleton: &mut Vec<Option<u64>>,
    ) -> UInt64Array {
        by_skeleton.resize(self.dict.len(), None);
        block
            .iter()
            .zip(&self.ids)
            .map(|((_, e), &id)| {
                // A skeleton's id is the pattern id of its first row.
                let given = (id as usize)
                    .checked_sub(1)
                    .and_then(|slot| by_skeleton.get_mut(slot))
                    .map(|slot| *slot.get_or_insert(e.pattern_id));
                (given != Some(e.pattern_id)).then_some(e.pattern_id)
            })
            .collect()
    }

    /// The `_tpl` and variable columns, and each variable column's byte
    /// classes and trigrams.
    fn finish(self) -> (Vec<ArrayRef>, Vec<u64>, Vec<GramSet>) {
        let (vars, masks, grams) = self.vars.finish(&VarOrder::of(&self.ids));
        let mut columns: Vec<ArrayRef> = vec![Arc::new(UInt32Array::from(self.ids))];
        columns.extend(vars);
        (columns, masks, grams)
    }
}

/// A block's variables as rows go by, turned into columns at the end
/// (column by column, so each column is filled in one sweep).
struct VarColumns<'a> {
    /// Every templated row's variables, in order.
    values: Vec<&'a str>,
    /// Per row, where its variables end in `values`.
    ends: Vec<u32>,
    /// The current row's variables, until the row turns out templated.
    row: Vec<&'a str>,
}

impl<'a> VarColumns<'a> {
    fn new(rows: usize) -> Self {
        Self {
            values: Vec::with_capacity(rows * 16),
            ends: Vec::with_capacity(rows),
            row: Vec::new(),
        }
    }

    /// The current row's next variable.
    fn push(&mut self, value: &'a str) {
        self.row.push(value);
    }

    /// Ends the current row; its variables count if it is templated (`keep`).
    fn end_row(&mut self, keep: bool) {
        if keep {
            self.values.append(&mut self.row);
        }
        self.row.clear();
        self.ends.push(self.values.len() as u32);
    }

    /// The columns, values in `order`, and each one's byte classes and
    /// trigrams.
    ///
    /// Built row by row, every column at once: one pass a column went over
    /// all of a block's rows (most of them holding fewer variables than
    /// there are columns) twice, once for the capacity.
    fn finish(self, order: &VarOrder) -> (Vec<ArrayRef>, Vec<u64>, Vec<GramSet>) {
        let last = VAR_COLUMNS - 1;
        let mut start = 0;
        let rows: Vec<&[&str]> = self
            .ends
            .iter()
            .map(|&end| {
                let row = self.values.get(start..end as usize).unwrap_or_default();
                start = end as usize;
                row
            })
            .collect();
        // Exact capacities: a builder grown by doubling spends its time
        // copying. The last column holds the rest, joined by placeholders.
        let mut bytes = [0usize; VAR_COLUMNS];
        for row in &rows {
            for (n, v) in row.iter().enumerate() {
                bytes[n.min(last)] += v.len() + usize::from(n >= last);
            }
        }
        let mut builders: Vec<StringBuilder> = bytes
            .iter()
            .map(|&b| StringBuilder::with_capacity(rows.len(), b))
            .collect();
        let mut masks = vec![0u64; VAR_COLUMNS];
        let mut grams = vec![GramSet::default(); VAR_COLUMNS];
        let mut rest = String::new();
        for row in order.rows().filter_map(|r| rows.get(r)) {
            let held = row.len().min(last);
            for (((builder, mask), set), v) in builders
                .iter_mut()
                .zip(&mut masks)
                .zip(&mut grams)
                .zip(&row[..held])
            {
                *mask |= byte_mask(v.as_bytes());
                set.add(v);
                builder.append_value(v);
            }
            for builder in &mut builders[held..last] {
                builder.append_null();
            }
            match row.get(last..) {
                Some(tail) if !tail.is_empty() => {
                    rest.clear();
                    for (i, v) in tail.iter().enumerate() {
                        if i > 0 {
                            rest.push(char::from(PLACEHOLDER));
                        }
                        rest.push_str(v);
                        grams[last].add(v);
                    }
                    masks[last] |= byte_mask(rest.as_bytes());
                    builders[last].append_value(&rest);
                }
                _ => builders[last].append_null(),
            }
        }
        let columns = builders
            .into_iter()
            .map(|mut b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        (columns, masks, grams)
    }
}
