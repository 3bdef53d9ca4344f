#!/usr/bin/env bash
# Runs Basin's whole test suite on a fresh machine: installs what the tests
# need (Python clients from tests/e2e/clients/requirements.txt; rsyslog and
# logger; Prometheus and Alertmanager; nats-server; Node and Grafana's LogQL grammar;
# the UI's npm packages and Debian's chromium),
# then unit, golden and end-to-end tests, and a short run of each fuzz
# target. --all-targets also builds the criterion benchmarks and runs each
# once in test mode, so they are checked without a release build.
set -euo pipefail
cd "$(dirname "$0")/.."

# Python clients: pyarrow (the independent Parquet reader) and the real
# shipper libraries of the ingest tests.
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    -r tests/e2e/clients/requirements.txt

# Syslog peers: rsyslog (forwarding test) and util-linux's logger.
if ! command -v rsyslogd >/dev/null || ! command -v logger >/dev/null; then
    apt-get update -qq && apt-get install -y -qq rsyslog bsdutils
fi

# TLS peers: curl and openssl's s_client (HTTPS and syslog over TLS).
if ! command -v curl >/dev/null || ! command -v openssl >/dev/null; then
    apt-get update -qq && apt-get install -y -qq curl openssl
fi

# Alerting peers: Prometheus 2.42 (scrapes /metrics, receives remote
# write) and Alertmanager 0.25 (receives alerts).
if ! command -v prometheus >/dev/null || ! command -v prometheus-alertmanager >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        prometheus prometheus-alertmanager
fi

# Queue peer: NATS with JetStream (ingest and indexer nodes).
if ! command -v nats-server >/dev/null; then
    apt-get update -qq && apt-get install -y -qq nats-server
fi

# Grafana's LogQL grammar, for the grammar conformance test.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt-get update -qq && apt-get install -y -qq nodejs npm
fi
npm ci --prefix tests/grammar --no-audit --no-fund --loglevel=error

# The web UI: the committed bundle must be what ui/ builds, and the browser
# tests drive Debian's chromium with playwright-core (no browser download).
ui/check-bundle.sh
# fonts-nanum: Korean glyphs for the screenshots of the Korean UI.
if ! command -v chromium >/dev/null || ! fc-list | grep -qi nanum; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-nanum
fi
npm ci --prefix tests/ui --no-audit --no-fund --loglevel=error

cargo test --workspace --all-targets

# A short run of every fuzz target (nightly toolchain, cargo-fuzz), seeded
# from fuzz/corpus/: a crash found since the last change fails the suite.
fuzz/run 10
