#!/usr/bin/env bash
# Install everything the tests need and run every test. Needs only Node and npm;
# as root it installs redis-server, nginx, wrk, chromium (the admin status
# page test), dnsmasq (the DNS discovery tests), curl and openssl (the TLS
# tests make their certificates and try curl --http2) from apt when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-bun.sh
missing=()
for tool in redis-server nginx wrk chromium dnsmasq curl openssl; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "installing ${missing[*]} from apt" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  else
    echo "warning: ${missing[*]} missing and not root; tests that need them will fail" >&2
  fi
fi
bun install --frozen-lockfile
bun run build
# Bun runs TypeScript without checking it; tsc does.
bun run typecheck
log="$(mktemp)"
set +e
bun test --timeout 30000 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
pass=$(grep -Eo '^ *[0-9]+ pass' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
fail=$(grep -Eo '^ *[0-9]+ fail' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
rm -f "$log"
echo "${pass} passed, ${fail} failed"
exit "$status"
