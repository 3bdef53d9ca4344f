//! The load driver: reads a corpus written by `gen-corpus`, encodes it in one
//! ingest protocol (Loki protobuf push by default) *before* the clock starts,
//! then sends it with several concurrent senders and reports what was
//! acknowledged.
//! Running as its own process keeps its CPU out of the server's figures.
//!
//! `load --corpus DIR --server http://127.0.0.1:3100 --senders 4 [--protocol otlp-proto]`

use std::io::Write;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use basin_bench::wire::{encode, label_pairs, Body, Line, Protocol};
use clap::Parser;
use serde_json::json;

/// Send a corpus to a server through one of its ingest protocols.
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
    /// Protocol to send with.
    #[arg(long, value_enum, default_value = "loki-proto")]
    protocol: Protocol,
    /// Send only the first N lines of the corpus.
    #[arg(long)]
    max_lines: Option<usize>,
    /// Syslog TCP address, for `--protocol syslog-tcp`.
    #[arg(long, default_value = "127.0.0.1:5514")]
    syslog: String,
}

/// Sends every body over HTTP with concurrent senders; returns the failures.
fn send_http(args: &Args, bodies: &[Body], path: &str, content_type: &str) -> Vec<String> {
    let base = format!("{}{path}", args.server.trim_end_matches('/'));
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let fail = |msg: String| failures.lock().unwrap_or_else(|e| e.into_inner()).push(msg);
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
                    let url = if body.query.is_empty() {
                        base.clone()
                    } else {
                        format!("{base}?{}", body.query)
                    };
                    let resp = agent
                        .post(&url)
                        .header("Content-Type", content_type)
                        .send(&body.bytes[..]);
                    match resp {
                        Ok(mut r) => {
                            let status = r.status().as_u16();
                            let text = r.body_mut().read_to_string().unwrap_or_default();
                            // Answers that refuse items inside a 200.
                            let refused = text.contains("\"errors\":true")
                                || text.contains("rejectedLogRecords");
                            if !(200..300).contains(&status) || refused {
                                fail(format!("{status}: {}", &text[..text.len().min(300)]));
                            }
                        }
                        Err(e) => fail(e.to_string()),
                    }
                }
            });
        }
    });
    failures.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// Writes every body down one TCP connection per sender, then waits until the
/// server's `/metrics` counts every line as stored (syslog has no answers).
fn send_syslog(args: &Args, bodies: &[Body]) -> Result<Vec<String>> {
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..args.senders.max(1) {
            scope.spawn(|| {
                let mut conn = match TcpStream::connect(&args.syslog) {
                    Ok(c) => c,
                    Err(e) => {
                        failures
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(e.to_string());
                        return;
                    }
                };
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    if let Err(e) = conn.write_all(&body.bytes) {
                        failures
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(e.to_string());
                        return;
                    }
                }
            });
        }
    });
    let want: usize = bodies.iter().map(|b| b.lines).sum();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let metrics = format!("{}/metrics", args.server.trim_end_matches('/'));
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let text = agent.get(&metrics).call()?.body_mut().read_to_string()?;
        let count = |outcome: &str| -> usize {
            let key = format!("protocol=\"syslog\",tenant=\"default\",outcome=\"{outcome}\"}} ");
            text.lines()
                .find(|l| l.starts_with("basin_ingest_lines_total") && l.contains(&key))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        let (stored, refused) = (count("accepted"), count("rejected"));
        if refused > 0 {
            bail!("the server refused {refused} syslog messages");
        }
        if stored >= want {
            break;
        }
        if Instant::now() > deadline {
            bail!("only {stored} of {want} syslog lines stored after 600 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(failures.into_inner().unwrap_or_else(|e| e.into_inner()))
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

fn main() -> Result<()> {
    let args = Args::parse();
    let labels: Vec<Vec<(String, String)>> =
        std::fs::read_to_string(args.corpus.join("streams.txt"))
            .context("cannot read streams.txt")?
            .lines()
            .map(label_pairs)
            .collect();
    let file =
        std::fs::File::open(args.corpus.join("corpus.tsv")).context("cannot open corpus.tsv")?;
    let mut lines: Vec<Line> = Vec::new();
    for line in BufReader::with_capacity(1 << 20, file).lines() {
        if args.max_lines.is_some_and(|max| lines.len() >= max) {
            break;
        }
        let line = line?;
        let mut cols = line.splitn(3, '\t');
        let (Some(ts), Some(stream), Some(text)) = (cols.next(), cols.next(), cols.next()) else {
            bail!("bad corpus line: {line:?}");
        };
        lines.push(Line {
            ts: ts.parse()?,
            stream: stream.parse()?,
            text: unescape(text),
        });
    }
    if args.protocol == Protocol::Ndjson {
        // One label set per NDJSON request: send each stream's lines together,
        // as a real client of that endpoint (one job, one set of labels) does.
        lines.sort_by_key(|l| l.stream);
    }
    let mut bodies: Vec<Body> = Vec::new();
    let mut batch: Vec<Line> = Vec::new();
    let mut raw = 0;
    for line in lines {
        raw += line.text.len() + 1;
        batch.push(line);
        if raw >= args.batch_bytes {
            bodies.extend(encode(args.protocol, &batch, &labels));
            batch.clear();
            raw = 0;
        }
    }
    if !batch.is_empty() {
        bodies.extend(encode(args.protocol, &batch, &labels));
    }
    let started = Instant::now();
    let failures = match args.protocol.http() {
        Some((path, content_type)) => send_http(&args, &bodies, path, content_type),
        None => send_syslog(&args, &bodies)?,
    };
    let secs = started.elapsed().as_secs_f64();
    if let Some(first) = failures.first() {
        bail!("{} pushes failed, first: {first}", failures.len());
    }
    let total_lines: usize = bodies.iter().map(|b| b.lines).sum();
    let total_raw: usize = bodies.iter().map(|b| b.raw).sum();
    println!(
        "{}",
        json!({
            "protocol": format!("{:?}", args.protocol),
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
