use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy};
use async_nats::jetstream::{self, AckKind, Message};
use basin_model::PushBatch;
use futures_util::{FutureExt, StreamExt};
use tracing::{error, info, warn};

use crate::publish::{connect, ensure_stream, spawn_lag_watch};
use crate::{message, QueueConfig, QueueError, QueueStats};

/// Durable consumer name of a partition's indexer.
const CONSUMER: &str = "basin-indexer";

/// Messages applied together, in one WAL group.
const MAX_GROUP: usize = 256;

/// Fault injection for the end-to-end tests: set, the indexer stores
/// messages but never acknowledges them, as if every acknowledgement were
/// lost, so a restart must tell the redeliveries from new messages.
const DROP_ACKS_ENV: &str = "BASIN_TEST_DROP_QUEUE_ACKS";

/// Consumes the configured partition for good: each group of messages is
/// handed to `apply` with their stream sequences (rising), and acknowledged
/// once `apply` says the group is durable. `position` is the highest
/// sequence already durable: messages at or below it are redeliveries and
/// are acknowledged without being applied. Reconnects after any failure.
pub async fn consume<P, A, F>(cfg: QueueConfig, stats: Arc<QueueStats>, position: P, apply: A)
where
    P: Fn() -> u64 + Send + Sync,
    A: Fn(Vec<(PushBatch, u64)>) -> F + Send + Sync,
    F: Future<Output = Result<(), String>> + Send,
{
    let mut lag_watched = false;
    loop {
        let outcome = run(&cfg, &stats, &position, &apply, &mut lag_watched).await;
        stats.connected.store(false, Ordering::Relaxed);
        if let Err(e) = outcome {
            warn!(
                partition = cfg.partition,
                "queue consumer stopped, restarting in 1 s: {e}"
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn run<P, A, F>(
    cfg: &QueueConfig,
    stats: &Arc<QueueStats>,
    position: &P,
    apply: &A,
    lag_watched: &mut bool,
) -> Result<(), QueueError>
where
    P: Fn() -> u64,
    A: Fn(Vec<(PushBatch, u64)>) -> F,
    F: Future<Output = Result<(), String>>,
{
    let client = connect(cfg).await?;
    let js = jetstream::new(client.clone());
    let stream = ensure_stream(&js, cfg, cfg.partition, false).await?;
    let stream_error = |e: &dyn std::fmt::Display| QueueError::Stream {
        stream: cfg.stream_name(cfg.partition),
        detail: e.to_string(),
    };
    let consumer: jetstream::consumer::Consumer<pull::Config> = stream
        .get_or_create_consumer(
            CONSUMER,
            pull::Config {
                durable_name: Some(CONSUMER.into()),
                ack_policy: AckPolicy::Explicit,
                ack_wait: cfg.ack_wait,
                max_ack_pending: 4 * MAX_GROUP as i64,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| stream_error(&e))?;
    let mut messages = consumer.messages().await.map_err(|e| stream_error(&e))?;
    if !*lag_watched {
        spawn_lag_watch(js.clone(), client.clone(), cfg.clone(), stats.clone());
        *lag_watched = true;
    }
    stats.connected.store(true, Ordering::Relaxed);
    info!(stream = %cfg.stream_name(cfg.partition), "consuming the ingest queue");
    loop {
        // Wait for one message, then take what else has arrived.
        let Some(first) = messages.next().await else {
            return Ok(());
        };
        let mut group = vec![first.map_err(|e| stream_error(&e))?];
        while group.len() < MAX_GROUP {
            match messages.next().now_or_never() {
                Some(Some(m)) => group.push(m.map_err(|e| stream_error(&e))?),
                _ => break,
            }
        }
        apply_group(&stream, stats, group, position(), apply).await?;
    }
}

/// Applies the messages of `group` that follow `applied` without a gap, and
/// acknowledges them and any redeliveries.
async fn apply_group<A, F>(
    stream: &jetstream::stream::Stream,
    stats: &QueueStats,
    group: Vec<Message>,
    mut applied: u64,
    apply: &A,
) -> Result<(), QueueError>
where
    A: Fn(Vec<(PushBatch, u64)>) -> F,
    F: Future<Output = Result<(), String>>,
{
    let mut batches = Vec::new();
    let mut to_ack = Vec::new();
    let mut held_back = Vec::new();
    for m in group {
        let Ok(seq) = m.info().map(|i| i.stream_sequence) else {
            warn!("queue message without JetStream metadata, dropped");
            let _ = m.ack_with(AckKind::Term).await;
            continue;
        };
        if !held_back.is_empty() {
            held_back.push(m);
            continue;
        }
        if seq <= applied {
            stats.redeliveries_skipped.fetch_add(1, Ordering::Relaxed);
            to_ack.push(m);
            continue;
        }
        if seq > applied + 1 && !gap_is_gone(stream, applied + 1, seq).await {
            // An earlier message is still to come (redelivered after a
            // failure): wait for it, or this one would be stored first and
            // the earlier one taken for a redelivery.
            held_back.push(m);
            continue;
        }
        match message::decode(&m.payload) {
            Ok(batch) => batches.push((batch, seq)),
            Err(e) => {
                error!(seq, "queue message cannot be decoded, dropped: {e}");
                stats.undecodable.fetch_add(1, Ordering::Relaxed);
            }
        }
        applied = seq;
        to_ack.push(m);
    }
    let count = batches.len() as u64;
    if !batches.is_empty() {
        if let Err(e) = apply(batches).await {
            // Nothing of the group is durable: it comes again.
            for m in to_ack.into_iter().chain(held_back) {
                let _ = m.ack_with(AckKind::Nak(Some(Duration::from_secs(1)))).await;
            }
            return Err(QueueError::Publish(format!(
                "storing queued lines failed: {e}"
            )));
        }
    }
    stats.applied.fetch_add(count, Ordering::Relaxed);
    if std::env::var_os(DROP_ACKS_ENV).is_some() {
        return Ok(());
    }
    for m in to_ack {
        if let Err(e) = m.ack().await {
            // Redelivered later and skipped then: the lines are stored.
            warn!("queue acknowledgement failed: {e}");
        }
    }
    for m in held_back {
        let _ = m
            .ack_with(AckKind::Nak(Some(Duration::from_millis(200))))
            .await;
    }
    Ok(())
}

/// True when no message between `from` and `to` (excluded) is left in the
/// stream: they were stored and acknowledged before this store's position
/// was lost (a new disk), or removed by hand. False when one still waits.
async fn gap_is_gone(stream: &jetstream::stream::Stream, from: u64, to: u64) -> bool {
    let mut stream = stream.clone();
    let first = match stream.info().await {
        Ok(info) => info.state.first_sequence,
        Err(_) => return false,
    };
    let from = from.max(first);
    // Checked one by one only when few: a long gap inside the stream can
    // only be made by hand.
    if from < to && (to - from > 1024 || has_any(&stream, from, to).await) {
        return false;
    }
    warn!(
        from,
        to, "queue sequence gap: those messages are gone from the stream; going on"
    );
    true
}

async fn has_any(stream: &jetstream::stream::Stream, from: u64, to: u64) -> bool {
    for seq in from..to {
        if stream.get_raw_message(seq).await.is_ok() {
            return true;
        }
    }
    false
}
