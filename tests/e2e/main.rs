//! End-to-end tests: each starts the real `basin` binary on a free loopback
//! port with a temporary data directory and talks to it over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod budgets;
mod capture;
mod common;

mod crash;
mod deletes;
mod drilldown;
mod elasticsearch;
mod full_disk;
mod handoff;
mod hardening;
mod import;
mod kill_loop;
mod levels;
mod limits;
mod lines;
mod needle;
mod object_storage;
mod otlp;
mod parquet_files;
mod patterns;
mod pipeline;
mod prometheus;
mod push;
mod queue;
mod read_api;
mod retention;
mod rules;
mod syslog;
mod tail;
mod tenants;
mod tls;
mod ui;
