#!/usr/bin/env bash
# Prints the path of a usable versitygw (an S3-compatible server with a plain-directory backend) on stdout,
# building it with Go when missing. The S3 artifact-store tests run against it. Progress goes to stderr.
set -euo pipefail

readonly S3_SERVER_MODULE="github.com/versity/versitygw/cmd/versitygw"
readonly S3_SERVER_VERSION="v1.8.0"

log() { printf 'install-s3-server: %s\n' "$*" >&2; }

if [[ -n "${S3_SERVER_PATH:-}" && -x "${S3_SERVER_PATH}" ]]; then
  printf '%s\n' "$S3_SERVER_PATH"
  exit 0
fi
if on_path="$(command -v versitygw)"; then
  printf '%s\n' "$on_path"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  log "versitygw not found and Go is not installed to build it; the S3 tests will skip (fail when CI=true)"
  exit 1
fi
gobin="$(go env GOBIN)"
[[ -n "$gobin" ]] || gobin="$(go env GOPATH | cut -d: -f1)/bin"
installed="$gobin/versitygw"
if [[ -x "$installed" ]]; then
  printf '%s\n' "$installed"
  exit 0
fi
# Parallel test runs would each build it at once: the first builds, the rest wait for it.
mkdir -p "$gobin"
exec 9>"$gobin/.versitygw-install.lock"
flock 9
if [[ -x "$installed" ]]; then
  printf '%s\n' "$installed"
  exit 0
fi
log "building ${S3_SERVER_MODULE}@${S3_SERVER_VERSION} with $(go version) (a few minutes, once)"
if ! GOFLAGS=-buildvcs=false go install "${S3_SERVER_MODULE}@${S3_SERVER_VERSION}" >&2 || [[ ! -x "$installed" ]]; then
  log "go install failed; the S3 tests will skip (fail when CI=true) (set S3_SERVER_PATH to a versitygw binary)"
  exit 1
fi
log "installed $installed"
printf '%s\n' "$installed"
