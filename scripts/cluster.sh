#!/usr/bin/env bash
# The production topology on one machine, without Docker (docker-compose.temporal.yml describes the same one):
# a full Temporal server on the machine's PostgreSQL (persistence and visibility in their own databases, our search
# attributes registered), its frontend, history, matching and worker services each a process of its own as a
# production deployment runs them, and `poet start` on it with two worker processes and the API.
#
#   scripts/cluster.sh up       bring up what is not running (idempotent; after a killed process, a Temporal
#                               service's or `poet start`, it starts that one again)
#   scripts/cluster.sh down     stop the service, then Temporal
#   scripts/cluster.sh status   what runs, with pids
#   scripts/cluster.sh env      exports of the cluster's addresses and Temporal's pids by service, for benchmarks
#                               and tests: eval "$(... env)"
#
# Ports stay clear of the dev servers that `npm start` and the tests run. PostgreSQL: POET_CLUSTER_PG_URL (a server
# URL without database; default postgres://postgres@127.0.0.1:5432). Logs and the generated config: the run dir.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

run_dir="${POET_CLUSTER_DIR:-$HOME/.cache/poet-service/cluster}"
pg_url="${POET_CLUSTER_PG_URL:-postgres://postgres@127.0.0.1:5432}"
temporal_port="${POET_CLUSTER_TEMPORAL_PORT:-17233}"
api_port="${POET_CLUSTER_API_PORT:-18080}"
worker_port="${POET_CLUSTER_WORKER_PORT:-18091}"
namespace=default
temporal_db=poet_temporal
visibility_db=poet_temporal_visibility
app_db=poet_cluster
temporal_address="127.0.0.1:${temporal_port}"
# Temporal's services and their gRPC ports' offsets from the frontend's; each runs as the process temporal-<service>.
temporal_services=(frontend history matching worker)
declare -A temporal_port_offset=([frontend]=0 [history]=1 [matching]=2 [worker]=6)
api_url="http://127.0.0.1:${api_port}"

log() { printf 'cluster: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

# A process that ended stays a zombie until init reaps it, which here can take a minute: that is not running.
alive() {
  local state
  state="$(ps -o stat= -p "$1")" && [[ "$state" != Z* ]]
}

pid_of() {
  local file="$run_dir/$1.pid" pid
  [[ -f "$file" ]] || return 1
  pid="$(cat "$file")"
  alive "$pid" || return 1
  printf '%s\n' "$pid"
}

# Bounded waits: a component that never comes up fails `up` with what it waited for and where its log is.
wait_until() {
  local what="$1" seconds="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out after ${seconds}s waiting for $what"
    sleep 0.5
  done
}

psql_on() {
  local db="$1"
  shift
  psql "$pg_url/$db" -v ON_ERROR_STOP=1 -qtA "$@"
}

ensure_database() {
  local db="$1"
  if [[ -z "$(psql_on postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]]; then
    log "creating database $db"
    psql_on postgres -c "CREATE DATABASE $db"
  fi
}

# Parts of the server URL, for the schema tool and the server's own config.
pg_user() { sed -nE 's#^[a-z]+://([^:@/]+)(:[^@]*)?@.*#\1#p' <<<"$pg_url"; }
pg_password() { sed -nE 's#^[a-z]+://[^:@/]+:([^@]*)@.*#\1#p' <<<"$pg_url"; }
pg_host_port() {
  local hp
  hp="$(sed -E 's#^[a-z]+://([^@/]*@)?([^/]+).*#\2#' <<<"$pg_url")"
  [[ "$hp" == *:* ]] || hp="$hp:5432"
  printf '%s\n' "$hp"
}

# The sql tool's schema_version table tells a set-up database; update-schema applies only the versions it lacks.
ensure_temporal_schema() {
  local db="$1" dir="$2" hp password
  hp="$(pg_host_port)"
  password="$(pg_password)"
  local tool=("$server_dir/sql" --plugin postgres12 --ep "${hp%:*}" -p "${hp##*:}" -u "$(pg_user)" --db "$db")
  [[ -z "$password" ]] || tool+=(--pw "$password")
  ensure_database "$db"
  if [[ -z "$(psql_on "$db" -c "SELECT to_regclass('public.schema_version')")" ]]; then
    log "setting up the schema of $db"
    "${tool[@]}" setup-schema -v 0.0 >>"$run_dir/schema.log" 2>&1 || die "setup-schema of $db failed: $run_dir/schema.log"
  fi
  "${tool[@]}" update-schema -d "$server_dir/schema/postgresql/v12/$dir/versioned" >>"$run_dir/schema.log" 2>&1 ||
    die "update-schema of $db failed: $run_dir/schema.log"
}

datastore() {
  local db="$1" conns="$2"
  cat <<EOF
      sql:
        pluginName: postgres12
        databaseName: $db
        connectAddr: "$(pg_host_port)"
        connectProtocol: tcp
        user: "$(pg_user)"
        password: "$(pg_password)"
        maxConns: $conns
        maxIdleConns: $conns
        maxConnLifetime: 1h
EOF
}

service_ports() {
  local name="$1" offset="$2"
  cat <<EOF
  $name:
    rpc:
      grpcPort: $((temporal_port + offset))
      membershipPort: $((temporal_port - 300 + offset))
      bindOnLocalHost: true
EOF
}

write_config() {
  mkdir -p "$run_dir/config"
  # The dev server's tuning (src/cli/temporal-dev.ts), so figures of both topologies compare; worker versioning on.
  node -e '
    const { DEV_SERVER_DYNAMIC_CONFIG } = require(process.argv[1]);
    const values = [...DEV_SERVER_DYNAMIC_CONFIG, "system.enableDeploymentVersions=true", "frontend.workerVersioningWorkflowAPIs=true"];
    for (const entry of values) {
      const [key, value] = entry.split("=");
      process.stdout.write(`${key}:\n  - value: ${value}\n`);
    }' "$root/dist/cli/temporal-dev.js" >"$run_dir/config/dynamicconfig.yaml"
  {
    cat <<EOF
# Generated by scripts/cluster.sh up; edits are overwritten.
log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:
    default:
$(datastore "$temporal_db" 20)
    visibility:
$(datastore "$visibility_db" 4)
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
services:
EOF
    local service
    for service in "${temporal_services[@]}"; do
      service_ports "$service" "${temporal_port_offset[$service]}"
      [[ "$service" != frontend ]] || printf '      httpPort: %s\n' "$((temporal_port + 10))"
    done
    cat <<EOF
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: $temporal_address
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: $run_dir/config/dynamicconfig.yaml
  pollInterval: 10s
EOF
  } >"$run_dir/config/poet.yaml"
}

start_detached() {
  local name="$1"
  shift
  log "starting $name (log: $run_dir/$name.log)"
  # Without the lock's descriptor (8), which would keep the lock held as long as the component runs.
  setsid nohup "$@" >>"$run_dir/$name.log" 2>&1 </dev/null 8>&- &
  echo $! >"$run_dir/$name.pid"
}

temporal_cli() { "$cli" "$@" --address "$temporal_address"; }

# A service is up once its membership port accepts connections (every service has one; Temporal's worker service
# serves no gRPC): the port of a killed process is free until its successor listens. The frontend must also answer
# health checks before anything is registered through it.
temporal_service_listens() {
  (: <>"/dev/tcp/127.0.0.1/$((temporal_port - 300 + ${temporal_port_offset[$1]}))") 2>/dev/null
}

up_temporal() {
  server_dir="$(bash "$root/scripts/install-temporal-server.sh")"
  cli="$(bash "$root/scripts/install-temporal.sh")"
  # A run dir of the former layout, one process with every service, holds all their ports: stop it first.
  stop_component temporal 30
  local service missing=()
  for service in "${temporal_services[@]}"; do
    pid_of "temporal-$service" >/dev/null || missing+=("$service")
  done
  if ((${#missing[@]} > 0)); then
    ensure_temporal_schema "$temporal_db" temporal
    ensure_temporal_schema "$visibility_db" visibility
    write_config
    # The first to start writes the cluster's metadata into fresh databases; services started beside it race to
    # insert the same row, and the losers exit (duplicate key). So one first, the others once it listens.
    local first=1
    for service in "${missing[@]}"; do
      start_detached "temporal-$service" \
        "$server_dir/server" --root "$run_dir" --config config --env poet --allow-no-auth start --service "$service"
      if ((first)); then
        first=0
        wait_until "Temporal's $service service (log: $run_dir/temporal-$service.log)" 90 temporal_service_listens "$service"
      fi
    done
  fi
  for service in "${temporal_services[@]}"; do
    wait_until "Temporal's $service service (log: $run_dir/temporal-$service.log)" 90 temporal_service_listens "$service"
  done
  wait_until "Temporal at $temporal_address (log: $run_dir/temporal-frontend.log)" 90 \
    bash -c '"$0" operator cluster health --address "$1" | grep -q SERVING' "$cli" "$temporal_address"
  if ! temporal_cli operator namespace describe --namespace "$namespace" >/dev/null 2>&1; then
    log "registering namespace $namespace"
    temporal_cli operator namespace create --namespace "$namespace" --retention 72h >/dev/null
    wait_until "namespace $namespace" 30 temporal_cli operator namespace describe --namespace "$namespace"
  fi
  # `poet setup search-attributes`, as a production rollout runs it: registers only the missing ones. A namespace
  # just created reaches the other services' namespace caches some seconds later: until then they answer NOT_FOUND.
  wait_until "search attributes registered in $namespace" 60 env TEMPORAL_ADDRESS="$temporal_address" \
    TEMPORAL_NAMESPACE="$namespace" LOG_LEVEL=warn \
    bash "$root/scripts/node.sh" node "$root/dist/cli/main.js" setup search-attributes
}

api_ready() { curl -fsS "$api_url/health/ready" >/dev/null; }

up_service() {
  if ! pid_of service >/dev/null; then
    ensure_database "$app_db"
    mkdir -p "$run_dir/data"
    : >"$run_dir/service.log"
    # `poet start` with Temporal and PostgreSQL given: migrations, then the workers and the API, as on a laptop.
    start_detached service env TEMPORAL_ADDRESS="$temporal_address" TEMPORAL_NAMESPACE="$namespace" \
      DATABASE_URL="$pg_url/$app_db" REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}" REDIS_PREFIX=poet-cluster: \
      DATA_DIR="$run_dir/data" HOST=127.0.0.1 PORT="$api_port" WORKER_HTTP_PORT="$worker_port" WORKER_PROCESSES=2 \
      bash "$root/scripts/node.sh" node "$root/dist/cli/main.js" start
  fi
  # The line `poet start` prints once the API answers and the workers' build is current.
  wait_until "the API at $api_url (log: $run_dir/service.log)" 120 grep -q 'POET service is up' "$run_dir/service.log"
  api_ready || die "the API at $api_url does not answer ready (log: $run_dir/service.log)"
}

stop_component() {
  local name="$1" grace="$2" pid
  pid="$(pid_of "$name")" || return 0
  log "stopping $name (pid $pid)"
  kill -TERM "$pid"
  local deadline=$((SECONDS + grace))
  while alive "$pid"; do
    if ((SECONDS >= deadline)); then
      kill -KILL "$pid"
      break
    fi
    sleep 0.5
  done
  rm -f "$run_dir/$name.pid"
}

# Temporal's pids by service, for benchmarks that count each service's CPU: frontend:123,history:456,...
temporal_pids() {
  local service pid pids=()
  for service in "${temporal_services[@]}"; do
    pid="$(pid_of "temporal-$service")" && pids+=("$service:$pid")
  done
  local IFS=,
  printf '%s\n' "${pids[*]}"
}

status() {
  local name pid
  for name in "${temporal_services[@]/#/temporal-}" service; do
    if pid="$(pid_of "$name")"; then echo "$name running (pid $pid)"; else echo "$name stopped"; fi
  done
  api_ready 2>/dev/null && echo "api ready at $api_url" || echo "api not ready at $api_url"
}

mkdir -p "$run_dir"
# One up or down at a time: two at once (a fault test restarting Temporal beside another test's up) would each
# start the services they found missing.
case "${1:-}" in
up | down)
  exec 8>"$run_dir/lock"
  flock 8
  ;;
esac
case "${1:-}" in
up)
  [[ -f "$root/dist/cli/main.js" ]] || die "dist/ is missing: run npm run build first"
  up_temporal
  [[ "${2:-}" == "--temporal-only" ]] || up_service
  log "up: Temporal $temporal_address, API $api_url"
  ;;
down)
  stop_component service 90
  # Frontend first, so no new request reaches the others while they stop; `temporal` is the former layout's one
  # process with every service.
  for name in "${temporal_services[@]/#/temporal-}" temporal; do stop_component "$name" 30; done
  ;;
status) status ;;
env)
  cat <<EOF
export POET_CLUSTER_TEMPORAL_ADDRESS=$temporal_address
export POET_CLUSTER_API_URL=$api_url
export POET_CLUSTER_DATABASE_URL=$pg_url/$app_db
export POET_CLUSTER_DIR=$run_dir
export POET_CLUSTER_TEMPORAL_PIDS=$(temporal_pids)
EOF
  ;;
*)
  echo "usage: scripts/cluster.sh up [--temporal-only] | down | status | env" >&2
  exit 2
  ;;
esac
