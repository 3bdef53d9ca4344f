//! `basin token create|list|revoke`: manages API tokens in the data
//! directory's database, offline or while the server runs (it sees changes
//! within a second).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use basin_auth::{Scope, TokenStore};
use clap::{Args, Subcommand};

/// Flags of `basin token`.
#[derive(Args, Debug)]
pub struct TokenArgs {
    /// The server's data directory [default: ./basin-data]
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Make a token and print it (it is shown only this once).
    Create {
        /// What it may do: push, read, rules, admin (repeat or comma-separate)
        #[arg(long = "scope", required = true, value_delimiter = ',')]
        scopes: Vec<String>,
        /// Tenants it acts for, the first by default; '*' for all
        #[arg(long = "tenant", required = true, value_delimiter = ',')]
        tenants: Vec<String>,
        /// What it is for (shown by `list`)
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id.
    Revoke {
        /// The id `list` shows
        id: String,
    },
}

pub fn run(args: TokenArgs) -> Result<()> {
    let dir = args.data_dir.unwrap_or_else(crate::default_data_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let store = TokenStore::open(&dir)
        .with_context(|| format!("cannot open the token database in {}", dir.display()))?;
    match args.command {
        TokenCommand::Create {
            scopes,
            tenants,
            name,
        } => {
            let scopes = scopes
                .iter()
                .map(|s| s.parse::<Scope>())
                .collect::<Result<Vec<_>, _>>()?;
            let (text, info) = store.create(&name, &scopes, &tenants)?;
            eprintln!(
                "token {} ({}) for tenants {}: keep it now, it is not shown again",
                info.id,
                scope_names(&info.scopes),
                info.tenants.join(",")
            );
            println!("{text}");
        }
        TokenCommand::List => {
            println!(
                "{:<14} {:<20} {:<24} {:<20} {:<20} STATE",
                "ID", "NAME", "SCOPES", "TENANTS", "CREATED"
            );
            for t in store.list()? {
                let created = chrono::DateTime::from_timestamp(t.created_at, 0)
                    .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default();
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "live"
                };
                println!(
                    "{:<14} {:<20} {:<24} {:<20} {:<20} {state}",
                    t.id,
                    t.name,
                    scope_names(&t.scopes),
                    t.tenants.join(","),
                    created
                );
            }
        }
        TokenCommand::Revoke { id } => {
            if !store.revoke(&id)? {
                bail!("no live token has id {id:?} (see `basin token list`)");
            }
            eprintln!("token {id} revoked");
        }
    }
    Ok(())
}

fn scope_names(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join(",")
}
