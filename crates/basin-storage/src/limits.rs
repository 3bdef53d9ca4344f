//! Every fixed size and the format version, each with why it is what it is.

/// Version of the part format written now; readers accept this and older ones.
/// 1: columns `_time`, `_stream_id`, `_stream`, `_line`, one per field; index in
/// the footer key `basin.index`.
/// 2: the token filter also holds the trigrams inside line tokens
/// ([`crate::tokens::for_each_gram`]); version 1 parts are not pruned by them.
/// 3: per-minute line counts of each stream in each block in the footer key
/// `basin.counts` ([`crate::part::counts`]); older parts are counted by rows.
/// 4: column `_pattern_id` (UInt64, 0 when not mined); older parts read 0.
/// 5: lines may be stored as templates: columns `_tpl` and `_v0`, `_v1`, ...
/// with the skeletons in footer key `basin.templates`
/// ([`crate::part::line_codec`]); `_line` then holds only the lines stored
/// whole. A part without `_tpl` holds every line in `_line`. Times in the
/// coarsest unit that holds them; footer values zstd-compressed before base64.
/// 6: footer values are zstd-compressed bytes in the file's body after the
/// last block; the footer holds `"{offset} {length}"` under the same keys
/// ([`crate::part::index::encode_value`]).
/// 7: a skeleton may mark where a row shows its own time, rendered in a
/// known layout, instead of holding that text's variables
/// ([`crate::part::time_marks`]); lines holding the bytes 0x11 to 0x1a are
/// stored whole.
/// 8: a block's variable columns hold their values grouped by skeleton
/// number, in row order within a group ([`crate::part::var_order`]);
/// `_tpl` is zstd-compressed; a templated row's `_pattern_id` is null where
/// it equals its skeleton's, kept in footer key `basin.skeleton_patterns`;
/// token filters leave out tokens of hex digits alone
/// ([`crate::tokens::indexed_token`]); footer key `basin.var_grams` holds
/// each variable column's trigrams per block ([`crate::part::var_grams`]).
pub const PART_FORMAT_VERSION: u32 = 8;

/// Rows per block (Parquet row group). A block is the unit the index skips;
/// 8192 lines of ~200 bytes is ~1.6 MB raw, about a Loki chunk, big enough for
/// zstd to find the repetition and small enough to skip precisely.
pub const BLOCK_ROWS: usize = 8192;

/// Bytes (before compression) past which a variable column's page ends: a
/// needle query decodes, in the columns it does not search, only the pages
/// of the rows it keeps. Small columns stay one page; at 8 KiB the pages
/// cost 11% of ingest CPU (loghub corpus), at 16 KiB 1%.
pub const VAR_PAGE_BYTES: usize = 16 << 10;

/// zstd level of part columns. On the benchmark corpus level 1 wrote parts
/// 2% smaller than level 3 (column chunks of one block are small, and
/// variable columns hold ids near their entropy) for ~15% less ingest CPU.
pub const PART_ZSTD_LEVEL: i32 = 1;

/// Bloom filter bits per distinct token: 10 bits and 7 hashes give ~1% false
/// positives, the usual trade of index size against blocks read in vain.
pub const BLOOM_BITS_PER_TOKEN: usize = 10;

/// Hash functions per token in the bloom filter (optimal for 10 bits/token).
pub const BLOOM_HASHES: u32 = 7;

/// Most payload bytes written in one WAL group before an fsync; bounds the
/// latency one slow group adds to the pushes queued behind it.
pub const WAL_MAX_GROUP_BYTES: usize = 16 * 1024 * 1024;

/// A (tenant, day) with at least this many parts gets its small parts merged.
pub const MERGE_MIN_PARTS: usize = 4;

/// Most parts one merge reads; bounds merge time and memory.
pub const MERGE_MAX_PARTS: usize = 16;

/// Parts with more rows than this are left alone by merges: they are already
/// large enough to scan well, and merges hold their rows in memory. A full
/// head of the default 100 MiB writes parts of ~340,000 corpus lines, which
/// stay out of merges.
pub const MERGE_MAX_PART_ROWS: u64 = 250_000;

/// Memory an entry costs in the head beyond its bytes: the 64-byte `Entry`,
/// the line allocation's rounding to the allocator's size class and the
/// slack of its stream's growing `Vec`, on average. Counted so the head
/// flushes at `head_max_bytes` of memory, not of line text.
pub const HEAD_ENTRY_OVERHEAD_BYTES: usize = 96;

/// Most rows one merge reads, over all its sources: merges hold the rows in
/// memory (a streaming k-way merge would lift this), so this bounds their RAM
/// to a few hundred MB.
pub const MERGE_MAX_ROWS: u64 = 1_000_000;

/// Magic bytes opening every WAL segment, so a stray file is not replayed;
/// the digit is the record format (2: entries carry a pattern id).
pub const WAL_MAGIC: &[u8; 8] = b"BASINWL2";

/// Magic of segments written before entries carried a pattern id; still
/// replayed (see `wal::legacy`).
pub const WAL_MAGIC_V1: &[u8; 8] = b"BASINWL1";
