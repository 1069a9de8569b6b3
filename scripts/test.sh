#!/usr/bin/env bash
# The test command of the README (`npm test`): checks what the suite talks to, then typecheck and jest.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v python3 >/dev/null || { echo "test: python3 is required (validation sandbox)" >&2; exit 1; }
# Resolve the Temporal CLI once (building it with Go on first use); global setup starts a dev server with it.
TEMPORAL_CLI_PATH="$(bash scripts/install-temporal.sh)"
export TEMPORAL_CLI_PATH
# kubeconform, kustomize and the Kubernetes/KEDA schemas for test/deploy/k8s.test.ts (built once, then cached).
k8s_tools="$(bash scripts/install-k8s-tools.sh)"
eval "$k8s_tools"
# promtool checks deploy/prometheus; built once like the Temporal CLI.
PROMTOOL_PATH="$(bash scripts/install-promtool.sh)"
export PROMTOOL_PATH
# An S3-compatible server for the artifact-store tests; without one they report that they skipped.
if S3_SERVER_PATH="$(bash scripts/install-s3-server.sh)"; then export S3_SERVER_PATH; fi

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
node -e "
const net = require('node:net');
const check = (name, url) => new Promise((resolve, reject) => {
  const u = new URL(url);
  const s = net.connect(Number(u.port), u.hostname, () => { s.end(); resolve(); });
  s.on('error', () => reject(new Error(name + ' is not reachable at ' + u.host + ' (DATABASE_URL / REDIS_URL)')));
});
Promise.all([check('PostgreSQL', process.env.DATABASE_URL), check('Redis', process.env.REDIS_URL)])
  .catch((err) => { console.error('test: ' + err.message); process.exit(1); });
"

# Style and the layer rules (biome.json, .dependency-cruiser.js) before anything runs.
npm run lint --silent
npx tsc -p tsconfig.json --noEmit
# dist/ is what `npm start` runs; test/cli drives it.
npm run build --silent
npx jest "$@"
