//! The second benchmark corpus, from logs nobody wrote for Basin: the raw
//! lines of the loghub 2k samples in `../shared/datasets/loghub-2k`, one
//! service per dataset, streams per environment and host. Each record is a
//! sample line drawn at random, its header time rewritten to the record's
//! time in the sample's own layout (as a shipper's lines show the time they
//! are sent at) and half of its other numbers perturbed, so 2,000 lines do
//! not simply repeat: ids, ports, sizes and counts vary as they would, while
//! what the lines say stays real.

use std::path::Path;

use anyhow::{bail, Context, Result};
use basin_pipeline::timestamp::{find_timestamp, rewrite_header_time};
use chrono::{TimeZone, Utc};

use crate::corpus::{plant_needles, Needle, Record, BASE_TS};
use crate::rng::Rng;

const ENVS: [(&str, u64); 3] = [("prod", 8), ("staging", 3), ("dev", 1)];
/// Hosts per dataset and environment.
const HOSTS: u64 = 10;
const DAY_NS: i64 = 86_400_000_000_000;

/// A service: one dataset's raw lines.
struct Service {
    name: String,
    lines: Vec<String>,
}

/// The loghub corpus generator.
pub struct LoghubCorpus {
    /// Label text of each stream, indexed by `Record::stream`.
    pub streams: Vec<String>,
    /// Service (dataset) of each stream.
    service_of: Vec<usize>,
    cumulative: Vec<u64>,
    services: Vec<Service>,
    rng: Rng,
    lines: u64,
    needles: Vec<Needle>,
}

impl LoghubCorpus {
    /// A corpus of `lines` records from `seed`, over every dataset folder in
    /// `dir` (each holding `<Name>_2k.log`).
    pub fn new(dir: &Path, seed: u64, lines: u64) -> Result<Self> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let mut services = Vec::new();
        for name in names {
            let path = dir.join(&name).join(format!("{name}_2k.log"));
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let lines: Vec<String> = text.lines().map(str::to_string).collect();
            if !lines.is_empty() {
                services.push(Service {
                    name: name.to_lowercase(),
                    lines,
                });
            }
        }
        if services.is_empty() {
            bail!("no <Name>/<Name>_2k.log samples in {}", dir.display());
        }
        let (mut streams, mut service_of, mut cumulative) = (Vec::new(), Vec::new(), Vec::new());
        let mut total = 0;
        for (s, service) in services.iter().enumerate() {
            for (env, weight) in ENVS {
                for host in 0..HOSTS {
                    streams.push(format!(
                        r#"{{env="{env}", host="{}-{host}", service="{}"}}"#,
                        service.name, service.name
                    ));
                    service_of.push(s);
                    total += weight * (1 + host % 3);
                    cumulative.push(total);
                }
            }
        }
        let mut rng = Rng::new(seed);
        let needles = plant_needles(&mut rng, lines);
        Ok(Self {
            streams,
            service_of,
            cumulative,
            services,
            rng,
            lines,
            needles,
        })
    }

    /// The planted needles.
    pub fn needles(&self) -> &[Needle] {
        &self.needles
    }

    /// Generates record `i`; call with 0, 1, 2, ... in order.
    pub fn record(&mut self, i: u64) -> Record {
        let total = *self.cumulative.last().unwrap_or(&1);
        let draw = self.rng.below(total);
        let stream = self.cumulative.partition_point(|&c| c <= draw);
        let ts = BASE_TS + (i as i128 * DAY_NS as i128 / self.lines.max(1) as i128) as i64;
        let service = &self.services[self.service_of[stream]];
        let sample = &service.lines[self.rng.below(service.lines.len() as u64) as usize];
        let timed = rewrite_header_time(sample, ts);
        let mut line = perturb(timed.as_deref().unwrap_or(sample), &mut self.rng);
        if let Some(n) = self.needles.iter().find(|n| n.index == i) {
            line.push(' ');
            line.push_str(&n.token);
        }
        Record { stream, ts, line }
    }
}

/// `line` with half of its digit runs (outside its header time) replaced by
/// random digits of the same length; a run not starting with 0 still does not.
fn perturb(line: &str, rng: &mut Rng) -> String {
    // Any fixed `now` will do: only the time's position is used.
    let now = Utc.timestamp_opt(BASE_TS / 1_000_000_000, 0).unwrap();
    let header = find_timestamp(line, now).map_or(0..0, |t| t.start..t.end);
    let bytes = line.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || header.contains(&i) {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let end = bytes[i..]
            .iter()
            .position(|b| !b.is_ascii_digit())
            .map_or(bytes.len(), |p| i + p);
        if rng.chance(0.5) {
            out.extend_from_slice(&bytes[i..end]);
        } else {
            for k in i..end {
                let lowest = u64::from(k == i && bytes[i] != b'0' && end - i > 1);
                out.push(b'0' + (lowest + rng.below(10 - lowest)) as u8);
            }
        }
        i = end;
    }
    // Only ASCII digits were replaced by ASCII digits.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_vary_but_header_times_and_words_stay() {
        let mut rng = Rng::new(3);
        let line = "2015-10-18 18:01:47,978 INFO [main] Got 12345 blocks from 10.0.0.7:50010";
        let outs: Vec<String> = (0..50).map(|_| perturb(line, &mut rng)).collect();
        for out in &outs {
            assert!(
                out.starts_with("2015-10-18 18:01:47,978 INFO [main] Got "),
                "{out}"
            );
            assert_eq!(out.len(), line.len());
            assert!(out.ends_with(|c: char| c.is_ascii_digit()));
        }
        assert!(outs.iter().any(|o| !o.contains("12345")));
        assert!(outs.iter().any(|o| o.contains("12345")));
    }

    #[test]
    fn same_seed_same_corpus_over_the_shared_samples() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/datasets/loghub-2k");
        let mut a = LoghubCorpus::new(&dir, 7, 2000).unwrap();
        let mut b = LoghubCorpus::new(&dir, 7, 2000).unwrap();
        let la: Vec<Record> = (0..2000).map(|i| a.record(i)).collect();
        let lb: Vec<Record> = (0..2000).map(|i| b.record(i)).collect();
        assert!(la
            .iter()
            .zip(&lb)
            .all(|(x, y)| x.line == y.line && x.stream == y.stream));
        assert_eq!(a.streams.len(), 8 * 3 * HOSTS as usize);
        // Header times show the record's time.
        let first = la
            .iter()
            .find(|r| r.line.starts_with("20") && r.line.contains(','))
            .unwrap();
        assert!(first.line.starts_with("2026-01-01 00:"), "{}", first.line);
        for n in a.needles() {
            let holding = la.iter().filter(|r| r.line.contains(&n.token)).count();
            assert_eq!(holding, 1, "{}", n.token);
        }
        let services: std::collections::BTreeSet<usize> =
            la.iter().map(|r| a.service_of[r.stream]).collect();
        assert_eq!(services.len(), 8, "every dataset drawn");
    }
}
