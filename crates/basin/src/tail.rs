//! `basin tail`: follows a LogQL query live over the server's WebSocket tail
//! endpoint and prints lines as they arrive, until interrupted.

use std::io::Write;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::Value;
use tungstenite::client::IntoClientRequest;
use tungstenite::Message;

/// Flags of `basin tail`.
#[derive(Args, Debug)]
pub struct TailArgs {
    /// Server to follow.
    #[arg(long, default_value = "http://127.0.0.1:3100")]
    server: String,
    /// Tenant (sent as X-Scope-OrgID).
    #[arg(long)]
    tenant: Option<String>,
    /// API token, when the server requires one (sent as a Bearer token).
    #[arg(long, env = "BASIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// History to print first, e.g. 10m (0s: only new lines).
    #[arg(long, default_value = "0s")]
    since: String,
    /// Most history lines.
    #[arg(long, default_value_t = 100)]
    limit: usize,
    /// The LogQL log query.
    query: String,
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn run(args: TailArgs) -> Result<()> {
    let since = humantime::parse_duration(&args.since)
        .with_context(|| format!("invalid --since {:?}", args.since))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let start = now.saturating_sub(since.as_nanos()).max(1);
    let base = args.server.trim_end_matches('/');
    let ws_base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        bail!("--server must start with http:// or https://");
    };
    let url = format!(
        "{ws_base}/loki/api/v1/tail?query={}&limit={}&start={start}",
        encode(&args.query),
        args.limit
    );
    let mut request = url.as_str().into_client_request()?;
    if let Some(t) = &args.tenant {
        request.headers_mut().insert("X-Scope-OrgID", t.parse()?);
    }
    if let Some(t) = &args.token {
        request
            .headers_mut()
            .insert("Authorization", format!("Bearer {t}").parse()?);
    }
    let (mut socket, _) = match tungstenite::connect(request) {
        Ok(ok) => ok,
        Err(tungstenite::Error::Http(resp)) => {
            let body = resp
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).trim().to_string())
                .unwrap_or_default();
            bail!("server answered {}: {body}", resp.status());
        }
        Err(e) => return Err(e).with_context(|| format!("cannot reach {base}")),
    };
    let stdout = std::io::stdout();
    loop {
        let msg = socket.read().context("tail connection lost")?;
        let text = match msg {
            Message::Text(t) => t.to_string(),
            Message::Close(_) => return Ok(()),
            _ => continue,
        };
        let body: Value =
            serde_json::from_str(&text).context("server sent something that is not JSON")?;
        let mut rows: Vec<(i64, String, String)> = Vec::new();
        for stream in body["streams"].as_array().into_iter().flatten() {
            let labels = crate::query::labels_text(&stream["stream"]);
            for v in stream["values"].as_array().into_iter().flatten() {
                let ts: i64 = v[0].as_str().and_then(|t| t.parse().ok()).unwrap_or(0);
                rows.push((ts, labels.clone(), v[1].as_str().unwrap_or("").to_string()));
            }
        }
        rows.sort_by_key(|r| r.0);
        let mut out = stdout.lock();
        for (ts, labels, line) in rows {
            writeln!(out, "{} {labels} {line}", crate::query::rfc3339(ts))?;
        }
        out.flush()?;
    }
}
