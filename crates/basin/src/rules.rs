//! `basin rules check FILE...`: validates rule files offline, as the ruler
//! would when loading them (LogQL parses, templates render).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use basin_rules::group::parse_file;
use clap::{Args, Subcommand};

/// Flags of `basin rules`.
#[derive(Args, Debug)]
pub struct RulesArgs {
    #[command(subcommand)]
    command: RulesCommand,
}

#[derive(Subcommand, Debug)]
enum RulesCommand {
    /// Check rule files (`groups:` YAML, as in the rules directory).
    Check {
        /// Rule files to check
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub fn run(args: RulesArgs) -> Result<()> {
    let RulesCommand::Check { files } = args.command;
    let mut failed = 0;
    for path in &files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        match parse_file(&text) {
            Ok(file) => {
                let rules: usize = file.groups.iter().map(|g| g.rules.len()).sum();
                println!(
                    "{}: {} groups, {rules} rules: ok",
                    path.display(),
                    file.groups.len()
                );
            }
            Err(e) => {
                failed += 1;
                eprintln!("{}: {e}", path.display());
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} rule files are invalid", files.len());
    }
    Ok(())
}
