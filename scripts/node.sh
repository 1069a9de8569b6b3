#!/usr/bin/env bash
# `bash scripts/node.sh COMMAND [ARGS...]` runs COMMAND with a Node of the supported major first on PATH, so every
# `node` below it (npm scripts, jest, the API, worker and CLI processes the tests spawn through process.execPath)
# is that Node. The `node` already on PATH serves when its major is at least NODE_MAJOR; otherwise the pinned
# release is installed once from the npm registry, which serves the official binaries as node-<os>-<arch> packages,
# into a cache outside the checkout, the way scripts/install-temporal.sh provides the Temporal CLI.
# Says once, on stderr, which Node runs.
set -euo pipefail

readonly NODE_MAJOR=24
readonly NODE_VERSION=24.22.3

log() { printf 'node: %s\n' "$*" >&2; }

# Already chosen by an outer call (npm start runs npm scripts that may come back here): nothing to say again.
if [[ -n "${POET_NODE:-}" && "$(command -v node || true)" == "$POET_NODE" ]]; then
  exec "$@"
fi

major_of() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

node_bin="$(command -v node || true)"
if [[ -z "$node_bin" || "$(major_of "$node_bin")" -lt "$NODE_MAJOR" ]]; then
  case "$(uname -s)/$(uname -m)" in
    Linux/x86_64) platform=linux-x64 ;;
    Linux/aarch64) platform=linux-arm64 ;;
    Darwin/arm64) platform=darwin-arm64 ;;
    Darwin/x86_64) platform=darwin-x64 ;;
    *) log "no node-<os>-<arch> package for $(uname -s)/$(uname -m); install Node $NODE_MAJOR yourself"; exit 1 ;;
  esac
  prefix="${POET_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/poet-service}/node-v$NODE_VERSION-$platform"
  node_bin="$prefix/bin/node"
  if [[ ! -x "$node_bin" ]]; then
    mkdir -p "${prefix%/*}"
    # Parallel first runs: one downloads, the others wait for it and reuse it.
    exec 9>"$prefix.lock"
    flock 9
    if [[ ! -x "$node_bin" ]]; then
      command -v npm >/dev/null || { log "npm is needed once to fetch node-$platform@$NODE_VERSION"; exit 1; }
      log "installing Node $NODE_VERSION (npm package node-$platform) into $prefix, once"
      work="$(mktemp -d "$prefix.XXXXXX")"
      trap 'rm -rf "$work"' EXIT
      # npm pack checks the tarball against the registry's integrity hash.
      (cd "$work" && npm pack --silent "node-$platform@$NODE_VERSION" >/dev/null && tar -xzf ./*.tgz)
      "$work/package/bin/node" --version >/dev/null
      rm -rf "$prefix"
      mv "$work/package" "$prefix"
      rm -rf "$work"
      trap - EXIT
    fi
    exec 9>&-
  fi
fi

export POET_NODE="$node_bin"
export PATH="${node_bin%/*}:$PATH"
log "Node $("$node_bin" --version) ($node_bin)"
exec "$@"
