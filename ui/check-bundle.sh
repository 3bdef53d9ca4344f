#!/usr/bin/env bash
# Rebuilds the UI from source with the locked dependencies and fails if the
# result differs from the bundle committed under ui/dist (which the binary
# embeds, so `cargo build` needs no Node).
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT
npx tsc --noEmit
npx vite build --logLevel warn --outDir "$fresh" --emptyOutDir
if ! diff -r "$fresh" dist; then
    echo "ui/dist is not what ui/ builds: run 'npm run build' in ui/ and commit ui/dist" >&2
    exit 1
fi
echo "ui/dist matches a clean build"
