//! `basin import`: streams files or stdin to a server's Loki push API in
//! batches, detecting JSON lines (fields kept as structured metadata, time
//! taken from `timestamp`/`time`/`ts`/`@timestamp`) versus plain text, whose
//! time is the one in its header (else the clock) and whose continuation
//! lines (stack traces) join the entry they belong to.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read};
use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use basin_model::Labels;
use basin_pipeline::json_doc::{doc_to_entry, DocRules};
use basin_pipeline::multiline::is_continuation;
use basin_pipeline::timestamp::find_timestamp;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Map, Value};

use crate::client::Client;

/// Flags of `basin import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Server to send to.
    #[arg(long, default_value = "http://127.0.0.1:3100")]
    server: String,
    /// Stream labels for every line, e.g. '{job="batch"}'; files also get `filename`.
    #[arg(long, default_value = r#"{job="import"}"#)]
    labels: String,
    /// Tenant (sent as X-Scope-OrgID).
    #[arg(long)]
    tenant: Option<String>,
    /// API token, when the server requires one (sent as a Bearer token).
    #[arg(long, env = "BASIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Most lines per push request.
    #[arg(long, default_value_t = 5000)]
    batch_lines: usize,
    /// Files to send; `-` reads stdin.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Most bytes of lines per push request; stays well under the server's
/// default 16 MiB body limit.
const BATCH_BYTES: usize = 2 * 1024 * 1024;

pub fn run(args: ImportArgs) -> Result<()> {
    let base_labels = Labels::parse(&args.labels).map_err(|e| anyhow::anyhow!("--labels: {e}"))?;
    let total_bytes: Option<u64> = args
        .files
        .iter()
        .map(|f| {
            (f.as_os_str() != "-")
                .then(|| f.metadata().map(|m| m.len()).ok())
                .flatten()
        })
        .sum();
    let progress = progress_bar(total_bytes);
    let mut sender = Sender {
        client: Client::new(&args.server, args.tenant.clone(), args.token.clone()),
        lines: 0,
        bytes: 0,
        progress: progress.clone(),
    };
    let started = Instant::now();
    for path in &args.files {
        let (reader, labels): (Box<dyn Read>, Labels) = if path.as_os_str() == "-" {
            (Box::new(io::stdin().lock()), base_labels.clone())
        } else {
            let file =
                File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
            (Box::new(file), with_filename(&base_labels, path)?)
        };
        send_lines(
            &mut sender,
            BufReader::new(reader),
            &labels,
            args.batch_lines,
        )
        .with_context(|| format!("while importing {}", path.display()))?;
    }
    progress.finish_and_clear();
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    println!(
        "imported {} lines ({:.1} MiB) in {:.2}s: {:.0} lines/s",
        sender.lines,
        sender.bytes as f64 / (1024.0 * 1024.0),
        secs,
        sender.lines as f64 / secs
    );
    Ok(())
}

fn progress_bar(total_bytes: Option<u64>) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    match total_bytes {
        Some(total) => ProgressBar::new(total).with_style(
            ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} {msg} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {bytes} {binary_bytes_per_sec} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    }
}

fn with_filename(base: &Labels, path: &std::path::Path) -> Result<Labels> {
    if base.get("filename").is_some() {
        return Ok(base.clone());
    }
    let mut pairs = base.pairs().to_vec();
    pairs.push(("filename".into(), path.display().to_string()));
    Labels::from_pairs(pairs).map_err(|e| anyhow::anyhow!("{e}"))
}

struct Sender {
    client: Client,
    lines: u64,
    bytes: u64,
    progress: ProgressBar,
}

impl Sender {
    fn push(&mut self, labels: &Labels, values: Vec<Value>, bytes: usize) -> Result<()> {
        if values.is_empty() {
            return Ok(());
        }
        let stream: Map<String, Value> = labels
            .pairs()
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let count = values.len() as u64;
        let body =
            serde_json::to_vec(&json!({ "streams": [{ "stream": stream, "values": values }] }))?;
        self.client
            .post("/loki/api/v1/push", "application/json", &body)?;
        self.lines += count;
        self.bytes += bytes as u64;
        self.progress.inc(bytes as u64);
        self.progress.set_message(format!("{} lines", self.lines));
        Ok(())
    }
}

fn send_lines(
    sender: &mut Sender,
    mut reader: impl BufRead,
    labels: &Labels,
    batch_lines: usize,
) -> Result<()> {
    let mut values = Vec::new();
    let mut batch_bytes = 0;
    let mut buf = Vec::new();
    let mut clock = Clock::default();
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&buf);
        let line = text.trim_end_matches(['\n', '\r']);
        if line.is_empty() {
            batch_bytes += n;
            continue;
        }
        // A stack trace's lines join the entry they belong to.
        let last_is_text = values
            .last()
            .and_then(Value::as_array)
            .is_some_and(|v| v.len() == 2);
        if last_is_text && is_continuation(line) {
            if let Some(Value::String(prev)) = values.last_mut().and_then(|v| v.get_mut(1)) {
                prev.push('\n');
                prev.push_str(line);
                batch_bytes += n;
                continue;
            }
        }
        values.push(to_value(line, &mut clock));
        batch_bytes += n;
        if values.len() >= batch_lines.max(1) || batch_bytes >= BATCH_BYTES {
            sender.push(labels, std::mem::take(&mut values), batch_bytes)?;
            batch_bytes = 0;
        }
    }
    sender.push(labels, values, batch_bytes)
}

/// Gives lines without a time of their own increasing times, so their order
/// survives.
#[derive(Default)]
struct Clock {
    last: i64,
}

impl Clock {
    fn next(&mut self) -> i64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
        self.last = now.max(self.last + 1);
        self.last
    }
}

/// A line as a Loki push value: `[ts, line]` or `[ts, line, {fields}]`.
fn to_value(line: &str, clock: &mut Clock) -> Value {
    let object = line
        .trim_start()
        .starts_with('{')
        .then(|| serde_json::from_str::<Map<String, Value>>(line).ok())
        .flatten();
    let Some(object) = object else {
        // A text line keeps the time in its header, if it has one.
        let ts = find_timestamp(line, chrono::Utc::now()).map_or_else(|| clock.next(), |t| t.ns);
        return json!([ts.to_string(), line]);
    };
    let entry = doc_to_entry(&object, line, DocRules::default(), clock.next());
    let fields: Map<String, Value> = entry
        .fields
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    json!([entry.ts.to_string(), entry.line, fields])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_keep_fields_and_time() {
        let mut clock = Clock::default();
        let v = to_value(
            r#"{"ts":"2023-11-14T22:13:20Z","level":"info","http.status":200}"#,
            &mut clock,
        );
        assert_eq!(v[0], "1700000000000000000");
        assert_eq!(v[2]["level"], "info");
        assert_eq!(v[2]["http_status"], "200");
        let v = to_value("plain text {not json", &mut clock);
        assert_eq!(v.as_array().map(Vec::len), Some(2));
    }
}
