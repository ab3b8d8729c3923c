#!/usr/bin/env bash
# Install and start the gateway on the shipped config.toml, with the demo
# upstream it proxies to. Needs only Node and npm. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-bun.sh
bun install --frozen-lockfile
bun run build
bun src/demo/upstream.ts 127.0.0.1:3001 &
DEMO=$!
trap 'kill $DEMO 2>/dev/null || true' EXIT
echo "try: curl -i http://127.0.0.1:8080/api/hello" >&2
./gateway --config config.toml
