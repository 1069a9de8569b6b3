# Sourced by install-temporal.sh and install-promtool.sh. `resolve_go_tool NAME VAR` prints an existing NAME binary
# and exits the calling script: the one in the environment variable VAR, on PATH, or built before into Go's bin
# directory. Otherwise it returns with $installed set to where a build must put it, or returns 1 without Go.
log() {
  local script="${0##*/}"
  printf '%s: %s\n' "${script%.sh}" "$*" >&2
}

# Where `go install` puts binaries: GOBIN, else the first GOPATH entry's bin.
go_bin_dir() {
  local gobin
  gobin="$(go env GOBIN)"
  [[ -n "$gobin" ]] || gobin="$(go env GOPATH | cut -d: -f1)/bin"
  printf '%s\n' "$gobin"
}

resolve_go_tool() {
  local name="$1" var="$2" given="${!2:-}" on_path gobin
  if [[ -n "$given" ]]; then
    if [[ -f "$given" && -x "$given" ]]; then
      printf '%s\n' "$given"
      exit 0
    fi
    log "$var=$given is not an executable file; looking elsewhere"
  fi
  if on_path="$(command -v "$name")"; then
    printf '%s\n' "$on_path"
    exit 0
  fi
  command -v go >/dev/null 2>&1 || return 1
  gobin="$(go_bin_dir)"
  installed="$gobin/$name"
  if [[ -x "$installed" ]]; then
    printf '%s\n' "$installed"
    exit 0
  fi
}

# Parallel test runs on a fresh machine would each build at once: the first builds, the rest wait for it and reuse it.
lock_go_tool_build() {
  mkdir -p "${installed%/*}"
  exec 9>"${installed%/*}/.${installed##*/}-install.lock"
  flock 9
  if [[ -x "$installed" ]]; then
    printf '%s\n' "$installed"
    exit 0
  fi
}
