//! The load driver: reads a corpus written by `gen-corpus`, encodes it as
//! Loki protobuf push bodies (snappy) *before* the clock starts, then sends
//! them with several concurrent senders and reports what was acknowledged.
//! Running as its own process keeps its CPU out of the server's figures.
//!
//! `load --corpus DIR --server http://127.0.0.1:3100 --senders 4`

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use basin_ingest::loki_push::proto;
use clap::Parser;
use prost::Message;
use serde_json::json;

/// Send a corpus to a server through the Loki protobuf push API.
#[derive(Parser)]
struct Args {
    /// Directory written by gen-corpus.
    #[arg(long)]
    corpus: PathBuf,
    /// Server to send to.
    #[arg(long, default_value = "http://127.0.0.1:3100")]
    server: String,
    /// Concurrent senders.
    #[arg(long, default_value_t = 4)]
    senders: usize,
    /// Raw line bytes per push request.
    #[arg(long, default_value_t = 1 << 20)]
    batch_bytes: usize,
}

fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// One encoded push: body, lines and raw bytes in it.
struct Body {
    bytes: Vec<u8>,
    lines: usize,
    raw: usize,
}

fn encode(batch: &mut HashMap<usize, Vec<proto::EntryAdapter>>, labels: &[String]) -> Vec<u8> {
    let req = proto::PushRequest {
        streams: batch
            .drain()
            .map(|(stream, entries)| proto::StreamAdapter {
                labels: labels[stream].clone(),
                entries,
                hash: 0,
            })
            .collect(),
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap_or_default()
}

fn main() -> Result<()> {
    let args = Args::parse();
    let labels: Vec<String> = std::fs::read_to_string(args.corpus.join("streams.txt"))
        .context("cannot read streams.txt")?
        .lines()
        .map(str::to_string)
        .collect();
    let file =
        std::fs::File::open(args.corpus.join("corpus.tsv")).context("cannot open corpus.tsv")?;
    let mut bodies = Vec::new();
    let mut batch: HashMap<usize, Vec<proto::EntryAdapter>> = HashMap::new();
    let (mut lines, mut raw) = (0, 0);
    for line in BufReader::with_capacity(1 << 20, file).lines() {
        let line = line?;
        let mut cols = line.splitn(3, '\t');
        let (Some(ts), Some(stream), Some(text)) = (cols.next(), cols.next(), cols.next()) else {
            bail!("bad corpus line: {line:?}");
        };
        let ts: i64 = ts.parse()?;
        let stream: usize = stream.parse()?;
        let text = unescape(text);
        raw += text.len() + 1;
        lines += 1;
        batch.entry(stream).or_default().push(proto::EntryAdapter {
            timestamp: Some(proto::Timestamp {
                seconds: ts.div_euclid(1_000_000_000),
                nanos: ts.rem_euclid(1_000_000_000) as i32,
            }),
            line: text,
            structured_metadata: Vec::new(),
        });
        if raw >= args.batch_bytes {
            bodies.push(Body {
                bytes: encode(&mut batch, &labels),
                lines,
                raw,
            });
            (lines, raw) = (0, 0);
        }
    }
    if lines > 0 {
        bodies.push(Body {
            bytes: encode(&mut batch, &labels),
            lines,
            raw,
        });
    }
    let url = format!("{}/loki/api/v1/push", args.server.trim_end_matches('/'));
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..args.senders.max(1) {
            scope.spawn(|| {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(120)))
                    .build()
                    .into();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    let resp = agent
                        .post(&url)
                        .header("Content-Type", "application/x-protobuf")
                        .send(&body.bytes[..]);
                    match resp {
                        Ok(r) if r.status() == 204 => {}
                        Ok(mut r) => {
                            failures
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(format!(
                                    "{}: {}",
                                    r.status(),
                                    r.body_mut().read_to_string().unwrap_or_default()
                                ))
                        }
                        Err(e) => failures
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(e.to_string()),
                    }
                }
            });
        }
    });
    let secs = started.elapsed().as_secs_f64();
    let failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(first) = failures.first() {
        bail!("{} pushes failed, first: {first}", failures.len());
    }
    let total_lines: usize = bodies.iter().map(|b| b.lines).sum();
    let total_raw: usize = bodies.iter().map(|b| b.raw).sum();
    println!(
        "{}",
        json!({
            "lines": total_lines,
            "raw_bytes": total_raw,
            "pushes": bodies.len(),
            "wire_bytes": bodies.iter().map(|b| b.bytes.len()).sum::<usize>(),
            "seconds": secs,
            "lines_per_second": total_lines as f64 / secs,
            "raw_mb_per_second": total_raw as f64 / secs / 1e6,
        })
    );
    Ok(())
}
