#!/usr/bin/env bash
# Prints the directory of a full Temporal server on stdout (and nothing else there): `server`, its SQL schema tool
# `sql` and the PostgreSQL schemas they ship (`schema/postgresql`). Builds them with Go once, into Go's bin directory,
# like scripts/install-temporal.sh; later runs print the same directory at once. scripts/cluster.sh runs them.
set -euo pipefail

readonly TEMPORAL_SERVER_MODULE="go.temporal.io/server"
# The server release inside the Temporal CLI v1.5.1 (the dev server), so both topologies run the same server code.
readonly TEMPORAL_SERVER_VERSION="v1.29.1"

here="${BASH_SOURCE[0]%/*}"
[[ "$here" == "${BASH_SOURCE[0]}" ]] && here=.
source "$here/go-tool.sh"

complete() { [[ -x "$1/server" && -x "$1/sql" && -d "$1/schema/postgresql" ]]; }

if [[ -n "${TEMPORAL_SERVER_DIR:-}" ]]; then
  if complete "$TEMPORAL_SERVER_DIR"; then
    printf '%s\n' "$TEMPORAL_SERVER_DIR"
    exit 0
  fi
  log "TEMPORAL_SERVER_DIR=$TEMPORAL_SERVER_DIR lacks server, sql or schema/postgresql; building instead"
fi
if ! command -v go >/dev/null 2>&1; then
  log "Go is required to build the Temporal server (go install ${TEMPORAL_SERVER_MODULE}/cmd/server@${TEMPORAL_SERVER_VERSION})"
  exit 1
fi
gobin="$(go_bin_dir)"
dir="$gobin/temporal-server-${TEMPORAL_SERVER_VERSION}"
if complete "$dir"; then
  printf '%s\n' "$dir"
  exit 0
fi

# Parallel callers on a fresh machine: the first builds, the rest wait for it and reuse its build.
mkdir -p "$gobin"
exec 9>"$gobin/.temporal-server-install.lock"
flock 9
if complete "$dir"; then
  printf '%s\n' "$dir"
  exit 0
fi

log "building ${TEMPORAL_SERVER_MODULE} ${TEMPORAL_SERVER_VERSION} (server and sql tool) with $(go version) (several minutes, once)"
export GOFLAGS=-buildvcs=false GOBIN="$dir"
for cmd in cmd/server cmd/tools/sql; do
  if ! go install "${TEMPORAL_SERVER_MODULE}/${cmd}@${TEMPORAL_SERVER_VERSION}" >&2; then
    log "go install ${TEMPORAL_SERVER_MODULE}/${cmd}@${TEMPORAL_SERVER_VERSION} failed"
    exit 1
  fi
done
# The schemas are not compiled in: take them from the module the build just downloaded.
module_dir="$(go mod download -json "${TEMPORAL_SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
rm -rf "$dir/schema"
mkdir -p "$dir/schema"
cp -R "$module_dir/schema/postgresql" "$dir/schema/"
chmod -R u+w "$dir/schema"
log "installed $dir"
printf '%s\n' "$dir"
