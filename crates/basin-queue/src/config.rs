use std::time::Duration;

/// Where pushes go between ingest nodes and indexers (`queue:` in the config).
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// NATS server URL(s), comma-separated (`nats://host:4222`).
    pub url: String,
    /// Name prefix of the JetStream streams: partition `p` is stream
    /// `{stream}_{p}` on subject `{stream}.{p}`.
    pub stream: String,
    /// Partitions (one indexer each); ingest nodes and indexers must agree.
    pub partitions: u32,
    /// The partition an indexer consumes.
    pub partition: u32,
    /// JetStream replicas of each stream (1 for a single NATS server).
    pub replicas: usize,
    /// Bytes a partition's stream may buffer before publishes are refused
    /// (the ingest node then answers 503).
    pub max_bytes: u64,
    /// How long a publish may wait for JetStream's acknowledgement.
    pub publish_timeout: Duration,
    /// How long JetStream waits for an indexer's acknowledgement before it
    /// delivers a message again.
    pub ack_wait: Duration,
}

impl QueueConfig {
    /// The JetStream stream of partition `p`.
    pub fn stream_name(&self, p: u32) -> String {
        format!("{}_{p}", self.stream)
    }

    /// The subject of partition `p`.
    pub fn subject(&self, p: u32) -> String {
        format!("{}.{p}", self.stream)
    }
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            url: "nats://127.0.0.1:4222".into(),
            stream: "basin".into(),
            partitions: 1,
            partition: 0,
            replicas: 1,
            max_bytes: 1 << 30,
            publish_timeout: Duration::from_secs(10),
            ack_wait: Duration::from_secs(30),
        }
    }
}
