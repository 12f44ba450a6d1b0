#!/usr/bin/env bash
# The live-stream scenario of `make bench` (see bench/README.md): the built
# gateway in local mode on a fresh PostgreSQL database, BENCH_STREAMS idle
# live streams opened on it, then webhooks at BENCH_STREAM_RATE per second
# for BENCH_STREAM_SECONDS. bench/streamload prints the webhook-to-event
# latency across all streams, the gateway's resident memory per open stream
# and the streams dropped, as a markdown table (also written to
# bench/results/). Every process it starts is stopped, and the database
# dropped, on exit.
#
# Knobs (environment):
#   BENCH_STREAMS=5000           live streams opened
#   BENCH_STREAM_SESSIONS=100    sessions they follow (streams spread evenly)
#   BENCH_STREAM_RATE=20         webhooks per second
#   BENCH_STREAM_SECONDS=20      seconds of webhooks
#   BENCH_DATABASE_URL           PostgreSQL server for the database gwbench_<random>
#   BENCH_RESULTS_DIR=bench/results
set -euo pipefail
cd "$(dirname "$0")/.."

streams=${BENCH_STREAMS:-5000}
sessions=${BENCH_STREAM_SESSIONS:-100}
rate=${BENCH_STREAM_RATE:-20}
seconds=${BENCH_STREAM_SECONDS:-20}
admin_url=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
results_dir=${BENCH_RESULTS_DIR:-bench/results}

for tool in go psql; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "bench/streams: cannot run; $tool is missing (PostgreSQL: sudo apt-get install postgresql)" >&2
    exit 1
  fi
done
if ! PGCONNECT_TIMEOUT=5 psql "$admin_url" -qtAc 'select 1' >/dev/null 2>&1; then
  echo "bench/streams: PostgreSQL does not answer at BENCH_DATABASE_URL; start it (bash scripts/ensure-postgres.sh) or point BENCH_DATABASE_URL at one" >&2
  exit 1
fi

# Each stream is a socket on both sides of loopback, both in this run.
need=$((2 * streams + 1000))
if [ "$(ulimit -n)" -lt "$need" ]; then
  ulimit -n "$need" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi
if [ "$(ulimit -n)" -lt "$need" ]; then
  echo "bench/streams: $streams streams need $need open files, the limit is $(ulimit -n) (raise the hard limit, or lower BENCH_STREAMS)" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/gwbench-streams.XXXXXX")
gateway_pid=""
bench_db="gwbench_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$gateway_pid" ]; then
    kill -TERM "$gateway_pid" 2>/dev/null || true
    wait "$gateway_pid" 2>/dev/null || true
  fi
  PGCONNECT_TIMEOUT=5 psql "$admin_url" -qc "drop database if exists $bench_db with (force)" >/dev/null 2>&1 ||
    echo "bench/streams: could not drop database $bench_db; drop it by hand" >&2
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

go build -o bin/gateway .
go build -o "$work/streamload" ./bench/streamload
psql "$admin_url" -qc "create database $bench_db" >/dev/null
db_url=$(printf '%s' "$admin_url" | sed -E "s#/[^/?]*(\?|$)#/$bench_db\1#")

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18080)
jwt_secret="bench-jwt-secret-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
webhook_secret="bench-webhook-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
env -i PATH="$PATH" HOME="${HOME:-/tmp}" PORT="$port" DATABASE_URL="$db_url" \
  SUPABASE_JWT_SECRET="$jwt_secret" WEBHOOK_SECRET="$webhook_secret" \
  RATE_LIMIT_RPS=0 LOG_LEVEL=warn LOG_FORMAT=json ${GOGC:+GOGC=$GOGC} ${GOMEMLIMIT:+GOMEMLIMIT=$GOMEMLIMIT} ${STREAM_HEARTBEAT:+STREAM_HEARTBEAT=$STREAM_HEARTBEAT} \
  bin/gateway -config '' >"$work/gateway.log" 2>&1 &
gateway_pid=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
if ! curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
  echo "bench/streams: the gateway did not become ready; its log:" >&2
  cat "$work/gateway.log" >&2
  exit 1
fi

echo "bench/streams: $streams live streams on $sessions sessions, $rate webhooks/s for ${seconds}s (local mode on PostgreSQL)" >&2
mkdir -p "$results_dir"
result="$results_dir/streams-$(date -u +%Y%m%dT%H%M%SZ).md"
"$work/streamload" -url "http://127.0.0.1:$port" -streams "$streams" -sessions "$sessions" \
  -rate "$rate" -duration "${seconds}s" -jwt-secret "$jwt_secret" -webhook-secret "$webhook_secret" \
  -pid "$gateway_pid" | tee "$result"
