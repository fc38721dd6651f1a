#!/usr/bin/env bash
# Packed-tarball smoke test: what a user gets from npm, tried in an empty project outside the repo.
# Packs every publishable workspace (package.json without "private": true), installs the tarballs
# into an empty project, then: `npx switchyard --version`, `init` + `run` (exit 0, reports written),
# `npx switchyard gateway` answering one curl with no keys,
# a plain .mjs consumer routing requests through the simulator via the router, faults, scenarios and
# reports entry points, and a .ts consumer type-checked by tsc under moduleResolution nodenext.
#
#   bash scripts/smoke-packed.sh [--keep]     (--keep leaves the temporary folder for a look)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
source scripts/use-node24.sh

work="$(mktemp -d "${TMPDIR:-/tmp}/switchyard-smoke.XXXXXX")"
if [ "${1:-}" != "--keep" ]; then trap 'rm -rf "$work"' EXIT; fi
step() { printf '\n▶ smoke: %s\n' "$*"; }
fail() { printf '✗ smoke: %s\n' "$*" >&2; exit 1; }

step "packing the publishable workspaces into $work/packs"
mkdir -p "$work/packs"
mapfile -t publishable < <(node -e '
  const { readFileSync } = require("node:fs");
  for (const ws of JSON.parse(readFileSync("package.json", "utf8")).workspaces) {
    if (!JSON.parse(readFileSync(`${ws}/package.json`, "utf8")).private) console.log(ws);
  }')
[ "${#publishable[@]}" -gt 0 ] || fail "no publishable workspace"
for ws in "${publishable[@]}"; do
  npm pack --silent -w "$ws" --pack-destination "$work/packs" >/dev/null
done
ls -l "$work/packs"
for tarball in "$work"/packs/*.tgz; do
  if tar -tzf "$tarball" | grep -E '^package/(src|test)/|\.test\.|\.ts$' | grep -v '\.d\.ts$' | head -5 | grep -q .; then
    fail "$(basename "$tarball") ships sources or tests: $(tar -tzf "$tarball" | grep -E '^package/(src|test)/|\.ts$' | grep -v '\.d\.ts$' | head -3 | tr '\n' ' ')"
  fi
done
# Files the compiled core reads at run time (prices, the gateway's default config, the Redis scripts).
core_tarball="$(ls "$work"/packs/switchyard-core-*.tgz)"
core_files="$(tar -tzf "$core_tarball")"
for asset in data/prices.json data/gateway.default.yaml dist/runtime/state/redis-ops.lua; do
  grep -qx "package/$asset" <<<"$core_files" || fail "$(basename "$core_tarball") lacks $asset"
done

step "installing them into an empty project"
project="$work/project"
mkdir -p "$project"
cd "$project"
npm init -y >/dev/null
# As the README's Install section says: the tarball as a dev dependency.
npm install --save-dev --no-audit --no-fund --loglevel=error "$work"/packs/*.tgz

step "npx switchyard --version"
version="$(npx --no-install switchyard --version)"
[ "$version" = "$(node -p 'require("@switchyard/core/package.json").version')" ] || fail "--version printed '$version'"
echo "$version"

step "npx switchyard init && npx switchyard run"
npx --no-install switchyard init
npx --no-install switchyard run
for report in reports/my-first-scenario.journal.json reports/my-first-scenario.junit.xml \
  reports/my-first-scenario.md reports/my-first-scenario.html; do
  [ -s "$report" ] || fail "run wrote no $report"
done
grep -q 'failures="0"' reports/my-first-scenario.junit.xml || fail "the JUnit report has failures"

step "npx switchyard gateway, then one curl (the README's no-key gateway)"
gateway_log="$work/gateway.log"
# The bin itself rather than npx, so that SIGTERM reaches the gateway and not npx.
./node_modules/.bin/switchyard gateway --port 0 >"$gateway_log" 2>&1 &
gateway_pid=$!
port=""
for _ in $(seq 1 100); do
  port="$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$gateway_log" | head -n 1 | sed 's/.*://' || true)"
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$gateway_log" >&2; kill "$gateway_pid" 2>/dev/null; fail "the gateway did not start"; }
answer="$(curl -sf "http://127.0.0.1:$port/v1/chat/completions" -H 'content-type: application/json' \
  -d '{"model": "chat", "messages": [{"role": "user", "content": "Hello"}]}')" || {
  kill "$gateway_pid" 2>/dev/null
  fail "the gateway did not answer"
}
kill -TERM "$gateway_pid"
wait "$gateway_pid" || fail "the gateway did not exit cleanly on SIGTERM"
node -e 'const a = JSON.parse(process.argv[1]); if (!a.choices?.[0]?.message?.content) process.exit(1)' "$answer" ||
  fail "the gateway's answer has no content: $answer"

step "a plain .mjs consumer"
cp "$repo/scripts/smoke/consumer.mjs" consumer.mjs
node consumer.mjs

step "a .ts consumer, tsc --noEmit under moduleResolution nodenext"
# The TypeScript and Node types the repo itself builds with.
ts_version="$(node -p "require('$repo/node_modules/typescript/package.json').version")"
types_version="$(node -p "require('$repo/node_modules/@types/node/package.json').version")"
npm install --no-audit --no-fund --loglevel=error --save-dev "typescript@$ts_version" "@types/node@$types_version"
cp "$repo/scripts/smoke/consumer.ts" consumer.ts
cat > tsconfig.json <<'JSON'
{
  "compilerOptions": {
    "target": "es2022",
    "module": "nodenext",
    "moduleResolution": "nodenext",
    "strict": true,
    "skipLibCheck": false,
    "noEmit": true,
    "types": ["node"]
  },
  "files": ["consumer.ts"]
}
JSON
npx --no-install tsc --noEmit -p tsconfig.json

printf '\n✓ smoke: the packed packages install, run and type-check in an empty project\n'
