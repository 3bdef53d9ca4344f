//! The ruler's threads: one evaluates groups as they fall due, one sends
//! the alerts they raise, one remote-writes what they record, so a slow
//! receiver never delays a rule.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::error;

use crate::notify::dispatch::Dispatcher;
use crate::notify::http::Transport;
use crate::notify::{alertmanager, OutAlert};
use crate::querier::Sample;
use crate::remote_write;
use crate::ruler::{Ruler, Written};
use crate::RulesError;

/// How often the evaluator looks for due groups.
const TICK: Duration = Duration::from_millis(200);

/// Now, in nanoseconds since the epoch.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// The running threads; dropping the handle stops them.
pub struct RulerHandle {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl RulerHandle {
    /// Stops the threads and waits for them (the notifier sends what it holds).
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Release);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for RulerHandle {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Starts evaluating and notifying.
pub fn spawn(ruler: Arc<Ruler>, transport: Arc<dyn Transport>) -> Result<RulerHandle, RulesError> {
    let config = ruler.config().clone();
    let mut dispatcher = Dispatcher::open(
        config.state_dir.join("notifications.json"),
        config.receivers.clone(),
        config.external_url.clone(),
        transport.clone(),
        ruler.stats().clone(),
    )?;
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel::<Vec<OutAlert>>();
    let (written_tx, written_rx) = mpsc::channel::<Vec<Written>>();
    let evaluator = {
        let (stop, ruler) = (stop.clone(), ruler.clone());
        std::thread::Builder::new()
            .name("ruler-eval".into())
            .spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    let alerts = ruler.tick(now_ns());
                    if !alerts.is_empty() && tx.send(alerts).is_err() {
                        break;
                    }
                    let written = ruler.take_written();
                    if !written.is_empty() && written_tx.send(written).is_err() {
                        break;
                    }
                    std::thread::sleep(TICK);
                }
            })
            .map_err(|e| RulesError::io("cannot start", std::path::Path::new("ruler-eval"), e))?
    };
    let writer = {
        let (stats, targets) = (ruler.stats().clone(), config.remote_write.clone());
        let transport = transport.clone();
        let stop = stop.clone();
        // Waits between retries, cut short when the server stops.
        let pause = move |d: Duration| {
            let until = std::time::Instant::now() + d;
            while !stop.load(Ordering::Acquire) && std::time::Instant::now() < until {
                std::thread::sleep(
                    TICK.min(until.saturating_duration_since(std::time::Instant::now())),
                );
            }
        };
        std::thread::Builder::new()
            .name("ruler-remote-write".into())
            .spawn(move || {
                // Ends when the evaluator drops its sender.
                while let Ok(mut batch) = written_rx.recv() {
                    while let Ok(more) = written_rx.try_recv() {
                        batch.extend(more);
                    }
                    let mut by_tenant: BTreeMap<String, Vec<(i64, Sample)>> = BTreeMap::new();
                    for (tenant, ts, samples) in batch {
                        by_tenant
                            .entry(tenant.to_string())
                            .or_default()
                            .extend(samples.into_iter().map(|s| (ts, s)));
                    }
                    for (tenant, samples) in &by_tenant {
                        for target in &targets {
                            remote_write::send(
                                transport.as_ref(),
                                target,
                                tenant,
                                samples,
                                &stats,
                                &pause,
                            );
                        }
                    }
                }
            })
            .map_err(|e| {
                RulesError::io(
                    "cannot start",
                    std::path::Path::new("ruler-remote-write"),
                    e,
                )
            })?
    };
    let notifier = {
        let (stop, stats) = (stop.clone(), ruler.stats().clone());
        std::thread::Builder::new()
            .name("ruler-notify".into())
            .spawn(move || loop {
                match rx.recv_timeout(TICK) {
                    Ok(alerts) => {
                        let now = now_ns();
                        if !config.alertmanager_urls.is_empty() {
                            for url in &config.alertmanager_urls {
                                let (ok, failed) = alertmanager::send(
                                    transport.as_ref(),
                                    std::slice::from_ref(url),
                                    &alerts,
                                );
                                for _ in 0..ok {
                                    stats.alertmanager(url, true);
                                }
                                for _ in 0..failed {
                                    stats.alertmanager(url, false);
                                }
                            }
                        }
                        if !dispatcher.is_empty() {
                            dispatcher.receive(&alerts, now);
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        dispatcher.flush(now_ns());
                        break;
                    }
                }
                if !dispatcher.is_empty() {
                    dispatcher.flush(now_ns());
                }
                if stop.load(Ordering::Acquire) {
                    // The evaluator has stopped too, or will at its next tick.
                    if let Ok(alerts) = rx.try_recv() {
                        dispatcher.receive(&alerts, now_ns());
                        dispatcher.flush(now_ns());
                    }
                    break;
                }
            })
            .map_err(|e| {
                error!("cannot start the notifier: {e}");
                RulesError::io("cannot start", std::path::Path::new("ruler-notify"), e)
            })?
    };
    Ok(RulerHandle {
        stop,
        threads: vec![evaluator, notifier, writer],
    })
}
