//! The benchmark corpus: about 1,000 streams (services × environments ×
//! pods), each writing one realistic format, with a realistic level mix and a
//! few planted needles. Record `i` depends only on the seed and `i`'s
//! predecessors, so a seed always gives the same corpus.

use std::fmt::Write as _;

use crate::rng::Rng;

/// How a stream's lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Nested JSON application logs.
    Json,
    /// nginx combined access log.
    Nginx,
    /// logfmt.
    Logfmt,
    /// RFC 3164 syslog.
    Syslog,
    /// Java/Logback, errors with multi-line stack traces.
    Java,
}

/// A stream of the corpus.
#[derive(Debug, Clone)]
pub struct Stream {
    /// Loki label text, e.g. `{env="prod", pod="api-7", service="api"}`.
    pub labels: String,
    /// Service name.
    pub service: &'static str,
    /// Line format.
    pub format: Format,
    /// Relative traffic weight.
    pub weight: u64,
}

/// A planted needle: a unique token in one known line.
#[derive(Debug, Clone)]
pub struct Needle {
    /// Record index.
    pub index: u64,
    /// The token.
    pub token: String,
}

/// One generated line.
#[derive(Debug, Clone)]
pub struct Record {
    /// Index of its stream.
    pub stream: usize,
    /// Nanoseconds since the epoch.
    pub ts: i64,
    /// The line (Java errors span several physical lines).
    pub line: String,
}

const SERVICES: [(&str, Format); 20] = [
    ("api", Format::Json),
    ("auth", Format::Json),
    ("billing", Format::Json),
    ("cart", Format::Json),
    ("checkout", Format::Json),
    ("orders", Format::Json),
    ("payments", Format::Json),
    ("users", Format::Json),
    ("gateway", Format::Nginx),
    ("web", Format::Nginx),
    ("catalog", Format::Logfmt),
    ("inventory", Format::Logfmt),
    ("search", Format::Logfmt),
    ("recommend", Format::Logfmt),
    ("shipping", Format::Logfmt),
    ("storage", Format::Syslog),
    ("notify", Format::Syslog),
    ("email", Format::Java),
    ("profile", Format::Java),
    ("worker", Format::Java),
];
const ENVS: [(&str, u64); 3] = [("prod", 8), ("staging", 3), ("dev", 1)];
const PODS: u64 = 17;
const RESOURCES: [&str; 8] = [
    "orders", "users", "carts", "products", "payments", "sessions", "invoices", "items",
];
const METHODS: [&str; 5] = ["GET", "GET", "GET", "POST", "PUT"];
const MESSAGES: [&str; 8] = [
    "request completed",
    "cache miss",
    "db query finished",
    "token refreshed",
    "retrying upstream call",
    "payment authorized",
    "session created",
    "message enqueued",
];
const ERRORS: [&str; 5] = [
    "upstream connection refused",
    "deadline exceeded calling inventory",
    "database connection pool exhausted",
    "invalid state transition",
    "timeout waiting for lock",
];
const AGENTS: [&str; 4] = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "curl/8.5.0",
    "okhttp/4.12.0",
];
/// 2026-01-01T00:00:00Z: the corpus spans one day from here.
pub const BASE_TS: i64 = 1_767_225_600_000_000_000;
const DAY_NS: i64 = 86_400_000_000_000;
/// Needles planted per corpus.
pub const NEEDLES: u64 = 5;

/// Where [`NEEDLES`] unique tokens go in a corpus of `lines` records: spread
/// evenly, each a random hex token.
pub fn plant_needles(rng: &mut Rng, lines: u64) -> Vec<Needle> {
    (1..=NEEDLES)
        .map(|k| Needle {
            index: lines * k / (NEEDLES + 1),
            token: format!("needle{:016x}", rng.next_u64()),
        })
        .collect()
}

/// The corpus generator.
pub struct Corpus {
    /// The streams, indexed by `Record::stream`.
    pub streams: Vec<Stream>,
    cumulative: Vec<u64>,
    rng: Rng,
    lines: u64,
    needles: Vec<Needle>,
}

impl Corpus {
    /// A corpus of `lines` records from `seed`.
    pub fn new(seed: u64, lines: u64) -> Self {
        let mut streams = Vec::new();
        for (service, format) in SERVICES {
            for (env, weight) in ENVS {
                for pod in 0..PODS {
                    streams.push(Stream {
                        labels: format!(
                            r#"{{env="{env}", pod="{service}-{pod}", service="{service}"}}"#
                        ),
                        service,
                        format,
                        weight: weight * (1 + pod % 3),
                    });
                }
            }
        }
        let mut total = 0;
        let cumulative = streams
            .iter()
            .map(|s| {
                total += s.weight;
                total
            })
            .collect();
        let mut rng = Rng::new(seed);
        let needles = plant_needles(&mut rng, lines);
        Self {
            streams,
            cumulative,
            rng,
            lines,
            needles,
        }
    }

    /// The planted needles.
    pub fn needles(&self) -> &[Needle] {
        &self.needles
    }

    /// All its records as entries, grouped by stream (in stream order),
    /// each with the stream's label text: what the micro-benchmarks feed.
    pub fn entries_by_stream(&mut self) -> Vec<(String, Vec<basin_model::Entry>)> {
        let mut by_stream: Vec<Vec<basin_model::Entry>> = vec![Vec::new(); self.streams.len()];
        for i in 0..self.lines {
            let r = self.record(i);
            by_stream[r.stream].push(basin_model::Entry::new(r.ts, r.line));
        }
        self.streams
            .iter()
            .zip(by_stream)
            .filter(|(_, entries)| !entries.is_empty())
            .map(|(s, entries)| (s.labels.clone(), entries))
            .collect()
    }

    /// Generates record `i`; call with 0, 1, 2, ... in order.
    pub fn record(&mut self, i: u64) -> Record {
        let total = *self.cumulative.last().unwrap_or(&1);
        let draw = self.rng.below(total);
        let stream = self.cumulative.partition_point(|&c| c <= draw);
        let ts = BASE_TS + (i as i128 * DAY_NS as i128 / self.lines.max(1) as i128) as i64;
        let needle = self
            .needles
            .iter()
            .find(|n| n.index == i)
            .map(|n| n.token.clone());
        let s = &self.streams[stream];
        let (format, service) = (s.format, s.service);
        let line = self.line(format, service, ts, needle.as_deref());
        Record { stream, ts, line }
    }

    fn level(&mut self) -> &'static str {
        match self.rng.below(100) {
            0..=84 => "info",
            85..=89 => "debug",
            90..=96 => "warn",
            _ => "error",
        }
    }

    fn line(&mut self, format: Format, service: &str, ts: i64, needle: Option<&str>) -> String {
        let level = self.level();
        let r = &mut self.rng;
        let status = match level {
            "error" => *r.pick(&[500, 502, 503]),
            "warn" => *r.pick(&[400, 401, 404, 429]),
            _ => *r.pick(&[200, 200, 200, 201, 204]),
        };
        let latency = match level {
            "error" => 500 + r.below(5000),
            _ => 1 + r.below(40) * r.below(8) + r.below(20),
        };
        let resource = *r.pick(&RESOURCES);
        let id = r.below(100_000);
        let user = r.below(50_000);
        let method = *r.pick(&METHODS);
        let trace = r.next_u64() as u128 | ((r.next_u64() as u128) << 64);
        let mut msg = if level == "error" {
            r.pick(&ERRORS).to_string()
        } else {
            r.pick(&MESSAGES).to_string()
        };
        if let Some(n) = needle {
            write!(msg, " {n}").ok();
        }
        let t = time_parts(ts);
        match format {
            Format::Json => format!(
                r#"{{"ts":"{}","level":"{level}","logger":"{service}.handler","msg":"{msg}","trace_id":"{trace:032x}","user_id":"u{user}","http":{{"method":"{method}","route":"/api/v1/{resource}/{{id}}","path":"/api/v1/{resource}/{id}","status":{status}}},"latency_ms":{latency},"bytes":{}}}"#,
                t.rfc3339,
                self.rng.below(20_000)
            ),
            Format::Nginx => {
                let ip = format!(
                    "10.{}.{}.{}",
                    self.rng.below(256),
                    self.rng.below(256),
                    self.rng.below(256)
                );
                let agent = *self.rng.pick(&AGENTS);
                let path = match needle {
                    Some(n) => format!("/api/v1/{resource}/{id}?q={n}"),
                    None => format!("/api/v1/{resource}/{id}"),
                };
                format!(
                    r#"{ip} - - [{}] "{method} {path} HTTP/1.1" {status} {} "-" "{agent}" {}.{:03}"#,
                    t.clf,
                    self.rng.below(20_000),
                    latency / 1000,
                    latency % 1000
                )
            }
            Format::Logfmt => format!(
                r#"ts={} level={level} msg="{msg}" route=/api/v1/{resource} status={status} duration={latency}ms user=u{user} trace_id={trace:032x}"#,
                t.rfc3339
            ),
            Format::Syslog => {
                let pri = match level {
                    "error" => 11,
                    "warn" => 12,
                    "debug" => 15,
                    _ => 14,
                };
                format!(
                    "<{pri}>{} host-{} {service}[{}]: {msg} user=u{user} took {latency}ms",
                    t.syslog,
                    self.rng.below(40),
                    1000 + self.rng.below(30_000)
                )
            }
            Format::Java => {
                let class = format!("com.example.{}.{}Service", service, capitalize(service));
                let thread = format!("http-nio-8080-exec-{}", self.rng.below(64));
                let mut line = format!(
                    "{} {:<5} [{thread}] {class} - {msg} (user=u{user}, took={latency}ms)",
                    t.java,
                    level.to_uppercase()
                );
                if level == "error" {
                    write!(line, "\njava.lang.IllegalStateException: {msg}").ok();
                    for depth in 0..(4 + self.rng.below(8)) {
                        write!(
                            line,
                            "\n\tat {class}.step{depth}({}Service.java:{})",
                            capitalize(service),
                            20 + self.rng.below(400)
                        )
                        .ok();
                    }
                }
                line
            }
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A time written the ways the formats write it.
struct TimeParts {
    rfc3339: String,
    clf: String,
    syslog: String,
    java: String,
}

fn time_parts(ts: i64) -> TimeParts {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = ts.div_euclid(1_000_000_000);
    let ms = ts.rem_euclid(1_000_000_000) / 1_000_000;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (h, m, s) = (sod / 3600, sod / 60 % 60, sod % 60);
    // Days since the epoch to a civil date (Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    let mon = MONTHS[(mo - 1) as usize];
    TimeParts {
        rfc3339: format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z"),
        clf: format!("{d:02}/{mon}/{y:04}:{h:02}:{m:02}:{s:02} +0000"),
        syslog: format!("{mon} {d:>2} {h:02}:{m:02}:{s:02}"),
        java: format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02}:{s:02},{ms:03}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_corpus_and_needles_planted() {
        let mut a = Corpus::new(42, 1000);
        let mut b = Corpus::new(42, 1000);
        let lines_a: Vec<String> = (0..1000).map(|i| a.record(i).line).collect();
        let lines_b: Vec<String> = (0..1000).map(|i| b.record(i).line).collect();
        assert_eq!(lines_a, lines_b);
        assert_eq!(a.streams.len(), 1020);
        for n in a.needles() {
            assert!(lines_a[n.index as usize].contains(&n.token), "{}", n.token);
            assert_eq!(lines_a.iter().filter(|l| l.contains(&n.token)).count(), 1);
        }
        assert_eq!(time_parts(BASE_TS).rfc3339, "2026-01-01T00:00:00.000Z");
        assert_eq!(time_parts(BASE_TS).clf, "01/Jan/2026:00:00:00 +0000");
    }
}
