# Sourced by start.sh and test.sh: puts Bun 1.4.5 on PATH, installing it from
# the npm registry into .tools/ when the machine has none (only Node and npm needed).
BUN_VERSION=1.4.5
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v bun >/dev/null 2>&1 || [ "$(bun --version 2>/dev/null)" != "$BUN_VERSION" ]; then
  if [ ! -x "$ROOT/.tools/node_modules/.bin/bun" ] || [ "$("$ROOT/.tools/node_modules/.bin/bun" --version 2>/dev/null)" != "$BUN_VERSION" ]; then
    echo "installing bun $BUN_VERSION from npm into .tools/" >&2
    npm install --silent --no-audit --no-fund --prefix "$ROOT/.tools" "bun@$BUN_VERSION" >&2
  fi
  export PATH="$ROOT/.tools/node_modules/.bin:$PATH"
fi
bun --version >/dev/null || { echo "bun is not available" >&2; exit 1; }
