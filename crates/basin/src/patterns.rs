//! `basin patterns`: mines the templates of a file's (or stdin's) lines
//! offline, without a server.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use basin_pipeline::patterns::{mine_line, Miner, MinerConfig};
use clap::{Args, ValueEnum};
use serde_json::json;

/// Flags of `basin patterns`.
#[derive(Args, Debug)]
pub struct PatternsArgs {
    /// File to read, or `-` for stdin
    #[arg(default_value = "-")]
    file: PathBuf,
    /// `text`: patterns by count; `jsonl`: one object per input line, in
    /// order, with `pattern_id` and `pattern`
    #[arg(long, value_enum, default_value = "text")]
    output: Output,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Output {
    Text,
    Jsonl,
}

pub fn run(args: PatternsArgs) -> Result<()> {
    let reader: Box<dyn BufRead> = if args.file.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        let file = File::open(&args.file)
            .with_context(|| format!("cannot read {}", args.file.display()))?;
        Box::new(BufReader::new(file))
    };
    let mut miner = Miner::new(MinerConfig::default());
    // Ids per line, so each line can be printed with its final template.
    let mut ids = Vec::new();
    let mut buf = Vec::new();
    for line in reader.split(b'\n') {
        let bytes = line.context("cannot read input")?;
        let text = String::from_utf8_lossy(&bytes);
        ids.push(mine_line(&mut miner, text.trim_end_matches('\r'), &mut buf));
    }
    let mut out = BufWriter::new(io::stdout().lock());
    match args.output {
        Output::Jsonl => {
            for id in ids {
                let id = miner.resolve(id);
                let pattern = miner.template(id).map(|t| t.text()).unwrap_or_default();
                serde_json::to_writer(
                    &mut out,
                    &json!({"pattern_id": id.to_string(), "pattern": pattern}),
                )?;
                out.write_all(b"\n")?;
            }
        }
        Output::Text => {
            let mut templates: Vec<_> = miner.templates().collect();
            templates.sort_by(|a, b| b.count.cmp(&a.count).then(a.id.cmp(&b.id)));
            for t in templates {
                writeln!(out, "{:>9}  {}", t.count, t.text())?;
            }
        }
    }
    out.flush()?;
    Ok(())
}
