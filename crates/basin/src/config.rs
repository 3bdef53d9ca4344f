//! `basin.yaml`: every `serve` flag has a key here; flags win over the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Deserialize;

/// The `storage:` key: the object store parts also go to.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectStorage {
    /// `local` (parts on the data directory's disk only) or `s3`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Bucket name (s3).
    pub bucket: Option<String>,
    /// Endpoint of an S3-compatible store (MinIO, R2, moto); AWS when unset.
    pub endpoint: Option<String>,
    /// Region (default us-east-1).
    pub region: Option<String>,
    /// Key prefix in the bucket (default none).
    pub prefix: Option<String>,
    /// Local disk for cached part ranges (default 1073741824).
    pub cache_max_bytes: Option<u64>,
}

/// The `queue:` key: pushes go through NATS JetStream between ingest nodes
/// and indexers (docs/scale-out.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueFile {
    /// `nats` (the only kind).
    #[serde(rename = "type")]
    pub kind: String,
    /// NATS server URL(s), comma-separated (default nats://127.0.0.1:4222).
    pub url: Option<String>,
    /// Name prefix of the JetStream streams (default basin).
    pub stream: Option<String>,
    /// Partitions, one indexer each (default 1).
    pub partitions: Option<u32>,
    /// The partition this indexer stores (default 0).
    pub partition: Option<u32>,
    /// JetStream replicas per stream (default 1).
    pub replicas: Option<usize>,
    /// Bytes a partition may buffer before pushes get 503 (default 1073741824).
    pub max_bytes: Option<u64>,
    /// Longest wait for JetStream's acknowledgement of a push (default 10s).
    pub publish_timeout: Option<String>,
    /// How long an indexer may take to acknowledge a message before
    /// JetStream delivers it again (default 30s).
    pub ack_wait: Option<String>,
}

/// The configuration file's keys, all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Address to listen on (`--listen`).
    pub listen: Option<String>,
    /// This node's role: all (default), ingest, index or query (`--target`).
    pub target: Option<String>,
    /// The ingest queue between ingest nodes and indexers: `{type: nats,
    /// url, stream, partitions, partition, replicas, max_bytes}`.
    pub queue: Option<QueueFile>,
    /// The indexers a query node reads (`target: query`): base URLs,
    /// e.g. `http://indexer-0:3100`.
    #[serde(default)]
    pub indexers: Vec<String>,
    /// Whether requests need a token: `on`, `off`, or `auto` (the default:
    /// on unless listening on a loopback address).
    pub auth: Option<String>,
    /// PEM certificate chain for HTTPS and syslog over TLS (with the key).
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of `tls_cert_file`.
    pub tls_key_file: Option<PathBuf>,
    /// How long a delete request may be cancelled before its lines are
    /// removed from disk at the next merge round (default 0s).
    pub delete_request_cancel_period: Option<String>,
    /// Retention per stream selector: `[{selector, priority, period}]`.
    pub retention_stream: Option<Vec<basin_api::stream_retention::StreamRetentionRule>>,
    /// How often expired lines of `retention_stream` are removed (default 10m).
    pub compaction_interval: Option<String>,
    /// Data directory (`--data-dir`).
    pub data_dir: Option<PathBuf>,
    /// How long to keep logs, e.g. `30d` (`--retention`); absent: forever.
    pub retention_period: Option<String>,
    /// fsync the WAL before acknowledging a push (default true).
    pub wal_sync: Option<bool>,
    /// Longest time a line waits in memory before it goes to a part (default 2m).
    pub flush_interval: Option<String>,
    /// Head memory that triggers a flush (default 100 MiB).
    pub head_max_bytes: Option<usize>,
    /// How often small parts are merged (default 30s).
    pub merge_interval: Option<String>,
    /// How parts store lines: `templates` (default, smaller) or `plain`
    /// (the whole line in `_line`, for outside Parquet readers).
    pub line_encoding: Option<String>,
    /// Where parts live besides the local disk: `{type: local}` (default)
    /// or `{type: s3, bucket, endpoint, region, prefix, cache_max_bytes}`.
    pub storage: Option<ObjectStorage>,
    /// Pushes get 503 while the data directory's disk has less than this
    /// available (default 104857600; 0 writes until the disk is full).
    pub min_free_disk_bytes: Option<u64>,
    /// Longest accepted line (default 262144).
    pub max_line_size_bytes: Option<usize>,
    /// Largest accepted request body (default 16777216).
    pub max_request_size_bytes: Option<usize>,
    /// Most labels per stream (default 15).
    pub max_label_names_per_series: Option<usize>,
    /// Most entries one log query returns (default 5000).
    pub max_entries_limit_per_query: Option<usize>,
    /// Longest time range one query may cover (default 721h; 0s lifts it).
    pub max_query_range: Option<String>,
    /// Most series one metric query may return (default 500).
    pub max_query_series: Option<usize>,
    /// Longest a query may run before it is stopped with a 400 (default 1m).
    pub query_timeout: Option<String>,
    /// Most memory one query may hold (default 512 MiB; 0 lifts it).
    pub max_query_memory_bytes: Option<usize>,
    /// Most memory all running queries may hold (default 2 GiB; 0 lifts it).
    pub max_query_memory_total_bytes: Option<usize>,
    /// Most queries one tenant runs at once; more wait (default 16; 0 lifts it).
    pub max_concurrent_queries_per_tenant: Option<usize>,
    /// Longest a client may take to send a push body (default 30s).
    pub http_server_read_timeout: Option<String>,
    /// OTLP resource attributes that become stream labels (default: Loki's list).
    pub otlp_resource_labels: Option<Vec<String>>,
    /// Elasticsearch bulk: fields whose text is the line (default message, msg, log).
    pub elasticsearch_message_fields: Option<Vec<String>>,
    /// Elasticsearch bulk: fields holding the time (default @timestamp, timestamp, time).
    pub elasticsearch_time_fields: Option<Vec<String>>,
    /// Elasticsearch bulk: document fields that become labels besides `index`.
    pub elasticsearch_label_fields: Option<Vec<String>>,
    /// Origins browsers may push from, `*` for any (default: none).
    pub cors_allowed_origins: Option<Vec<String>>,
    /// What the pipeline finds in lines before storing them: off (default),
    /// levels, or fields (formats and their fields too; costly, see docs/pipeline.md).
    pub auto_parse: Option<String>,
    /// Identical lines of a stream within this window in one push are stored
    /// once with a `repeat_count` field, e.g. `10s` (default: off).
    pub dedup_window: Option<String>,
    /// Built-in maskers applied to lines and fields before they are written:
    /// email, credit_card, ipv4, ipv6, bearer_token, api_key, jwt.
    pub mask: Option<Vec<String>>,
    /// Custom maskers: a regular expression and its replacement.
    pub mask_patterns: Option<Vec<MaskPattern>>,
    /// Lines per second one tenant may push (default 0: no limit).
    pub rate_limit_lines_per_second: Option<f64>,
    /// Bytes of lines per second one tenant may push (default 0: no limit).
    pub rate_limit_bytes_per_second: Option<f64>,
    /// Lines per second one stream may receive (default 0: no limit).
    pub stream_rate_limit_lines_per_second: Option<f64>,
    /// Bytes per second one stream may receive (default 0: no limit).
    pub stream_rate_limit_bytes_per_second: Option<f64>,
    /// Syslog over UDP on this address (`--syslog-udp`).
    pub syslog_udp: Option<String>,
    /// Syslog over TCP on this address (`--syslog-tcp`).
    pub syslog_tcp: Option<String>,
    /// User pipelines: rules with a `match` selector and steps (grok,
    /// regex, json, logfmt, rename, drop_fields, keep_fields, mask, drop,
    /// sample, set_labels); see docs/pipeline.md.
    pub pipelines: Option<Vec<basin_pipeline::rules::RuleConfig>>,
    /// Tag every entry with its pattern (template) id (default true).
    pub patterns: Option<bool>,
    /// Named grok patterns added to the standard library, `NAME: regex`.
    pub grok_patterns: Option<std::collections::BTreeMap<String, String>>,
    /// The ruler: rules directory, evaluation interval, Alertmanagers,
    /// receivers (Slack, webhooks), external URL; see docs/alerting.md.
    pub ruler: Option<basin_rules::config::RulerFileConfig>,
    /// Counters and histograms of matching lines, kept as lines are
    /// accepted and shown on /metrics; see docs/alerting.md.
    pub log_metrics: Option<Vec<basin_rules::log_metrics::LogMetricConfig>>,
}

/// A custom masker of the config file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskPattern {
    /// Regular expression (Rust `regex` syntax).
    pub pattern: String,
    /// What each match becomes; `$1` refers to a group.
    pub replacement: String,
}

impl FileConfig {
    /// Reads a YAML config file; unknown keys are errors, so typos show.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_yaml::from_str(&text)
            .with_context(|| format!("invalid config file {}", path.display()))
    }
}

/// Parses a duration such as `30s`, `2m`, `744h`, `30d`.
pub fn parse_duration(key: &str, value: &str) -> Result<Duration> {
    humantime::parse_duration(value.trim()).with_context(|| {
        format!("invalid {key} {value:?}: use a duration like 30s, 2m, 744h or 30d")
    })
}
