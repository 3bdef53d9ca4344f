//! `GET /metrics`: Basin's own counters in Prometheus' text format.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::response::IntoResponse;
use basin_auth::Grant;

use crate::auth::grant_of;
use crate::AppState;

/// The ingest counters (lines and bytes by protocol and tenant), log
/// metrics, the ruler's, and auth's. With auth on, series of tenants the
/// token does not cover are left out.
pub async fn metrics(State(state): State<Arc<AppState>>, request: Request) -> impl IntoResponse {
    let mut text = String::new();
    state.counters.render(&mut text);
    state.protocols.log_metrics.render(&mut text);
    if let Some(ruler) = state.ruler() {
        ruler.stats().render(&mut text);
        basin_rules::exposition::recorded(ruler, &mut text);
    }
    if let Ok(storage) = state.storage() {
        let _ = write!(
            text,
            "# HELP basin_parts_quarantined_total Damaged parts moved to quarantine/ when the store opened.\n\
             # TYPE basin_parts_quarantined_total counter\n\
             basin_parts_quarantined_total {}\n",
            storage.quarantined_parts()
        );
        if let Some(remote) = storage.remote_stats() {
            text.push_str(&remote.exposition());
        }
    }
    if let Some(queue) = state.queue_stats() {
        queue.render(&mut text);
    }
    if let Some(peers) = state.peers() {
        peers.render(&mut text);
    }
    if let Some(compaction) = state.compaction_stats() {
        compaction.render(&mut text);
    }
    if let Some(auth) = state.auth() {
        let _ = write!(
            text,
            "# HELP basin_auth_failures_total Requests refused for a missing, unknown or revoked token.\n\
             # TYPE basin_auth_failures_total counter\n\
             basin_auth_failures_total {}\n\
             # HELP basin_auth_rate_limited_total Requests refused because their address failed too often.\n\
             # TYPE basin_auth_rate_limited_total counter\n\
             basin_auth_rate_limited_total {}\n",
            auth.failures.total(),
            auth.failures.refused()
        );
    }
    if let Some(grant) = grant_of(request.extensions()) {
        if !grant.covers_all() {
            text = only_tenants_of(&text, &grant);
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// The exposition without samples labelled with a tenant `grant` lacks.
fn only_tenants_of(text: &str, grant: &Grant) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let foreign = !line.starts_with('#')
            && tenant_label(line).is_some_and(|tenant| !grant.covers(&tenant));
        if !foreign {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The value of a sample line's `tenant` label, unescaped.
fn tenant_label(line: &str) -> Option<String> {
    let labels = &line[line.find('{')? + 1..];
    let start = labels
        .match_indices("tenant=\"")
        .find(|(i, _)| *i == 0 || matches!(labels.as_bytes()[i - 1], b',' | b' ' | b'{'))?
        .0
        + "tenant=\"".len();
    let mut value = String::new();
    let mut chars = labels[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => value.push(chars.next()?),
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use basin_auth::Scope;

    #[test]
    fn series_of_other_tenants_are_left_out() {
        let text = "# TYPE x counter\n\
                    x{protocol=\"loki\",tenant=\"a\"} 1\n\
                    x{protocol=\"loki\",tenant=\"b\"} 2\n\
                    x{protocol=\"loki\",subtenant=\"b\",tenant=\"a\"} 3\n\
                    y 4\n";
        let grant = Grant {
            id: "t".into(),
            scopes: vec![Scope::Read],
            tenants: vec!["a".into()],
        };
        let out = only_tenants_of(text, &grant);
        assert!(out.contains("tenant=\"a\"} 1"));
        assert!(!out.contains("} 2"));
        assert!(out.contains("} 3") && out.contains("y 4") && out.contains("# TYPE"));
        assert_eq!(
            tenant_label("x{tenant=\"a\\\"b\"} 1").as_deref(),
            Some("a\"b")
        );
    }
}
