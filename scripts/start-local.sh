#!/usr/bin/env bash
# Starts the whole Postern stack on this machine: installs what is missing,
# builds, starts nats-server (JetStream) and redis-server — from Debian's
# packages, or with `docker compose` when a Docker engine answers — then all six
# services. SMTP on 127.0.0.1:2525. Ctrl-C stops everything cleanly.
#
# Environment: POSTERN_DATA_DIR (default .data), POSTERN_NATS_PORT (4222),
# POSTERN_REDIS_PORT (6379), POSTERN_SMTP_PORT (2525), POSTERN_EVENTS_PORT
# (50054), POSTERN_CONFIG (deploy/local/postern.yaml), POSTERN_SKIP_SETUP=1 (no
# install or build), and any POSTERN_<SECTION>__<OPTION> configuration override.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ "${POSTERN_SKIP_SETUP:-0}" != 1 ]; then
  scripts/bootstrap.sh
  pnpm -s build
fi

data=$(realpath -m "${POSTERN_DATA_DIR:-.data}")
nats_port=${POSTERN_NATS_PORT:-4222}
redis_port=${POSTERN_REDIS_PORT:-6379}
smtp_port=${POSTERN_SMTP_PORT:-2525}
events_port=${POSTERN_EVENTS_PORT:-50054}
config=${POSTERN_CONFIG:-deploy/local/postern.yaml}
mkdir -p "$data/nats" "$data/redis" "$data/maildir" "$data/logs"

# Each child gets its own process group (job control), so Ctrl-C reaches only
# this script, which then stops the services first and the servers last.
set -m
service_pids=()
server_pids=()
use_compose=0

stop_group() { # stop_group SECONDS PID...
  local seconds=$1; shift
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  local deadline=$((SECONDS + seconds))
  while [ $SECONDS -lt $deadline ]; do
    local alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && return 0
    sleep 0.2
  done
  kill -KILL "$@" 2>/dev/null || true
}

cleanup() {
  trap - INT TERM EXIT
  echo
  echo "postern: stopping services"
  stop_group 20 "${service_pids[@]}"
  echo "postern: stopping nats-server and redis-server"
  if [ $use_compose = 1 ]; then docker compose stop nats redis >/dev/null; fi
  stop_group 10 "${server_pids[@]}"
  wait 2>/dev/null || true
  echo "postern: stopped"
}
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # wait_port PORT NAME SECONDS
  local deadline=$((SECONDS + $3))
  until port_busy "$1"; do
    [ $SECONDS -lt $deadline ] || { echo "postern: $2 did not open port $1 within $3 s (logs in $data/logs)" >&2; exit 1; }
    sleep 0.1
  done
}

for port in "$nats_port" "$redis_port" "$smtp_port" "$events_port"; do
  if port_busy "$port"; then
    echo "postern: port $port is already in use on 127.0.0.1 (another stack running?)." >&2
    echo "         Stop it, or choose other ports with POSTERN_NATS_PORT / POSTERN_REDIS_PORT / POSTERN_EDGE__SMTP_LISTEN." >&2
    exit 1
  fi
done

if docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  echo "postern: Docker engine found, starting nats and redis with docker compose"
  use_compose=1
  NATS_PORT=$nats_port REDIS_PORT=$redis_port docker compose up -d nats redis
else
  echo "postern: starting nats-server and redis-server (no Docker engine: local binaries)"
  nats-server -a 127.0.0.1 -p "$nats_port" -js -sd "$data/nats" >"$data/logs/nats.log" 2>&1 &
  server_pids+=($!)
  redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$data/redis" --save "" --appendonly yes >"$data/logs/redis.log" 2>&1 &
  server_pids+=($!)
fi
wait_port "$nats_port" nats-server 20
wait_port "$redis_port" redis-server 20

export POSTERN_NATS__SERVERS="nats://127.0.0.1:$nats_port"
export POSTERN_EDGE__REDIS_SERVERS="redis://127.0.0.1:$redis_port"
export POSTERN_DANE_OUTBOUND__ROUTES="{\"localhost\":\"maildir:$data/maildir\"}"
export POSTERN_EDGE__SMTP_LISTEN="127.0.0.1:$smtp_port"
export POSTERN_DELIVERY_EVENTS__GRPC__LISTEN="127.0.0.1:$events_port"
export POSTERN_DANE_OUTBOUND__DELIVERY_EVENTS__ADDRESS="127.0.0.1:$events_port"

for service in delivery-events dane-outbound spf dmarc ocsp-refresher edge; do
  node "services/$service/dist/main.js" --config "$config" > >(tee -a "$data/logs/$service.log") 2>&1 &
  service_pids+=($!)
done

wait_port "$smtp_port" edge 30
cat <<MSG

postern: the stack is up (data in ${data#$root/}, logs in ${data#$root/}/logs)
  SMTP         127.0.0.1:$smtp_port     swaks --server 127.0.0.1:$smtp_port --from a@example.org --to user@localhost
  events       pnpm exec postern events tail --server 127.0.0.1:$events_port
  maildir      ${data#$root/}/maildir/<local part>/new/
  metrics      http://127.0.0.1:9101/metrics (edge; 9102-9106 for the others), /healthz, /readyz
  Ctrl-C stops everything.

MSG

# Any service or server that exits ends the stack: a half-running MTA is worse than a stopped one.
set +e
wait -n "${service_pids[@]}" "${server_pids[@]}"
echo "postern: a process exited; stopping the stack" >&2
exit 1
