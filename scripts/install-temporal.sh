#!/usr/bin/env bash
# Prints the path of a usable `temporal` CLI on stdout (and nothing else there), installing it with Go
# when no binary is found. Progress and errors go to stderr.
set -euo pipefail

# v1.5.1 is the last CLI tag without a replace directive in go.mod; later tags cannot be `go install`ed.
readonly TEMPORAL_CLI_MODULE="github.com/temporalio/cli/cmd/temporal"
readonly TEMPORAL_CLI_VERSION="v1.5.1"

# Plain parameter expansion (no dirname): the script runs with a minimal PATH in its tests.
here="${BASH_SOURCE[0]%/*}"
[[ "$here" == "${BASH_SOURCE[0]}" ]] && here=.
source "$here/go-tool.sh"

if ! resolve_go_tool temporal TEMPORAL_CLI_PATH; then
  cat >&2 <<EOF
install-temporal: the Temporal CLI ('temporal') was not found and Go is not installed to build it.
Install it in one of these ways, then re-run:
  - with Go 1.25+: GOFLAGS=-buildvcs=false go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}
  - a release binary from https://github.com/temporalio/cli/releases (or https://temporal.download/cli.sh),
    placed on PATH
  - an existing binary: export TEMPORAL_CLI_PATH=/path/to/temporal
EOF
  exit 1
fi

lock_go_tool_build

log "building ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION} with $(go version) (takes a few minutes)"
# Nothing here needs VCS stamping, and a git problem in the current directory must not fail the install.
if ! GOFLAGS=-buildvcs=false go install "${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}" >&2; then
  log "go install failed; install a release binary from https://github.com/temporalio/cli/releases and set TEMPORAL_CLI_PATH"
  exit 1
fi
if [[ ! -x "$installed" ]]; then
  log "go install succeeded but $installed is missing; set TEMPORAL_CLI_PATH to the built binary"
  exit 1
fi
log "installed $installed"
printf '%s\n' "$installed"
