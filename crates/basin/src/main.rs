//! `basin`: the one binary. Parses the command line and hands over to `serve`
//! (the server with embedded storage) or to a client command (`import`).

mod client;
mod compactor;
mod config;
mod import;
mod listen;
mod patterns;
mod query;
mod roles;
mod rules;
mod serve;
mod tail;
mod token;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// jemalloc instead of glibc's allocator: the server allocates and frees
/// millions of small lines a second, from many threads (lines allocated by
/// request threads are freed by the flush thread). Measured with
/// `bench/run --lines 3000000`: 40% more lines per CPU-second and a lower
/// peak RSS than glibc; mimalloc gave 13% more lines but a 10% higher RSS.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Self-hosted log monitoring: collect, store, search and watch logs.
#[derive(Parser)]
#[command(name = "basin", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server with its embedded storage.
    Serve(serve::ServeArgs),
    /// Send log files (or stdin, `-`) to a server.
    Import(import::ImportArgs),
    /// Run a LogQL query against a server.
    Query(query::QueryArgs),
    /// Follow a LogQL query live.
    Tail(tail::TailArgs),
    /// Mine the patterns (templates) of a file's or stdin's lines, offline.
    Patterns(patterns::PatternsArgs),
    /// Work with rule files (`check` validates them offline).
    Rules(rules::RulesArgs),
    /// Manage API tokens in a data directory (create, list, revoke).
    Token(token::TokenArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Two rustls crypto providers are linked (ring for our TLS, aws-lc-rs
    // through the S3 client); naming one keeps clients that ask rustls for
    // "the default" from failing.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Import(args) => import::run(args),
        Command::Query(args) => query::run(args),
        Command::Tail(args) => tail::run(args),
        Command::Patterns(args) => patterns::run(args),
        Command::Rules(args) => rules::run(args),
        Command::Token(args) => token::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The default data directory, relative to where the server starts.
pub(crate) fn default_data_dir() -> PathBuf {
    PathBuf::from("./basin-data")
}
