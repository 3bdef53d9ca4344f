//! Ingest counters by protocol and tenant, shown on `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// What one (protocol, tenant) has sent so far.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    lines_accepted: u64,
    bytes_accepted: u64,
    lines_rejected: u64,
    bytes_rejected: u64,
    lines_dropped: u64,
    requests_rejected: u64,
}

/// One counter series: name, help text (first of a name only), outcome label
/// and how to read it.
type Series = (&'static str, &'static str, &'static str, fn(&Counts) -> u64);

/// Lines and bytes accepted and rejected, by protocol and tenant.
#[derive(Debug, Default)]
pub struct IngestCounters {
    by_source: Mutex<BTreeMap<(&'static str, String), Counts>>,
}

impl IngestCounters {
    fn update(&self, protocol: &'static str, tenant: &str, change: impl FnOnce(&mut Counts)) {
        let mut map = self
            .by_source
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        change(map.entry((protocol, tenant.to_string())).or_default());
    }

    /// Counts lines stored (and lines refused one by one, where a protocol
    /// refuses single lines rather than whole requests).
    pub fn lines(
        &self,
        protocol: &'static str,
        tenant: &str,
        accepted: (u64, u64),
        rejected: (u64, u64),
    ) {
        self.update(protocol, tenant, |c| {
            c.lines_accepted += accepted.0;
            c.bytes_accepted += accepted.1;
            c.lines_rejected += rejected.0;
            c.bytes_rejected += rejected.1;
        });
    }

    /// Counts lines a user rule's `drop` or `sample` step removed (the
    /// request succeeded; they were never meant to be stored).
    pub fn dropped(&self, protocol: &'static str, tenant: &str, lines: u64) {
        if lines > 0 {
            self.update(protocol, tenant, |c| c.lines_dropped += lines);
        }
    }

    /// Counts a request refused whole; its lines are not known.
    pub fn request_rejected(&self, protocol: &'static str, tenant: &str, bytes: u64) {
        self.update(protocol, tenant, |c| {
            c.requests_rejected += 1;
            c.bytes_rejected += bytes;
        });
    }

    /// The counters in Prometheus' text format.
    pub fn render(&self, out: &mut String) {
        let map = self
            .by_source
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let series: [Series; 6] = [
            (
                "basin_ingest_lines_total",
                "Log lines received.",
                "accepted",
                |c| c.lines_accepted,
            ),
            ("basin_ingest_lines_total", "", "rejected", |c| {
                c.lines_rejected
            }),
            ("basin_ingest_lines_total", "", "dropped", |c| {
                c.lines_dropped
            }),
            (
                "basin_ingest_bytes_total",
                "Bytes of log lines (or of refused bodies) received.",
                "accepted",
                |c| c.bytes_accepted,
            ),
            ("basin_ingest_bytes_total", "", "rejected", |c| {
                c.bytes_rejected
            }),
            (
                "basin_ingest_requests_rejected_total",
                "Requests refused whole.",
                "",
                |c| c.requests_rejected,
            ),
        ];
        for (name, help, outcome, value) in series {
            if !help.is_empty() {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            }
            for ((protocol, tenant), counts) in map.iter() {
                let outcome = if outcome.is_empty() {
                    String::new()
                } else {
                    format!(",outcome=\"{outcome}\"")
                };
                let _ = writeln!(
                    out,
                    "{name}{{protocol=\"{protocol}\",tenant=\"{}\"{outcome}}} {}",
                    escape(tenant),
                    value(counts)
                );
            }
        }
    }
}

/// A label value escaped for the text format.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_by_protocol_and_tenant() {
        let counters = IngestCounters::default();
        counters.lines("otlp", "default", (3, 30), (1, 100));
        counters.lines("otlp", "default", (2, 20), (0, 0));
        counters.request_rejected("syslog", "a\"b", 7);
        counters.dropped("otlp", "default", 4);
        let mut text = String::new();
        counters.render(&mut text);
        assert!(text.contains(
            "basin_ingest_lines_total{protocol=\"otlp\",tenant=\"default\",outcome=\"accepted\"} 5"
        ));
        assert!(text.contains(
            "basin_ingest_bytes_total{protocol=\"otlp\",tenant=\"default\",outcome=\"rejected\"} 100"
        ));
        assert!(text.contains(
            "basin_ingest_lines_total{protocol=\"otlp\",tenant=\"default\",outcome=\"dropped\"} 4"
        ));
        assert!(text.contains(
            "basin_ingest_requests_rejected_total{protocol=\"syslog\",tenant=\"a\\\"b\"} 1"
        ));
        assert_eq!(text.matches("# TYPE basin_ingest_lines_total").count(), 1);
    }
}
