//! Writes the benchmark corpus: `streams.txt` (label text per stream),
//! `corpus.tsv` (time, stream, escaped line: what the load driver sends),
//! `raw.log` (the lines as files would hold them: what the baselines read),
//! and `needles.json`.
//!
//! `cargo run --release -p basin-bench --bin gen-corpus -- --lines 1000000 --out DIR [--corpus loghub]`

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use basin_bench::corpus::{Corpus, Needle, Record};
use basin_bench::loghub::LoghubCorpus;
use clap::{Parser, ValueEnum};
use serde_json::json;

/// Generate the benchmark corpus.
#[derive(Parser)]
struct Args {
    /// Lines (records) to generate.
    #[arg(long, default_value_t = 10_000_000)]
    lines: u64,
    /// Random seed; the same seed gives the same corpus.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// `default`: generated services in five formats; `loghub`: the loghub
    /// 2k samples' raw lines, numbers perturbed.
    #[arg(long, value_enum, default_value = "default")]
    corpus: Kind,
    /// Where the loghub samples are (for `--corpus loghub`).
    #[arg(long, default_value = "../shared/datasets/loghub-2k")]
    loghub_dir: PathBuf,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Kind {
    Default,
    Loghub,
}

/// Either generator, as the writer needs it.
enum Source {
    Default(Corpus),
    Loghub(LoghubCorpus),
}

impl Source {
    fn stream_labels(&self) -> Vec<String> {
        match self {
            Source::Default(c) => c.streams.iter().map(|s| s.labels.clone()).collect(),
            Source::Loghub(c) => c.streams.clone(),
        }
    }

    fn record(&mut self, i: u64) -> Record {
        match self {
            Source::Default(c) => c.record(i),
            Source::Loghub(c) => c.record(i),
        }
    }

    fn needles(&self) -> &[Needle] {
        match self {
            Source::Default(c) => c.needles(),
            Source::Loghub(c) => c.needles(),
        }
    }
}

/// Escapes a line for one TSV field: backslash, tab and newline.
fn escape(line: &str, out: &mut Vec<u8>) {
    for b in line.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b => out.push(b),
        }
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let create = |name: &str| -> Result<BufWriter<File>> {
        let path = args.out.join(name);
        Ok(BufWriter::with_capacity(
            1 << 20,
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?,
        ))
    };
    let mut corpus = match args.corpus {
        Kind::Default => Source::Default(Corpus::new(args.seed, args.lines)),
        Kind::Loghub => Source::Loghub(LoghubCorpus::new(&args.loghub_dir, args.seed, args.lines)?),
    };
    let labels = corpus.stream_labels();
    let mut streams = create("streams.txt")?;
    for l in &labels {
        writeln!(streams, "{l}")?;
    }
    streams.flush()?;
    let mut tsv = create("corpus.tsv")?;
    let mut raw = create("raw.log")?;
    let mut raw_bytes = 0u64;
    let mut buf = Vec::with_capacity(4096);
    let mut needles = Vec::new();
    for i in 0..args.lines {
        let r = corpus.record(i);
        buf.clear();
        write!(buf, "{}\t{}\t", r.ts, r.stream)?;
        escape(&r.line, &mut buf);
        buf.push(b'\n');
        tsv.write_all(&buf)?;
        raw.write_all(r.line.as_bytes())?;
        raw.write_all(b"\n")?;
        raw_bytes += r.line.len() as u64 + 1;
        if let Some(n) = corpus.needles().iter().find(|n| n.index == i) {
            needles.push(json!({
                "index": i,
                "token": n.token,
                "ts": r.ts,
                "stream": labels[r.stream],
            }));
        }
    }
    tsv.flush()?;
    raw.flush()?;
    std::fs::write(
        args.out.join("needles.json"),
        serde_json::to_string_pretty(&json!({
            "corpus": format!("{:?}", args.corpus).to_lowercase(),
            "lines": args.lines,
            "seed": args.seed,
            "raw_bytes": raw_bytes,
            "needles": needles,
        }))?,
    )?;
    println!(
        "{} lines, {} raw bytes, {} streams",
        args.lines,
        raw_bytes,
        labels.len()
    );
    Ok(())
}
