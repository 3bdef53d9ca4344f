//! The kill loop: 20 SIGKILLs at pseudo-random moments while 4 clients push
//! and the server flushes (a small head), merges (a short merge interval)
//! and applies retention (a stream of old lines that expires). After every
//! restart, every acknowledged line is there exactly once.
//!
//! The moments come from a seed printed at the start; `KILL_LOOP_SEED=N`
//! replays a run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{agent, json_body, now_ns, part_files, Server};

const KILLS: usize = 20;
const DAY_NS: i64 = 86_400_000_000_000;

/// A small deterministic generator (xorshift), enough to spread kills.
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + self.0 % (hi - lo)
    }
}

#[test]
fn acknowledged_lines_survive_twenty_kills_during_flushes_merges_and_retention() {
    let seed: u64 = std::env::var("KILL_LOOP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| now_ns() as u64 | 1);
    eprintln!("kill loop seed {seed} (KILL_LOOP_SEED={seed} replays it)");
    let mut moments = Moments(seed);
    let mut server = Server::start(
        "head_max_bytes: 150000\nmerge_interval: 300ms\nretention_period: 2d\n\
         max_entries_limit_per_query: 2000000\n",
    );
    let url = Arc::new(RwLock::new(server.url.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();
    let base = now_ns() - 3_600_000_000_000;
    let clients: Vec<_> = (0..4i64)
        .map(|client| {
            let (url, stop, acked) = (url.clone(), stop.clone(), acked.clone());
            std::thread::spawn(move || {
                let agent = agent();
                let mut batch = 0i64;
                while !stop.load(Ordering::Relaxed) {
                    let entries: Vec<(i64, String)> = (0..40)
                        .map(|i| {
                            let ts = base + client * 10_000_000_000 + batch * 100 + i;
                            (
                                ts,
                                format!(
                                    "client={client} batch={batch} entry={i} {}",
                                    "p".repeat(30)
                                ),
                            )
                        })
                        .collect();
                    let mut streams = vec![json_body(
                        json!({"job": "kill", "client": client.to_string()}),
                        entries
                            .iter()
                            .map(|(ts, l)| json!([ts.to_string(), l]))
                            .collect(),
                    )["streams"][0]
                        .clone()];
                    // Old lines, three days back: parts of their own day
                    // that retention removes while the load goes on.
                    streams.push(json!({
                        "stream": {"job": "expiring"},
                        "values": [[(now_ns() - 3 * DAY_NS + batch).to_string(), "old line"]],
                    }));
                    let body = json!({ "streams": streams }).to_string();
                    let target = format!("{}/loki/api/v1/push", url.read().unwrap());
                    let resp = agent
                        .post(&target)
                        .header("Content-Type", "application/json")
                        .send(body.as_bytes());
                    match resp {
                        Ok(r) if r.status() == 204 => acked.lock().unwrap().extend(entries),
                        // Not acknowledged (the server is down): may be lost.
                        _ => std::thread::sleep(Duration::from_millis(5)),
                    }
                    batch += 1;
                }
            })
        })
        .collect();

    let mut restarts = Vec::new();
    let mut checks = Vec::new();
    for kill in 0..KILLS {
        std::thread::sleep(Duration::from_millis(moments.next_ms(150, 900)));
        let before_kill = acked.lock().unwrap().clone();
        server.kill();
        let started = Instant::now();
        server.spawn();
        restarts.push(started.elapsed());
        *url.write().unwrap() = server.url.clone();

        let checked = Instant::now();
        let stored = server.lines(None, r#"{job="kill"}"#);
        checks.push(checked.elapsed());
        let mut counts: HashMap<&(i64, String), usize> = HashMap::new();
        for entry in &stored {
            *counts.entry(entry).or_default() += 1;
        }
        let duplicates: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).take(3).collect();
        assert!(
            duplicates.is_empty(),
            "kill {kill}: stored twice: {duplicates:?}"
        );
        let missing: Vec<_> = before_kill
            .iter()
            .filter(|e| !counts.contains_key(e))
            .take(3)
            .collect();
        assert!(
            missing.is_empty(),
            "kill {kill}: acknowledged lines lost, e.g. {missing:?} (seed {seed})"
        );
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let acked = acked.lock().unwrap().len();
    let parts = part_files(&server.data_dir()).len();
    let log = server.log();
    let merges = log.matches("rewrote parts").count();
    let expired = log.matches("retention dropped part").count();
    restarts.sort();
    eprintln!(
        "kill loop: {KILLS} SIGKILLs, {acked} lines acknowledged, 0 lost, 0 duplicated; \
         {parts} parts at the end, {merges} merges and {expired} retention drops logged; \
         restart to ready: median {:?}, max {:?}; full check read: max {:?}",
        restarts[restarts.len() / 2],
        restarts[restarts.len() - 1],
        checks.iter().max().unwrap()
    );
    assert!(acked > 10_000, "only {acked} lines acknowledged");
    assert!(merges > 0, "no merge happened during the loop");
    assert!(expired > 0, "retention never ran during the loop");
}
