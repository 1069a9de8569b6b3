#!/usr/bin/env bash
# `npm run test:cluster`: the fault tests that kill Temporal and workers, and the topology's own checks, against
# scripts/cluster.sh's full Temporal server on PostgreSQL instead of the dev server. Global setup brings the cluster
# up (and down again when it was not running before). Extra arguments go to jest.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_CLI_PATH="$(bash scripts/install-temporal.sh)"
export TEMPORAL_CLI_PATH
# Built once with Go (several minutes), then cached; done here so jest's setup timing does not include it.
bash scripts/install-temporal-server.sh >/dev/null
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export POET_TEST_TOPOLOGY=cluster
npm run build --silent
# One file at a time: on the cluster temporal-restart kills the Temporal that every file runs on (on the dev topology it
# kills a dev server of its own), and a worker started meanwhile beside it cannot become ready.
npx jest --maxWorkers=1 test/cluster test/faults/temporal-restart.test.ts test/faults/worker-kill.test.ts "$@"
