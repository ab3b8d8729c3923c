#!/usr/bin/env bash
# Install everything the tests need and run every test. Needs only Node and npm;
# as root it installs redis-server, nginx, wrk, chromium and tesseract-ocr (the
# admin status page test: a screenshot read back by OCR), dnsmasq (the DNS
# discovery tests) and prometheus (for promtool: Prometheus' own parser checks
# the /metrics text), curl and openssl (the TLS tests make their certificates
# and try curl --http2) from apt when missing, and
# the public HTTP caching test suite (npm http-cache-tests, pinned) into .tools/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-bun.sh
missing=()
# command:package
for pair in redis-server:redis-server nginx:nginx wrk:wrk chromium:chromium dnsmasq:dnsmasq tesseract:tesseract-ocr promtool:prometheus curl:curl openssl:openssl; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
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
bash scripts/ensure-http-cache-tests.sh
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
