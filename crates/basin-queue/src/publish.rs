use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use async_nats::{Client, HeaderMap};
use basin_model::PushBatch;
use futures_util::future::try_join_all;
use tracing::warn;

use crate::{message, QueueConfig, QueueError, QueueStats};

/// Room left in a message for its headers and the protocol's framing.
const HEADER_ROOM: usize = 1024;

/// Publishes pushes to the partitions' JetStream streams (ingest nodes).
pub struct Publisher {
    client: Client,
    js: jetstream::Context,
    cfg: QueueConfig,
    /// This process's prefix of message ids: ids must not repeat across
    /// ingest nodes or restarts within JetStream's duplicate window.
    id_prefix: String,
    next_id: AtomicU64,
    stats: Arc<QueueStats>,
}

impl Publisher {
    /// Connects to NATS and creates the partitions' streams if missing.
    pub async fn connect(cfg: QueueConfig) -> Result<Self, QueueError> {
        let client = connect(&cfg).await?;
        let js = jetstream::new(client.clone());
        for p in 0..cfg.partitions {
            ensure_stream(&js, &cfg, p, true).await?;
        }
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| QueueError::Encoding(e.to_string()))?;
        let stats = Arc::new(QueueStats::new(0..cfg.partitions));
        stats.connected.store(true, Ordering::Relaxed);
        spawn_lag_watch(js.clone(), client.clone(), cfg.clone(), stats.clone());
        Ok(Self {
            client,
            js,
            id_prefix: nonce.iter().map(|b| format!("{b:02x}")).collect(),
            next_id: AtomicU64::new(0),
            cfg,
            stats,
        })
    }

    /// What this publisher did, and the partitions' lag.
    pub fn stats(&self) -> &Arc<QueueStats> {
        &self.stats
    }

    /// True while the NATS connection is up.
    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Publishes `batch`, its streams spread over the partitions; returns
    /// once JetStream has acknowledged every message. On an error some
    /// messages may be stored: the client's retry may then store their
    /// lines twice (JetStream dedupes only the publisher's own retries).
    pub async fn publish(&self, batch: PushBatch) -> Result<(), QueueError> {
        let max = self
            .client
            .server_info()
            .max_payload
            .saturating_sub(HEADER_ROOM)
            .max(1024);
        let mut by_partition: Vec<PushBatch> = (0..self.cfg.partitions)
            .map(|_| PushBatch {
                tenant: batch.tenant.clone(),
                streams: Vec::new(),
            })
            .collect();
        let partitions = u64::from(self.cfg.partitions.max(1));
        for stream in batch.streams {
            let p = (stream.labels.stream_id().0 % partitions) as usize;
            if let Some(b) = by_partition.get_mut(p) {
                b.streams.push(stream);
            }
        }
        let mut acks = Vec::new();
        for (p, part) in by_partition.into_iter().enumerate() {
            if part.streams.is_empty() {
                continue;
            }
            for body in message::bodies(part, max)? {
                let mut headers = HeaderMap::new();
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                headers.insert("Nats-Msg-Id", format!("{}-{id}", self.id_prefix).as_str());
                let subject = self.cfg.subject(p as u32);
                let sent = self
                    .js
                    .publish_with_headers(subject, headers, body.into())
                    .await
                    .map_err(|e| self.failed(e.to_string()))?;
                acks.push(async move { sent.await });
            }
        }
        let acked = tokio::time::timeout(self.cfg.publish_timeout, try_join_all(acks))
            .await
            .map_err(|_| self.failed("no acknowledgement from JetStream in time".into()))?
            .map_err(|e| self.failed(e.to_string()))?;
        self.stats
            .published
            .fetch_add(acked.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    fn failed(&self, detail: String) -> QueueError {
        self.stats.publish_failures.fetch_add(1, Ordering::Relaxed);
        QueueError::Publish(detail)
    }
}

/// Connects to the configured NATS servers.
pub(crate) async fn connect(cfg: &QueueConfig) -> Result<Client, QueueError> {
    async_nats::ConnectOptions::new()
        .name("basin")
        .connection_timeout(Duration::from_secs(5))
        .connect(cfg.url.as_str())
        .await
        .map_err(|e| QueueError::Connect {
            url: cfg.url.clone(),
            detail: e.to_string(),
        })
}

/// Creates partition `p`'s stream, or, with `update` (ingest nodes, whose
/// `max_bytes` rules), updates its limits: a work queue (a message leaves
/// once its indexer acknowledged it) that refuses new messages past
/// `max_bytes` instead of dropping old ones.
pub(crate) async fn ensure_stream(
    js: &jetstream::Context,
    cfg: &QueueConfig,
    p: u32,
    update: bool,
) -> Result<stream::Stream, QueueError> {
    let name = cfg.stream_name(p);
    let config = stream::Config {
        name: name.clone(),
        subjects: vec![cfg.subject(p)],
        retention: stream::RetentionPolicy::WorkQueue,
        discard: stream::DiscardPolicy::New,
        max_bytes: i64::try_from(cfg.max_bytes).unwrap_or(i64::MAX),
        num_replicas: cfg.replicas,
        storage: stream::StorageType::File,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    };
    let error = |e: &dyn std::fmt::Display| QueueError::Stream {
        stream: name.clone(),
        detail: e.to_string(),
    };
    if !update {
        return js.get_or_create_stream(config).await.map_err(|e| error(&e));
    }
    // JetStream drops the oldest messages when a limit shrinks below what
    // the stream holds: keep the old limit rather than lose pushes.
    if let Ok(mut existing) = js.get_stream(&name).await {
        if let Ok(info) = existing.info().await {
            if info.state.bytes > cfg.max_bytes {
                warn!(
                    stream = %name,
                    holds = info.state.bytes,
                    max_bytes = cfg.max_bytes,
                    "queue max_bytes is below what the stream holds; keeping the old limit until it drains"
                );
                return Ok(existing);
            }
        }
    }
    if let Err(e) = js.create_or_update_stream(config).await {
        return Err(error(&e));
    }
    js.get_stream(&name).await.map_err(|e| error(&e))
}

/// Reads each watched partition's backlog from JetStream every second.
pub(crate) fn spawn_lag_watch(
    js: jetstream::Context,
    client: Client,
    cfg: QueueConfig,
    stats: Arc<QueueStats>,
) {
    tokio::spawn(async move {
        let partitions: Vec<u32> = stats.partitions().collect();
        loop {
            let up = client.connection_state() == async_nats::connection::State::Connected;
            stats.connected.store(up, Ordering::Relaxed);
            for &p in &partitions {
                match js.get_stream(cfg.stream_name(p)).await {
                    Ok(mut s) => match s.info().await {
                        Ok(info) => stats.set_lag(p, info.state.messages, info.state.bytes),
                        Err(e) => warn!(partition = p, "cannot read the queue's lag: {e}"),
                    },
                    Err(e) => warn!(partition = p, "cannot read the queue's lag: {e}"),
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}
