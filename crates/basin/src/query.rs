//! `basin query`: runs LogQL against a server and prints the answer as text,
//! JSON or JSON lines.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use serde_json::{json, Value};

use crate::client::Client;

/// How to print the answer.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Output {
    /// One line per entry or sample, with time and labels.
    Text,
    /// The server's `data` object as JSON.
    Json,
    /// One JSON object per entry or sample.
    Jsonl,
}

/// Flags of `basin query`.
#[derive(Args, Debug)]
pub struct QueryArgs {
    /// Server to ask.
    #[arg(long, default_value = "http://127.0.0.1:3100")]
    server: String,
    /// Tenant (sent as X-Scope-OrgID).
    #[arg(long)]
    tenant: Option<String>,
    /// API token, when the server requires one (sent as a Bearer token).
    #[arg(long, env = "BASIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// How far back to look, e.g. 15m, 6h (ignored with --from).
    #[arg(long, default_value = "1h")]
    since: String,
    /// Start: RFC 3339 or Unix seconds/nanoseconds.
    #[arg(long)]
    from: Option<String>,
    /// End: RFC 3339 or Unix seconds/nanoseconds [default: now].
    #[arg(long)]
    to: Option<String>,
    /// Most lines for log queries.
    #[arg(long, default_value_t = 100)]
    limit: usize,
    /// Oldest lines first (default: newest first).
    #[arg(long)]
    forward: bool,
    /// Step of metric queries, e.g. 1m [default: the server's].
    #[arg(long)]
    step: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// The LogQL query.
    query: String,
}

pub fn run(args: QueryArgs) -> Result<()> {
    let client = Client::new(&args.server, args.tenant.clone(), args.token.clone());
    let limit = args.limit.to_string();
    let mut params: Vec<(&str, &str)> = vec![
        ("query", args.query.as_str()),
        ("limit", limit.as_str()),
        (
            "direction",
            if args.forward { "forward" } else { "backward" },
        ),
    ];
    match &args.from {
        Some(from) => params.push(("start", from)),
        None => params.push(("since", &args.since)),
    }
    if let Some(to) = &args.to {
        params.push(("end", to));
    }
    if let Some(step) = &args.step {
        params.push(("step", step));
    }
    let body = client.get_json("/loki/api/v1/query_range", &params)?;
    let data = &body["data"];
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(data)?),
        Output::Text | Output::Jsonl => print_records(data, args.output, args.forward)?,
    }
    Ok(())
}

/// Labels as `{a="b", ...}`.
pub(crate) fn labels_text(labels: &Value) -> String {
    let Some(map) = labels.as_object() else {
        return "{}".into();
    };
    let pairs: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{k}={}", quote_value(v.as_str().unwrap_or(""))))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

fn quote_value(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// A timestamp as RFC 3339 with nanoseconds.
pub(crate) fn rfc3339(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

fn print_records(data: &Value, output: Output, forward: bool) -> Result<()> {
    let result = data["result"].as_array().context("answer has no result")?;
    match data["resultType"].as_str() {
        Some("streams") => {
            let mut rows: Vec<(i64, &Value, &str)> = Vec::new();
            for stream in result {
                for v in stream["values"].as_array().into_iter().flatten() {
                    let ts: i64 = v[0].as_str().and_then(|t| t.parse().ok()).unwrap_or(0);
                    rows.push((ts, &stream["stream"], v[1].as_str().unwrap_or("")));
                }
            }
            rows.sort_by_key(|r| r.0);
            if !forward {
                rows.reverse();
            }
            for (ts, labels, line) in rows {
                match output {
                    Output::Jsonl => println!(
                        "{}",
                        json!({ "timestamp": rfc3339(ts), "labels": labels, "line": line })
                    ),
                    _ => println!("{} {} {}", rfc3339(ts), labels_text(labels), line),
                }
            }
        }
        Some("matrix") => {
            for series in result {
                if matches!(output, Output::Text) {
                    println!("{}", labels_text(&series["metric"]));
                }
                for v in series["values"].as_array().into_iter().flatten() {
                    let secs = v[0].as_f64().unwrap_or(0.0);
                    let ts = rfc3339((secs * 1e9) as i64);
                    let value = v[1].as_str().unwrap_or("");
                    match output {
                        Output::Jsonl => println!(
                            "{}",
                            json!({ "metric": series["metric"], "timestamp": ts, "value": value })
                        ),
                        _ => println!("  {ts} {value}"),
                    }
                }
            }
        }
        other => bail!("unexpected result type {other:?}"),
    }
    Ok(())
}
