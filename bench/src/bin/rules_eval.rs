//! What rule evaluation costs: opens a data directory a server wrote (the
//! benchmark corpus, ingested by `bench/rules-eval`), loads 100 rules (20
//! services × 5 kinds, alerting and recording, windows of 5 minutes to 1
//! hour) into the real ruler, and evaluates them at evenly spread times
//! inside the corpus' day, as the ruler's evaluator would at those times.
//! Reports wall and process CPU time per round of 100 rules.
//!
//! `rules-eval --data DIR --lines N [--rounds 10] [--out FILE.json]`

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use basin_api::rule_querier::StorageQuerier;
use basin_api::{ApiLimits, AppState, Protocols};
use basin_bench::corpus::BASE_TS;
use basin_model::TenantId;
use basin_rules::config::{RulerConfig, RulerFileConfig};
use basin_rules::group::parse_group;
use basin_rules::ruler::{Health, Ruler};
use basin_storage::{Storage, StorageConfig};
use clap::Parser;
use serde_json::json;

/// Evaluate 100 rules over a data directory.
#[derive(Parser)]
struct Args {
    /// Data directory written by `basin serve`.
    #[arg(long)]
    data: PathBuf,
    /// Lines the directory holds (for the report).
    #[arg(long)]
    lines: u64,
    /// Evaluation rounds, spread over the corpus' day.
    #[arg(long, default_value_t = 10)]
    rounds: u32,
    /// Where to write the JSON summary.
    #[arg(long)]
    out: Option<PathBuf>,
}

const SERVICES: [&str; 20] = [
    "api",
    "auth",
    "billing",
    "cart",
    "checkout",
    "orders",
    "payments",
    "users",
    "gateway",
    "web",
    "catalog",
    "inventory",
    "search",
    "recommend",
    "shipping",
    "storage",
    "notify",
    "email",
    "profile",
    "worker",
];

/// Five rules per service: an error-count alert, a rate, the top pods over
/// an hour, an error ratio over an hour, and a regex alert.
fn rules_for(service: &str) -> String {
    format!(
        "  - alert: {service}_errors
    expr: sum by (env) (count_over_time({{service=\"{service}\"}} |= \"error\" [5m])) > 0
    for: 5m
    labels: {{severity: warn}}
    annotations: {{summary: '{{{{ $value }}}} errors in {{{{ $labels.env }}}}'}}
  - record: {service}:lines:rate5m
    expr: sum(rate({{service=\"{service}\"}}[5m]))
  - record: {service}:top_pods:1h
    expr: topk(3, sum by (pod) (count_over_time({{service=\"{service}\"}}[1h])))
  - record: {service}:error_ratio:1h
    expr: sum(count_over_time({{service=\"{service}\"}} |= \"error\" [1h])) / sum(count_over_time({{service=\"{service}\"}}[1h]))
  - alert: {service}_timeouts
    expr: sum(count_over_time({{service=\"{service}\"}} |~ \"timeout|refused\" [15m])) > 3
"
    )
}

/// Process CPU seconds so far (user + system, all threads).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn main() -> Result<()> {
    let args = Args::parse();
    let storage = Arc::new(
        Storage::open(StorageConfig::new(&args.data))
            .with_context(|| format!("cannot open {}", args.data.display()))?,
    );
    let state = Arc::new(AppState::new(ApiLimits::default(), Protocols::default()));
    state.set_storage(storage.clone());
    let work = std::env::temp_dir().join(format!("basin-rules-eval-{}", std::process::id()));
    let config = RulerConfig::resolve(&RulerFileConfig::default(), &work, "127.0.0.1:3100")?;
    let ruler = Ruler::new(
        config,
        Arc::new(StorageQuerier::new(&state, storage.clone())),
        Arc::default(),
    );
    let tenant = TenantId::default_tenant();
    for (g, chunk) in SERVICES.chunks(2).enumerate() {
        let text = format!(
            "name: group{g}\ninterval: 1m\nrules:\n{}",
            chunk.iter().map(|s| rules_for(s)).collect::<String>()
        );
        let group = parse_group(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
        ruler.store().set_group(&tenant, "bench", group)?;
    }
    let day = 86_400_000_000_000i64;
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    let mut series = 0usize;
    for round in 1..=args.rounds {
        let at = BASE_TS + day * i64::from(round) / (i64::from(args.rounds) + 1);
        let (cpu0, wall0) = (cpu_seconds(), Instant::now());
        ruler.tick(at);
        walls.push(wall0.elapsed().as_secs_f64());
        cpus.push(cpu_seconds() - cpu0);
        let groups = ruler.groups(&tenant);
        let rules: Vec<_> = groups.iter().flat_map(|(_, g)| g.rules.iter()).collect();
        if rules.len() != 100 {
            bail!("{} rules loaded, not 100", rules.len());
        }
        if let Some(bad) = rules.iter().find(|r| r.health != Health::Ok) {
            bail!("rule {} failed: {}", bad.def.name(), bad.last_error);
        }
        if rules.iter().any(|r| {
            r.last_evaluation
                .is_none_or(|t| t > at || at - t > 60_000_000_000)
        }) {
            bail!("a rule was not evaluated in round {round}");
        }
        series = ruler.recorded().iter().map(|(_, s)| s.len()).sum();
    }
    let _ = std::fs::remove_dir_all(&work);
    if series == 0 {
        bail!(
            "the recording rules found no data: is the corpus in {}?",
            args.data.display()
        );
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (wall, cpu) = (median(&mut walls), median(&mut cpus));
    let summary = json!({
        "command": format!("bench/rules-eval --lines {}", args.lines),
        "lines": args.lines,
        "rules": 100,
        "rounds": args.rounds,
        "recorded_series_last_round": series,
        "median_round_wall_seconds": wall,
        "median_round_cpu_seconds": cpu,
        "wall_ms_per_rule": wall * 1000.0 / 100.0,
        "cpu_ms_per_rule": cpu * 1000.0 / 100.0,
        "round_wall_seconds": walls,
    });
    if let Some(out) = &args.out {
        std::fs::write(out, serde_json::to_string_pretty(&summary)?)?;
    }
    println!("| figure | value |\n|---|---|");
    println!("| command | `bench/rules-eval --lines {}` |", args.lines);
    println!("| rules | 100 (40 alerting, 60 recording; 20 services x 5) |");
    println!(
        "| rounds | {} (each evaluates all 100 rules at one time in the corpus' day) |",
        args.rounds
    );
    println!(
        "| median round | {:.1} ms wall, {:.1} ms CPU |",
        wall * 1000.0,
        cpu * 1000.0
    );
    println!(
        "| per rule | {:.2} ms wall, {:.2} ms CPU |",
        wall * 10.0,
        cpu * 10.0
    );
    println!("| series recorded (last round) | {series} |");
    Ok(())
}
