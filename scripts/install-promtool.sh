#!/usr/bin/env bash
# Prints the path of a usable `promtool` on stdout (and nothing else there), building it with Go when none is
# found, like scripts/install-temporal.sh. Progress and errors go to stderr. The test suite checks
# deploy/prometheus with it.
set -euo pipefail

readonly PROMETHEUS_MODULE="github.com/prometheus/prometheus"
# v0.307.3 is Prometheus 3.7.3 (the Go module tags v3.x.y as v0.30x.y).
readonly PROMETHEUS_VERSION="v0.307.3"

# Plain parameter expansion (no dirname): the script runs with a minimal PATH in its tests.
here="${BASH_SOURCE[0]%/*}"
[[ "$here" == "${BASH_SOURCE[0]}" ]] && here=.
source "$here/go-tool.sh"

if ! resolve_go_tool promtool PROMTOOL_PATH; then
  log "promtool was not found and Go is not installed to build it; install a release from"
  log "https://github.com/prometheus/prometheus/releases and set PROMTOOL_PATH"
  exit 1
fi

lock_go_tool_build

# `go install ...@version` refuses Prometheus: its go.mod has exclude directives. Building the package from a
# throwaway module that requires it works (the excludes only matter to Prometheus' own build).
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log "building ${PROMETHEUS_MODULE}/cmd/promtool@${PROMETHEUS_VERSION} with $(go version) (takes several minutes, once)"
if ! (cd "$work" && export GOFLAGS=-buildvcs=false &&
  go mod init promtool-build >&2 &&
  go get "${PROMETHEUS_MODULE}/cmd/promtool@${PROMETHEUS_VERSION}" >&2 &&
  go build -o "$installed" "${PROMETHEUS_MODULE}/cmd/promtool" >&2); then
  log "build failed; install a release binary and set PROMTOOL_PATH"
  exit 1
fi
log "installed $installed"
printf '%s\n' "$installed"
