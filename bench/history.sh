#!/usr/bin/env bash
# The cost of the session history on the webhook path, end to end: the
# gateway in local mode on a fresh PostgreSQL database, the orchestrator's
# webhook applied to BENCH_SESSIONS linked sessions in turn (every delivery
# writes), measured with the history trigger on and off
# (ALTER TABLE ... DISABLE TRIGGER whatsapp_sessions_record_event), the two
# interleaved round by round on the same process and database. Prints the
# medians and the on/off ratio as a markdown table. It installs nothing;
# every process and the database it makes are removed on exit.
#
# Knobs: BENCH_DURATION=10 BENCH_ROUNDS=3 BENCH_CONNECTIONS=32 BENCH_WARMUP=2
#        BENCH_SESSIONS=200 BENCH_DATABASE_URL (a database gwbench_hist_<random>
#        is created there and dropped)
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${BENCH_DURATION:-10}
rounds=${BENCH_ROUNDS:-3}
conns=${BENCH_CONNECTIONS:-32}
warmup=${BENCH_WARMUP:-2}
sessions=${BENCH_SESSIONS:-200}
admin_url=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}

for tool in go wrk psql; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench/history: $tool is missing (Debian: sudo apt-get install wrk postgresql-client); nothing was run" >&2; exit 1; }
done
if ! PGCONNECT_TIMEOUT=5 psql "$admin_url" -Atqc 'select 1' >/dev/null 2>&1; then
  echo "bench/history: PostgreSQL does not answer at BENCH_DATABASE_URL (start it: bash scripts/ensure-postgres.sh)" >&2
  exit 1
fi

rand_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
work=$(mktemp -d "${TMPDIR:-/tmp}/gwbench-hist.XXXXXX")
db="gwbench_hist_$(rand_hex 6)"
gw_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$gw_pid" ]; then kill -TERM "$gw_pid" 2>/dev/null || true; wait "$gw_pid" 2>/dev/null || true; fi
  PGCONNECT_TIMEOUT=5 psql "$admin_url" -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "bench/history: building bin/gateway, bin/benchtool" >&2
go build -o bin/gateway .
go build -o bin/benchtool ./bench/benchtool

psql "$admin_url" -qc "create database $db" >/dev/null
db_url=$(printf '%s' "$admin_url" | sed -E "s#^(postgres(ql)?://[^/]+/)[^?]*#\\1$db#")
webhook_secret="bench-webhook-secret-$(rand_hex 16)"
port=$(bin/benchtool freeport)
# PENDING_TTL=0: no sweep writes during the runs.
env -i PATH="$PATH" HOME="${HOME:-/tmp}" PORT="$port" DATABASE_URL="$db_url" LOG_LEVEL=warn LOG_FORMAT=json \
  RATE_LIMIT_RPS=0 PENDING_TTL=0 WEBHOOK_SECRET="$webhook_secret" \
  SUPABASE_JWT_SECRET="bench-jwt-secret-$(rand_hex 24)" bin/gateway -config '' >"$work/gateway.log" 2>&1 &
gw_pid=$!
bin/benchtool wait -url "http://127.0.0.1:$port/readyz" -timeout 60s ||
  { echo "bench/history: the gateway did not start:" >&2; cat "$work/gateway.log" >&2; exit 1; }

# Linked sessions, so every delivery also activates its sesiones row.
prefix="hist_$(rand_hex 3)_"
psql "$db_url" -qAt >/dev/null <<SQL
with s as (insert into public.sesiones (estado) select 'inactivo' from generate_series(1, $sessions) returning id),
     n as (select id, row_number() over (order by id) as i from s)
insert into public.whatsapp_sessions (session_id, sesion_id) select '$prefix' || i, id from n;
SQL

url="http://127.0.0.1:$port/api/whatsapp_sessions/new-session-connected"
run() { # seconds, out file
  BENCH_SESSIONS=$sessions BENCH_PREFIX=$prefix BENCH_AUTH="Bearer $webhook_secret" \
    timeout $(($1 + 30)) wrk -t1 -c"$conns" -d"$1"s --timeout 2s --latency -s bench/wrk/webhook_rotate.lua "$url" >"$2" 2>&1 ||
    echo "BENCH wrk_failed=1" >>"$2"
}
history() { # on|off
  local verb=enable
  [ "$1" = off ] && verb=disable
  psql "$db_url" -qc "alter table public.whatsapp_sessions $verb trigger whatsapp_sessions_record_event" >/dev/null
}
events() { psql "$db_url" -Atqc "select count(*) from public.whatsapp_session_events"; }

: >"$work/rounds.tsv"
for mode in on off; do
  history "$mode"
  run "$warmup" "$work/warmup.out"
done
for r in $(seq 1 "$rounds"); do
  for mode in on off; do
    history "$mode"
    before=$(events)
    run "$duration" "$work/wrk.out"
    after=$(events)
    line=$(grep '^BENCH ' "$work/wrk.out" | tail -1 || true)
    if [ -z "$line" ] || [[ $line == *wrk_failed* ]]; then
      echo "bench/history: wrk failed:" >&2
      cat "$work/wrk.out" >&2
      exit 1
    fi
    echo "$line" | awk -v m="$mode" -v r="$r" -v ev=$((after - before)) '
      { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
      END {
        errors = v["status_errors"] + v["connect"] + v["read"] + v["write"] + v["timeout"]
        printf "%s\t%s\t%.1f\t%.3f\t%.3f\t%d\t%d\t%d\n", m, r, v["requests"] / (v["duration_us"] / 1e6),
          v["p50_us"] / 1000, v["p99_us"] / 1000, errors, v["requests"], ev
      }' >>"$work/rounds.tsv"
    tail -1 "$work/rounds.tsv" | awk -F'\t' '{ printf "bench/history: history %-3s round %s: %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d  entries written %d\n", $1, $2, $3, $4, $5, $6, $8 }' >&2
  done
done
history on

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
col() { awk -F'\t' -v m="$1" -v c="$2" '$1 == m { print $c }' "$work/rounds.tsv" | median; }
sum() { awk -F'\t' -v m="$1" -v c="$2" '$1 == m { s += $c } END { print s + 0 }' "$work/rounds.tsv"; }
on_rps=$(col on 3) off_rps=$(col off 3)
echo
echo "Webhook (applied, $sessions linked sessions in turn, local mode on PostgreSQL), wrk -t1 -c$conns -d${duration}s, median of $rounds interleaved rounds, $(date -u +%Y-%m-%d), load $(cut -d' ' -f1-3 /proc/loadavg):"
echo
echo "| history | req/s | p50 / p99 ms | errors | entries written / requests |"
echo "| --- | ---: | ---: | ---: | ---: |"
printf '| on | %.0f | %.2f / %.2f | %d | %d / %d |\n' "$on_rps" "$(col on 4)" "$(col on 5)" "$(sum on 6)" "$(sum on 8)" "$(sum on 7)"
printf '| off | %.0f | %.2f / %.2f | %d | %d / %d |\n' "$off_rps" "$(col off 4)" "$(col off 5)" "$(sum off 6)" "$(sum off 8)" "$(sum off 7)"
echo
awk -v a="$on_rps" -v b="$off_rps" 'BEGIN { printf "history on / off: %.2f of the throughput\n", a / b }'
