#!/usr/bin/env bash
# Rolls out an overlay in order: configuration and the pre-rollout Jobs (migrations, Temporal search attributes)
# first, then, once both Jobs have completed, the API and worker Deployments.
#   deploy/k8s/rollout.sh prod        (needs kubectl with its built-in kustomize, and the namespace to exist)
set -euo pipefail

overlay="${1:?usage: deploy/k8s/rollout.sh dev|prod}"
dir="$(cd "$(dirname "$0")" && pwd)/overlays/$overlay"
[[ -f "$dir/kustomization.yaml" ]] || { echo "rollout: no overlay $overlay in $(dirname "$dir")" >&2; exit 1; }
namespace="$(sed -n 's/^namespace: *//p' "$dir/kustomization.yaml")"

# Jobs are immutable: the previous release's ones go before this release's are created.
kubectl delete job --namespace "$namespace" --selector poet-service/phase=pre-rollout --ignore-not-found
# Everything but the Deployments (and their Service): ConfigMap, Secret, volumes, policies, autoscalers, Jobs.
kubectl apply --kustomize "$dir" --selector 'app.kubernetes.io/component notin (api,worker)'
kubectl wait --namespace "$namespace" --for=condition=complete job --selector poet-service/phase=pre-rollout --timeout=10m
kubectl apply --kustomize "$dir"
for deployment in poet-api poet-worker; do
  kubectl rollout status --namespace "$namespace" "deployment/$deployment" --timeout=15m
done
# Worker Versioning (TEMPORAL_DEPLOYMENT_NAME): the new workers' build becomes current, so new runs go to it.
kubectl exec --namespace "$namespace" deployment/poet-worker -- node dist/cli/main.js workers make-current
