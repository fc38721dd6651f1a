#!/usr/bin/env bash
# Source this file: it puts a Node.js >= 22.12 first on PATH.
# If the active node is older (these machines ship Node 20), it installs Node 24 from the npm
# registry (the `node` package ships the official binary) into a cache folder once, and reuses it.
#   source scripts/use-node24.sh
# Cache folder: $SWITCHYARD_NODE_DIR, else ${XDG_CACHE_HOME:-$HOME/.cache}/switchyard/node24.

_sy_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)'
}

if ! _sy_node_ok; then
  _sy_dir="${SWITCHYARD_NODE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard/node24}"
  _sy_bin="$_sy_dir/node_modules/node/bin"
  if [ ! -x "$_sy_bin/node" ]; then
    echo "use-node24: active node is $(node --version 2>/dev/null || echo missing); installing node@24 into $_sy_dir" >&2
    mkdir -p "$_sy_dir"
    npm install --prefix "$_sy_dir" --no-audit --no-fund --no-save node@24 >&2 || return 1 2>/dev/null || exit 1
  fi
  export PATH="$_sy_bin:$PATH"
  # npm itself must run on the new node too: the npm shipped with the system is version-independent.
  hash -r
fi
unset -f _sy_node_ok
echo "use-node24: $(command -v node) $(node --version)" >&2
