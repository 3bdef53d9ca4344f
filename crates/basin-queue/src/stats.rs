use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// What the queue did, for `/metrics`.
#[derive(Debug)]
pub struct QueueStats {
    /// Messages JetStream acknowledged to this ingest node.
    pub published: AtomicU64,
    /// Publishes refused or not acknowledged.
    pub publish_failures: AtomicU64,
    /// Messages this indexer applied.
    pub applied: AtomicU64,
    /// Redelivered messages this indexer had already applied, skipped.
    pub redeliveries_skipped: AtomicU64,
    /// Messages this indexer could not decode, dropped.
    pub undecodable: AtomicU64,
    /// Per partition: messages and bytes in its stream (not yet applied by
    /// its indexer), as last read from JetStream.
    lag: Vec<(u32, AtomicU64, AtomicU64)>,
    /// The NATS connection is up (and, on an indexer, consuming).
    pub connected: AtomicBool,
}

impl QueueStats {
    /// Stats watching the lag of `partitions`.
    pub fn new(partitions: impl IntoIterator<Item = u32>) -> Self {
        Self {
            published: AtomicU64::new(0),
            publish_failures: AtomicU64::new(0),
            applied: AtomicU64::new(0),
            redeliveries_skipped: AtomicU64::new(0),
            undecodable: AtomicU64::new(0),
            lag: partitions
                .into_iter()
                .map(|p| (p, AtomicU64::new(0), AtomicU64::new(0)))
                .collect(),
            connected: AtomicBool::new(false),
        }
    }

    /// The partitions whose lag is watched.
    pub fn partitions(&self) -> impl Iterator<Item = u32> + '_ {
        self.lag.iter().map(|(p, _, _)| *p)
    }

    /// Records a partition's lag.
    pub fn set_lag(&self, partition: u32, messages: u64, bytes: u64) {
        if let Some((_, m, b)) = self.lag.iter().find(|(p, _, _)| *p == partition) {
            m.store(messages, Ordering::Relaxed);
            b.store(bytes, Ordering::Relaxed);
        }
    }

    /// Messages waiting over every watched partition.
    pub fn lag_messages(&self) -> u64 {
        self.lag
            .iter()
            .map(|(_, m, _)| m.load(Ordering::Relaxed))
            .sum()
    }

    /// The stats in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let counters = [
            (
                "basin_queue_published_total",
                "Messages JetStream acknowledged to this node.",
                self.published.load(Ordering::Relaxed),
            ),
            (
                "basin_queue_publish_failures_total",
                "Publishes to JetStream refused or not acknowledged.",
                self.publish_failures.load(Ordering::Relaxed),
            ),
            (
                "basin_queue_applied_total",
                "Queue messages this indexer stored.",
                self.applied.load(Ordering::Relaxed),
            ),
            (
                "basin_queue_redeliveries_skipped_total",
                "Redelivered queue messages already stored, skipped.",
                self.redeliveries_skipped.load(Ordering::Relaxed),
            ),
            (
                "basin_queue_undecodable_total",
                "Queue messages that could not be decoded, dropped.",
                self.undecodable.load(Ordering::Relaxed),
            ),
        ];
        basin_model::exposition::counters(out, &counters);
        let gauges = [
            (
                "basin_queue_lag_messages",
                "Messages in a partition's stream not yet stored by its indexer.",
            ),
            (
                "basin_queue_lag_bytes",
                "Bytes in a partition's stream not yet stored by its indexer.",
            ),
        ];
        for (i, (name, help)) in gauges.into_iter().enumerate() {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for (p, messages, bytes) in &self.lag {
                let v = if i == 0 { messages } else { bytes };
                let _ = writeln!(
                    out,
                    "{name}{{partition=\"{p}\"}} {}",
                    v.load(Ordering::Relaxed)
                );
            }
        }
        let name = "basin_queue_connected";
        let _ = writeln!(
            out,
            "# HELP {name} 1 while the NATS connection is up.\n# TYPE {name} gauge\n{name} {}",
            u8::from(self.connected.load(Ordering::Relaxed))
        );
    }
}
