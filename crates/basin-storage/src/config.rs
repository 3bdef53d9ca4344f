use std::path::PathBuf;
use std::time::Duration;

/// How the store behaves; every field has a config key in `basin serve`.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// Where the WAL, parts and manifest live.
    pub data_dir: PathBuf,
    /// fsync each WAL group before acknowledging (`wal_sync`); off trades the
    /// last moments of data on power loss for throughput.
    pub wal_sync: bool,
    /// Longest time a line stays in the head before it is written to a part.
    pub flush_interval: Duration,
    /// Head memory (entries and their overhead) that triggers a flush
    /// (`head_max_bytes`).
    pub head_max_bytes: usize,
    /// How long parts are kept (`retention_period`); `None` keeps forever.
    pub retention_period: Option<Duration>,
    /// How often merges are looked for.
    pub merge_interval: Duration,
    /// How parts store lines (`line_encoding`).
    pub line_encoding: LineEncoding,
    /// Pushes are refused (and retried by clients) while the data
    /// directory's file system has less than this available
    /// (`min_free_disk_bytes`); 0 writes until the disk is full.
    pub min_free_disk_bytes: u64,
    /// A bucket that holds every part and the manifest too (`storage:
    /// {type: s3}`); `None` keeps everything on the local disk.
    pub remote: Option<std::sync::Arc<crate::remote::Remote>>,
}

/// How parts store lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineEncoding {
    /// Skeleton dictionary plus variable columns (see
    /// [`crate::part::line_codec`]): about a third smaller, and `|=` is
    /// answered mostly from skeletons. Readers outside Basin rebuild lines
    /// from the footer's dictionary.
    #[default]
    Templates,
    /// The whole line in `_line`, as any Parquet reader expects.
    Plain,
}

impl std::str::FromStr for LineEncoding {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "templates" => Ok(Self::Templates),
            "plain" => Ok(Self::Plain),
            other => Err(format!(
                "line_encoding {other:?}: expected \"templates\" or \"plain\""
            )),
        }
    }
}

impl StorageConfig {
    /// Defaults for a data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            wal_sync: true,
            flush_interval: Duration::from_secs(120),
            head_max_bytes: 100 * 1024 * 1024,
            retention_period: None,
            merge_interval: Duration::from_secs(30),
            line_encoding: LineEncoding::default(),
            min_free_disk_bytes: 100 * 1024 * 1024,
            remote: None,
        }
    }
}
