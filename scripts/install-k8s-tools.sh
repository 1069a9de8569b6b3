#!/usr/bin/env bash
# What the deployment tests validate deploy/k8s with, all through the Go module proxy (this machine reaches no other
# source of them): kubeconform and kustomize built with `go install` once and kept in GOBIN, and the schemas they
# check against, from the modules that carry them (the Kubernetes OpenAPI document in k8s.io/kubernetes, KEDA's CRDs
# in github.com/kedacore/keda/v2), kept in the module cache. Prints shell assignments on stdout, progress on stderr:
#   eval "$(bash scripts/install-k8s-tools.sh)"
set -euo pipefail

readonly KUBECONFORM_MODULE="github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0"
# v5.8.3 wants Go 1.27; v5.8.2 builds with the machines' Go 1.26.
readonly KUSTOMIZE_MODULE="sigs.k8s.io/kustomize/kustomize/v5@v5.8.2"
# The Kubernetes release whose API the manifests target (api/openapi-spec/swagger.json of that tag).
readonly KUBERNETES_MODULE="k8s.io/kubernetes@v1.33.5"
readonly KEDA_MODULE="github.com/kedacore/keda/v2@v2.21.0"

log() { printf 'install-k8s-tools: %s\n' "$*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  log "Go is required to build kubeconform and kustomize and to fetch the Kubernetes schemas (https://go.dev/dl/)"
  exit 1
fi

gobin="$(go env GOBIN)"
[[ -n "$gobin" ]] || gobin="$(go env GOPATH | cut -d: -f1)/bin"

# Binaries carry no version we could compare, so each is kept under a name that includes its tag.
tool() {
  local name="$1" module="$2"
  local target="$gobin/$name-${module##*@}"
  if [[ ! -x "$target" ]]; then
    log "building $module with $(go version) (a minute or two)"
    local tmp
    tmp="$(mktemp -d)"
    GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "$module" >&2
    mkdir -p "$gobin"
    mv "$tmp/$name" "$target"
    rmdir "$tmp"
  fi
  printf '%s\n' "$target"
}

# `go mod download` verifies the module against the checksum database and prints where it unpacked it.
module_dir() {
  local json
  json="$(cd "${TMPDIR:-/tmp}" && GOFLAGS=-mod=mod go mod download -json "$1")"
  if grep -q '"Error"' <<<"$json"; then
    log "go mod download $1 failed: $json"
    exit 1
  fi
  sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p' <<<"$json"
}

kubeconform="$(tool kubeconform "$KUBECONFORM_MODULE")"
kustomize="$(tool kustomize "$KUSTOMIZE_MODULE")"
kubernetes_dir="$(module_dir "$KUBERNETES_MODULE")"
keda_dir="$(module_dir "$KEDA_MODULE")"

printf 'export KUBECONFORM_PATH=%q\n' "$kubeconform"
printf 'export KUSTOMIZE_PATH=%q\n' "$kustomize"
printf 'export K8S_OPENAPI_PATH=%q\n' "$kubernetes_dir/api/openapi-spec/swagger.json"
printf 'export K8S_VERSION=%q\n' "${KUBERNETES_MODULE##*@v}"
printf 'export KEDA_CRD_DIR=%q\n' "$keda_dir/config/crd/bases"
