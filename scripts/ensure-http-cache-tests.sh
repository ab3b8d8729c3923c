#!/usr/bin/env bash
# Installs the public HTTP caching test suite (npm `http-cache-tests`, pinned)
# that test/integration/http-cache-tests.test.ts runs against the gateway.
# Only Node and npm are needed. The package declares liquidjs (its browser
# page), npm@6 and node-fetch; its CLI and origin server import only
# node-fetch, so the pinned tarball is unpacked as is and node-fetch, pinned,
# is the one dependency installed next to it. Nothing is done when the pinned
# versions are already there.
#
#   .tools/http-cache-tests/http-cache-tests/   the suite (cli.mjs, server/, tests/)
#   .tools/http-cache-tests/node_modules/       node-fetch and its dependencies
#
# HTTP_CACHE_TESTS_DIR overrides the directory.
set -euo pipefail
VERSION=0.4.5
# The registry's dist.integrity of http-cache-tests-0.4.5.tgz: the bytes are checked, not just the version.
INTEGRITY="sha512-DjuwN9nUZXLTW+wav1LRESCZNVxl8SshwOy4z1pxuWbWt5/ay6sM9QQ1lebBaDO6P1IMBoK6mdf+PuVP/QNL8A=="
NODE_FETCH=2.7.0
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${HTTP_CACHE_TESTS_DIR:-$ROOT/.tools/http-cache-tests}"
PKG="$DIR/http-cache-tests"

installed() {
  node -e '
    const [pkg, dir, v, nf] = process.argv.slice(1);
    const read = (p) => { try { return JSON.parse(require("fs").readFileSync(p, "utf8")).version } catch { return null } };
    process.exit(read(pkg + "/package.json") === v && read(dir + "/node_modules/node-fetch/package.json") === nf ? 0 : 1);
  ' "$PKG" "$DIR" "$VERSION" "$NODE_FETCH"
}

if installed; then exit 0; fi
echo "installing http-cache-tests $VERSION (and node-fetch $NODE_FETCH) into $DIR" >&2
mkdir -p "$DIR"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent --no-audit --no-fund "http-cache-tests@$VERSION" >/dev/null)
tgz="$tmp/http-cache-tests-$VERSION.tgz"
got="sha512-$(node -e 'process.stdout.write(require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$tgz")"
if [ "$got" != "$INTEGRITY" ]; then
  echo "http-cache-tests-$VERSION.tgz: integrity $got, expected $INTEGRITY" >&2
  exit 1
fi
mkdir -p "$tmp/unpacked"
tar -xzf "$tgz" -C "$tmp/unpacked"
rm -rf "$PKG"
mv "$tmp/unpacked/package" "$PKG"
# A package.json of our own, so npm installs into $DIR and nothing of the suite's own dependency list.
printf '{ "private": true, "description": "test tools: see scripts/ensure-http-cache-tests.sh" }\n' >"$DIR/package.json"
npm install --silent --prefix "$DIR" --no-audit --no-fund --save-exact "node-fetch@$NODE_FETCH" >&2
installed || { echo "http-cache-tests install in $DIR is incomplete" >&2; exit 1; }
