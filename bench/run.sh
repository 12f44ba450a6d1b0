#!/usr/bin/env bash
# The load half of `make bench` (see bench/README.md). On loopback only, it
# starts a static PostgREST-shaped upstream, the built gateway in front of it
# with authentication on, and, when nginx is installed, nginx as a plain
# pass-through proxy to the same upstream. For the list scenarios two more
# references run: a minimal Go reverse proxy (bench/goproxy, Go's HTTP stack
# doing nothing else) and the upstream alone. It drives each scenario with
# wrk, interleaving the targets round by round, and prints the medians and
# the gateway/nginx ratios as a markdown table (also written to
# bench/results/). It installs nothing: a missing tool is named, with the
# command that installs it. Every process it starts is stopped on exit.
#
# Knobs (environment):
#   BENCH_DURATION=10      seconds per measured run
#   BENCH_ROUNDS=3         measured runs per target (median reported)
#   BENCH_CONNECTIONS=32   wrk -c;  BENCH_THREADS=1  wrk -t
#   BENCH_WARMUP=2         seconds of discarded load per target and scenario
#   BENCH_SCENARIOS="list10 list10_owned list1000 get get_owned webhook create list10_info e2e e2e_owned"
#                          (the _owned ones run with SESIONES_OWNER_COLUMN
#                          set, each user scoped to their own sessions)
#   BENCH_DATABASE_URL     PostgreSQL for the e2e scenario (a database
#                          gwbench_<random> is created there and dropped)
#   BENCH_MAX_SECONDS=1800 the whole run is stopped after this long
#   BENCH_RESULTS_DIR=bench/results
#   BENCH_BASELINE=<git revision>  also build the gateway at that revision
#                          and run it as target "baseline" beside the
#                          current one (every scenario but e2e), to compare
#                          a change with the code before it in one run
#   BENCH_VARIANTS="name:VAR=value[,VAR=value] ..."  also run the current
#                          gateway with extra environment as target "name"
#                          beside it (static-upstream scenarios), e.g.
#                          "gogc100:GOGC=100 procs1:GOMAXPROCS=1", to measure
#                          a runtime setting in the same run
# A quick look: BENCH_DURATION=3 BENCH_ROUNDS=1 BENCH_WARMUP=1 bash bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${BENCH_DURATION:-10}
rounds=${BENCH_ROUNDS:-3}
conns=${BENCH_CONNECTIONS:-32}
threads=${BENCH_THREADS:-1}
warmup=${BENCH_WARMUP:-2}
scenarios=${BENCH_SCENARIOS:-list10 list10_owned list1000 get get_owned webhook create list10_info e2e e2e_owned}
max_seconds=${BENCH_MAX_SECONDS:-1800}
admin_url=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
results_dir=${BENCH_RESULTS_DIR:-bench/results}
baseline=${BENCH_BASELINE:-}
variants=${BENCH_VARIANTS:-}

for knob in duration rounds conns threads warmup max_seconds; do
  if ! [[ ${!knob} =~ ^[0-9]+$ ]] || [ "${!knob}" -lt 1 ]; then
    echo "bench: ${knob} must be a positive whole number (got '${!knob}')" >&2
    exit 2
  fi
done

variant_names=()
declare -A variant_env
for v in $variants; do
  name=${v%%:*} env_list=${v#*:}
  if ! [[ $v == *:* && $name =~ ^[a-z][a-z0-9_]*$ && $env_list =~ ^[A-Z_][A-Z0-9_]*=[^,]*(,[A-Z_][A-Z0-9_]*=[^,]*)*$ ]]; then
    echo "bench: BENCH_VARIANTS entry '$v' is not name:VAR=value[,VAR=value]" >&2
    exit 2
  fi
  case $name in gateway | baseline | unscoped | nginx | goproxy | upstream)
    echo "bench: BENCH_VARIANTS name '$name' is taken by a built-in target" >&2
    exit 2
    ;;
  esac
  variant_names+=("$name")
  variant_env[$name]=$env_list
done

# ---- what is needed, and what is missing -----------------------------------
missing=()
command -v go >/dev/null 2>&1 || missing+=("go (the Go toolchain that builds the gateway)")
command -v wrk >/dev/null 2>&1 || missing+=("wrk (the load generator: apt-get install wrk)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: cannot run; missing:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  echo "Install them (on Debian: sudo apt-get install wrk nginx) and run make bench again. Nothing was installed." >&2
  exit 1
fi
nginx_bin=$(command -v nginx || true)
[ -z "$nginx_bin" ] && [ -x /usr/sbin/nginx ] && nginx_bin=/usr/sbin/nginx
notes=()
if [ -z "$nginx_bin" ]; then
  notes+=("nginx is not installed, so there is no reference column (install it with: sudo apt-get install nginx).")
fi

# ---- cleanup: every process started here, the database, the temp dir -------
work=$(mktemp -d "${TMPDIR:-/tmp}/gwbench.XXXXXX")
pids=()
bench_db=""
watchdog=""
forget_pid() {
  local keep=() p
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  pids=("${keep[@]+"${keep[@]}"}")
}
stop_pid() {
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  forget_pid "$1"
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$watchdog" ]; then
    kill -TERM "$watchdog" 2>/dev/null || true
    wait "$watchdog" 2>/dev/null || true
  fi
  local p
  for p in "${pids[@]+"${pids[@]}"}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]+"${pids[@]}"}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$bench_db" ]; then
    PGCONNECT_TIMEOUT=5 psql "$admin_url" -qc "drop database if exists $bench_db with (force)" >/dev/null 2>&1 ||
      echo "bench: could not drop database $bench_db; drop it by hand" >&2
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "bench: stopped by a failure at bench/run.sh line $LINENO" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM
# The watchdog stops the whole run if it goes on too long; on a normal exit
# cleanup stops it (and its sleep) quietly.
watch() {
  local sleeper
  trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
  sleep "$max_seconds" &
  sleeper=$!
  wait "$sleeper"
  echo "bench: still running after BENCH_MAX_SECONDS=$max_seconds; stopping" >&2
  kill -TERM $$
}
watch &
watchdog=$!

rand_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
clk_tck=$(getconf CLK_TCK)

# ---- build -----------------------------------------------------------------
echo "bench: building bin/gateway, bin/bench-upstream, bin/benchtool, bin/bench-goproxy" >&2
go build -o bin/gateway .
go build -o bin/bench-upstream ./bench/upstream
go build -o bin/benchtool ./bench/benchtool
go build -o bin/bench-goproxy ./bench/goproxy
if [ -n "$baseline" ]; then
  baseline_rev=$(git rev-parse --verify --quiet "$baseline^{commit}") ||
    { echo "bench: BENCH_BASELINE=$baseline is not a revision of this repository" >&2; exit 2; }
  echo "bench: building bin/gateway-baseline at $baseline (${baseline_rev:0:12})" >&2
  mkdir "$work/baseline"
  git archive "$baseline_rev" | tar -x -C "$work/baseline"
  (cd "$work/baseline" && go build -o "$OLDPWD/bin/gateway-baseline" .)
fi

jwt_secret="bench-jwt-secret-$(rand_hex 24)"
webhook_secret="bench-webhook-secret-$(rand_hex 16)"
service_key="sb_secret_bench_$(rand_hex 16)"
# Local mode checks no issuer; a gateway in front of a project checks that
# "iss" is its SUPABASE_URL + /auth/v1, so each upstream gets its own token.
token=$(bin/benchtool token -secret "$jwt_secret" -ttl 3h)
bench_user=8d0fd2b3-9ca7-4d9e-a95f-9e13f1d3ae2a # the sub of benchtool's tokens
declare -A auth_for

# ---- the static upstreams (10 rows and 1,000 rows) --------------------------
declare -A upstream_addr upstream_pid # by rows
start_upstream() {
  local rows=$1 file="$work/upstream-$1.addr"
  bin/bench-upstream -rows "$rows" -addr 127.0.0.1:0 -addr-file "$file" >"$work/upstream-$rows.log" 2>&1 &
  upstream_pid[$rows]=$!
  pids+=("$!")
  for _ in $(seq 1 100); do
    [ -s "$file" ] && break
    sleep 0.05
  done
  [ -s "$file" ] || { echo "bench: the upstream did not start:" >&2; cat "$work/upstream-$rows.log" >&2; exit 1; }
  upstream_addr[$rows]=$(cat "$file")
  auth_for[$rows]="Bearer $(bin/benchtool token -secret "$jwt_secret" -ttl 3h -iss "http://${upstream_addr[$rows]}/auth/v1")"
}
start_upstream 10
start_upstream 1000

# ---- the Go floor: httputil.ReverseProxy, no work of its own ----------------
declare -A goproxy_addr goproxy_pid
start_goproxy() {
  local rows=$1 file="$work/goproxy-$1.addr"
  bin/bench-goproxy -addr 127.0.0.1:0 -upstream "http://${upstream_addr[$rows]}" -addr-file "$file" >"$work/goproxy-$rows.log" 2>&1 &
  goproxy_pid[$rows]=$!
  pids+=("$!")
  for _ in $(seq 1 100); do
    [ -s "$file" ] && break
    sleep 0.05
  done
  [ -s "$file" ] || { echo "bench: the Go reference proxy did not start:" >&2; cat "$work/goproxy-$rows.log" >&2; exit 1; }
  goproxy_addr[$rows]=$(cat "$file")
}
start_goproxy 10
start_goproxy 1000

# ---- nginx, the reference: plain pass-through with keep-alive upstream -------
nginx_pid=""
declare -A nginx_port
if [ -n "$nginx_bin" ]; then
  { read -r p10; read -r p1000; } < <(bin/benchtool freeport -n 2)
  nginx_port[10]=$p10
  nginx_port[1000]=$p1000
  mkdir -p "$work/nginx/tmp"
  cat >"$work/nginx.conf" <<EOF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  upstream rows10 { server ${upstream_addr[10]}; keepalive 64; }
  upstream rows1000 { server ${upstream_addr[1000]}; keepalive 64; }
  server {
    listen 127.0.0.1:$p10;
    location = /healthz { return 200 "ok\n"; }
    location /api/ { proxy_pass http://rows10/rest/v1/; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  server {
    listen 127.0.0.1:$p1000;
    location = /healthz { return 200 "ok\n"; }
    location /api/ { proxy_pass http://rows1000/rest/v1/; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
EOF
  "$nginx_bin" -p "$work/nginx" -c "$work/nginx.conf" -e "$work/nginx/error.log" -g 'daemon off;' >"$work/nginx/stdout.log" 2>&1 &
  nginx_pid=$!
  pids+=("$nginx_pid")
  bin/benchtool wait -url "http://127.0.0.1:$p10/healthz" -timeout 10s ||
    { echo "bench: nginx did not start:" >&2; cat "$work/nginx/error.log" "$work/nginx/stdout.log" >&2; exit 1; }
fi
nginx_pids() { echo "$nginx_pid $(pgrep -P "$nginx_pid" | tr '\n' ' ')"; }

# ---- the gateway under test: a fresh process per scenario --------------------
gw_pid=""
gw_port=""
base_pid=""
base_port=""
uns_pid=""
uns_port=""
start_gateway() { # name, rows of the upstream ("" = local mode), log level[, binary[, VAR=v,VAR=v]]
  local name=$1 rows=$2 level=$3 bin=${4:-bin/gateway} extra=${5:-} out="$work/gateway-$1.log"
  # Sessions scoped to their owner in the _owned scenarios, every session
  # for everyone otherwise ("-" turns off local mode's default).
  local owner=-
  [[ $name == *_owned ]] && owner=user_id
  gw_port=$(bin/benchtool freeport)
  local envs=(PATH="$PATH" HOME="${HOME:-/tmp}" PORT="$gw_port" LOG_LEVEL="$level" LOG_FORMAT=json
    RATE_LIMIT_RPS=0 SUPABASE_JWT_SECRET="$jwt_secret" WEBHOOK_SECRET="$webhook_secret" SESIONES_OWNER_COLUMN="$owner")
  if [ -n "$rows" ]; then
    envs+=(SUPABASE_URL="http://${upstream_addr[$rows]}" SUPABASE_SERVICE_ROLE_KEY="$service_key")
  else
    envs+=(DATABASE_URL="$db_url")
  fi
  local e
  IFS=, read -r -a e <<<"$extra"
  envs+=("${e[@]+"${e[@]}"}")
  # Access logs at info go to /dev/null: what is measured is the cost of
  # producing them, not of a disk.
  [ "$level" = info ] && out=/dev/null
  env -i "${envs[@]}" "$bin" -config '' >"$out" 2>&1 &
  gw_pid=$!
  pids+=("$gw_pid")
  bin/benchtool wait -url "http://127.0.0.1:$gw_port/healthz" -timeout 60s ||
    { echo "bench: the gateway did not start:" >&2; cat "$work/gateway-$name.log" >&2 || true; exit 1; }
}
peak_rss_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { # summed utime+stime of the given pids
  local total=0 p f
  for p in "$@"; do
    read -r -a f <"/proc/$p/stat" || continue
    total=$((total + f[13] + f[14]))
  done
  echo "$total"
}

# ---- one wrk run -------------------------------------------------------------
# The request comes from bench/wrk/request.lua, configured by BENCH_* vars.
req_method=GET req_body="" req_auth="" req_signed=0
wrk_run() { # seconds, url, out file
  local ts="" sig=""
  if [ "$req_signed" = 1 ]; then
    # Signed now, well inside the gateway's 300 s window for the whole run.
    read -r ts sig < <(bin/benchtool sign -secret "$webhook_secret" -body "$req_body")
  fi
  BENCH_METHOD=$req_method BENCH_BODY=$req_body BENCH_AUTH=$req_auth BENCH_TS=$ts BENCH_SIG=$sig \
    timeout $(($1 + 30)) wrk -t"$threads" -c"$conns" -d"$1"s --timeout 2s --latency \
    -s bench/wrk/request.lua "$2" >"$3" 2>&1 || echo "BENCH wrk_failed=1" >>"$3"
}
probe() { # url, wanted status, wanted start of the body
  local ts="" sig=""
  [ "$req_signed" = 1 ] && read -r ts sig < <(bin/benchtool sign -secret "$webhook_secret" -body "$req_body")
  bin/benchtool probe -url "$1" -method "$req_method" -body "$req_body" -auth "$req_auth" -ts "$ts" -sig "$sig" -want "$2" -prefix "$3"
}

rounds_file="$work/rounds.tsv"
: >"$rounds_file"
rss_file="$work/rss.tsv"
: >"$rss_file"
raw_file="$work/raw.txt"
: >"$raw_file"

# measure scenario target round url pid...: one measured run, one line of rounds.tsv
measure() {
  local scenario=$1 target=$2 round=$3 url=$4
  shift 4
  local out="$work/wrk.out" before after
  before=$(cpu_ticks "$@")
  wrk_run "$duration" "$url" "$out"
  after=$(cpu_ticks "$@")
  { echo "### $scenario / $target / round $round"; cat "$out"; } >>"$raw_file"
  local line
  line=$(grep '^BENCH ' "$out" | tail -1 || true)
  if [ -z "$line" ] || [[ $line == *wrk_failed* ]]; then
    echo "bench: wrk failed on $scenario/$target:" >&2
    cat "$out" >&2
    exit 1
  fi
  # shellcheck disable=SC2086
  echo "$line" | awk -v s="$scenario" -v t="$target" -v r="$round" -v ticks=$((after - before)) -v hz="$clk_tck" '
    { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
    END {
      rps = v["requests"] / (v["duration_us"] / 1e6)
      errors = v["status_errors"] + v["connect"] + v["read"] + v["write"] + v["timeout"]
      cpu = v["requests"] > 0 ? ticks * 1e6 / hz / v["requests"] : 0
      printf "%s\t%s\t%s\t%.1f\t%.3f\t%.3f\t%d\t%.1f\t%d\n", s, t, r, rps, v["p50_us"] / 1000, v["p99_us"] / 1000, errors, cpu, v["requests"]
    }' >>"$rounds_file"
  tail -1 "$rounds_file" | awk -F'\t' '{ printf "bench:   %-12s %-8s round %s: %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d  cpu %5.1f us/req\n", $1, $2, $3, $4, $5, $6, $7, $8 }' >&2
}

# run_scenario name: targets interleaved A B A B ..., after a warm-up of each
run_scenario() {
  local name=$1 targets=() t
  declare -A url pidsof want prefix
  # target name url pids wanted-status wanted-body-start: one more target
  target() { targets+=("$1"); url[$1]=$2 pidsof[$1]=$3 want[$1]=$4 prefix[$1]=$5; }
  case $name in
    list10 | list10_owned | list10_info | list1000 | get | get_owned | webhook | create | e2e | e2e_owned) ;;
    *) echo "bench: unknown scenario '$name' (known: list10 list10_owned list1000 get get_owned webhook create list10_info e2e e2e_owned)" >&2; exit 2 ;;
  esac
  local rows=10 level=warn path="/api/whatsapp_sessions?status=eq.connected"
  req_method=GET req_body="" req_auth="" req_signed=0
  # What each target must answer: the gateway its envelope, the pass-through
  # references PostgREST's own shapes.
  local gw_want=200 ng_want=200 gw_prefix='{"success":true,"data":[' ng_prefix='['
  case $name in
    list1000) rows=1000 ;;
    list10_info) level=info ;;
    get | get_owned) path="/api/whatsapp_sessions/1" gw_prefix='{"success":true,"data":{' ng_prefix='{' ;;
    webhook)
      path="/api/whatsapp_sessions/new-session-connected"
      req_method=POST req_signed=1
      gw_prefix='{"success":true,"data":{' ng_prefix='{"outcome":'
      req_body='{"session_id":"session_1705312200123_abc123def","phone_number":"5215512345678","status":"connected","last_seen":"2025-01-15T10:00:00Z","auth_folder_path":"/data/auth/session_1705312200123_abc123def","server_port":3001,"whatsapp_user_id":"5215512345678@s.whatsapp.net","created_at":"2025-01-15T09:59:00Z","updated_at":"2025-01-15T10:00:00Z"}'
      ;;
    create)
      path="/api/whatsapp_sessions"
      req_method=POST req_body='{"session_id":"session_1705312200123_abc123def","sesion_id":1}'
      gw_want=201 gw_prefix='{"success":true,"data":{' ng_prefix='{"outcome":'
      ;;
    e2e | e2e_owned) rows="" ;;
  esac
  if [ -n "$rows" ]; then
    [ "$req_signed" = 1 ] || req_auth=${auth_for[$rows]}
  else
    req_auth="Bearer $token"
  fi

  if [ -z "$rows" ]; then
    e2e_available || return 0
    setup_e2e "$name"
  else
    if [ -n "$baseline" ]; then
      start_gateway "$name-baseline" "$rows" "$level" bin/gateway-baseline
      base_pid=$gw_pid base_port=$gw_port
    fi
    start_gateway "$name" "$rows" "$level"
  fi
  if [[ $name == *_owned ]]; then
    # The same gateway unscoped, on the same upstream or database: the
    # difference between the two is the per-request cost of ownership.
    local g_pid=$gw_pid g_port=$gw_port
    start_gateway "$name-unscoped" "$rows" "$level"
    uns_pid=$gw_pid uns_port=$gw_port
    gw_pid=$g_pid gw_port=$g_port
  fi
  target gateway "http://127.0.0.1:$gw_port$path" "$gw_pid" "$gw_want" "$gw_prefix"
  if [ -n "$uns_pid" ]; then
    target unscoped "http://127.0.0.1:$uns_port$path" "$uns_pid" "$gw_want" "$gw_prefix"
  fi
  if [ -n "$baseline" ] && [ -n "$rows" ]; then
    target baseline "http://127.0.0.1:$base_port$path" "$base_pid" "$gw_want" "$gw_prefix"
  fi
  local variants_run=()
  if [ -n "$rows" ]; then
    local g_pid=$gw_pid g_port=$gw_port
    for t in "${variant_names[@]+"${variant_names[@]}"}"; do
      start_gateway "$name-$t" "$rows" "$level" bin/gateway "${variant_env[$t]}"
      target "$t" "http://127.0.0.1:$gw_port$path" "$gw_pid" "$gw_want" "$gw_prefix"
      variants_run+=("$t")
    done
    gw_pid=$g_pid gw_port=$g_port
  fi
  if [ -n "$nginx_bin" ] && [ -n "$rows" ]; then
    target nginx "http://127.0.0.1:${nginx_port[$rows]}$path" "$(nginx_pids)" "$ng_want" "$ng_prefix"
  fi
  if [ "$name" = list10 ] || [ "$name" = list1000 ]; then
    target goproxy "http://${goproxy_addr[$rows]}$path" "${goproxy_pid[$rows]}" 200 '['
  fi
  if [ "$name" = list10 ]; then
    # The upstream alone: the ceiling, showing it is not the bottleneck.
    target upstream "http://${upstream_addr[10]}/rest/v1/whatsapp_sessions?status=eq.connected" "${upstream_pid[10]}" 200 '['
  fi

  echo "bench: scenario $name: ${targets[*]}" >&2
  for t in "${targets[@]}"; do
    probe "${url[$t]}" "${want[$t]}" "${prefix[$t]}"
    wrk_run "$warmup" "${url[$t]}" "$work/warmup.out"
  done
  local r
  for r in $(seq 1 "$rounds"); do
    for t in "${targets[@]}"; do
      # shellcheck disable=SC2086
      measure "$name" "$t" "$r" "${url[$t]}" ${pidsof[$t]}
    done
  done
  printf '%s\tgateway\t%s\n' "$name" "$(peak_rss_kb "$gw_pid")" >>"$rss_file"
  stop_pid "$gw_pid"
  for t in "${variants_run[@]+"${variants_run[@]}"}"; do
    printf '%s\t%s\t%s\n' "$name" "$t" "$(peak_rss_kb "${pidsof[$t]}")" >>"$rss_file"
    stop_pid "${pidsof[$t]}"
  done
  gw_pid=""
  if [ -n "$base_pid" ]; then
    printf '%s\tbaseline\t%s\n' "$name" "$(peak_rss_kb "$base_pid")" >>"$rss_file"
    stop_pid "$base_pid"
    base_pid=""
  fi
  if [ -n "$uns_pid" ]; then
    printf '%s\tunscoped\t%s\n' "$name" "$(peak_rss_kb "$uns_pid")" >>"$rss_file"
    stop_pid "$uns_pid"
    uns_pid=""
  fi
}

# ---- the end-to-end scenario: local mode over a fresh PostgreSQL database ---
e2e_available() {
  if ! command -v psql >/dev/null 2>&1; then
    notes+=("e2e skipped: psql is not installed (sudo apt-get install postgresql-client, and a PostgreSQL server).")
    return 1
  fi
  if ! PGCONNECT_TIMEOUT=5 psql "$admin_url" -Atqc 'select 1' >/dev/null 2>&1; then
    notes+=("e2e skipped: PostgreSQL does not answer at BENCH_DATABASE_URL (start it: bash scripts/ensure-postgres.sh).")
    return 1
  fi
}
setup_e2e() { # scenario name
  if [ -n "$bench_db" ]; then
    psql "$admin_url" -qc "drop database if exists $bench_db with (force)" >/dev/null
  fi
  bench_db="gwbench_$(rand_hex 6)"
  psql "$admin_url" -qc "create database $bench_db" >/dev/null
  db_url=$(printf '%s' "$admin_url" | sed -E "s#^(postgres(ql)?://[^/]+/)[^?]*#\\1$bench_db#")
  start_gateway "$1" "" warn
  # The sesión belongs to the benchmark token's user (benchtool token's
  # sub), so the sessions seeded through it are that user's.
  local sesion
  sesion=$(psql "$db_url" -Atqc "insert into public.sesiones (estado, user_id) values ('inactivo', '$bench_user') returning id" | head -1)
  bin/benchtool seed -url "http://127.0.0.1:$gw_port" -token "$token" -webhook-secret "$webhook_secret" \
    -sesion-id "$sesion" -n 20 -connected 10
}

# ---- run -------------------------------------------------------------------
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for s in $scenarios; do
  run_scenario "$s"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
nginx_rss=""
if [ -n "$nginx_pid" ]; then
  nginx_rss=0
  for p in $(nginx_pids); do nginx_rss=$((nginx_rss + $(peak_rss_kb "$p"))); done
  if grep -q "buffered to a temporary file" "$work/nginx/error.log" 2>/dev/null; then
    notes+=("nginx buffered some upstream answers to temporary files (its default proxy buffering).")
  fi
fi

# ---- report ----------------------------------------------------------------
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
stat_of() { # scenario target column(4 rps, 5 p50, 6 p99, 8 cpu) -> median
  awk -F'\t' -v s="$1" -v t="$2" -v c="$3" '$1 == s && $2 == t { print $c }' "$rounds_file" | median
}
errors_of() { awk -F'\t' -v s="$1" -v t="$2" '$1 == s && $2 == t { n += $7; seen = 1 } END { if (seen) print n; else print "" }' "$rounds_file"; }
has() { awk -F'\t' -v s="$1" -v t="$2" '$1 == s && $2 == t { f = 1 } END { exit !f }' "$rounds_file"; }
fmt() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "" || v == "nan") print "–"; else printf f, v }'; }
mib() { awk -v k="$1" 'BEGIN { if (k == "") print "–"; else printf "%.1f", k / 1024 }'; }
rss_of() { awk -F'\t' -v s="$1" -v t="$2" '$1 == s && $2 == t { print $3 }' "$rss_file"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "nan" || b == "nan" || b == 0) print "–"; else printf "%.2f", a / b }'; }

declare -A label=(
  [list10]="list \`?status=eq.connected\`, 10 rows"
  [list1000]="list \`?status=eq.connected\`, 1,000 rows"
  [get]="get by id"
  [webhook]="webhook (signed)"
  [create]="create"
  [list10_info]="list, 10 rows, LOG_LEVEL=info"
  [e2e]="list, 10 of 20 rows, local mode on PostgreSQL (e2e)"
  [list10_owned]="list \`?status=eq.connected\`, 10 rows, scoped to the owner"
  [get_owned]="get by id, scoped to the owner"
  [e2e_owned]="list, 10 of 20 rows, local mode on PostgreSQL, scoped to the owner (e2e)"
)

report="$work/report.md"
{
  echo "### Load benchmark, $started"
  echo
  echo "Machine: $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(uname -sr); $(go version | cut -d' ' -f3); wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }')$([ -n "$nginx_bin" ] && echo ", $("$nginx_bin" -v 2>&1 | cut -d' ' -f3)"). Load: \`wrk -t$threads -c$conns -d${duration}s\`, $rounds interleaved rounds per target after ${warmup}s of warm-up; median of the rounds. Load average before/after: $load_before / $load_after."
  echo
  echo "| scenario | gateway req/s | nginx req/s | gateway/nginx req/s | gateway p50 / p99 ms | nginx p50 / p99 ms | gateway/nginx p99 | errors gateway / nginx | CPU µs/req gateway / nginx | gateway peak RSS MiB |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for s in $scenarios; do
    has "$s" gateway || continue
    g_rps=$(stat_of "$s" gateway 4) g_p50=$(stat_of "$s" gateway 5) g_p99=$(stat_of "$s" gateway 6) g_cpu=$(stat_of "$s" gateway 8)
    n_rps="" n_p50="" n_p99="" n_cpu=""
    if has "$s" nginx; then
      n_rps=$(stat_of "$s" nginx 4) n_p50=$(stat_of "$s" nginx 5) n_p99=$(stat_of "$s" nginx 6) n_cpu=$(stat_of "$s" nginx 8)
    fi
    rss=$(rss_of "$s" gateway)
    n_err=$(errors_of "$s" nginx)
    echo "| ${label[$s]} | $(fmt "$g_rps" %.0f) | $(fmt "$n_rps" %.0f) | $(ratio "$g_rps" "$n_rps") | $(fmt "$g_p50" %.2f) / $(fmt "$g_p99" %.2f) | $(fmt "$n_p50" %.2f) / $(fmt "$n_p99" %.2f) | $(ratio "$g_p99" "$n_p99") | $(errors_of "$s" gateway) / ${n_err:-–} | $(fmt "$g_cpu" %.1f) / $(fmt "$n_cpu" %.1f) | $(mib "$rss") |"
  done
  echo
  if has list10 goproxy || has list1000 goproxy; then
    echo "The list scenarios against every reference: \`goproxy\` is Go's net/http server and httputil.ReverseProxy doing nothing else (the floor of any Go proxy), \`upstream\` is wrk straight at the static upstream (the ceiling all share)$([ -n "$baseline" ] && echo ", \`baseline\` the gateway built at $baseline"). CPU is each target's own processes."
    echo
    echo "| scenario | target | req/s | × nginx | p50 / p99 ms | CPU µs/req | errors | peak RSS MiB |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    for s in list10 list1000; do
      n_rps=""
      has "$s" nginx && n_rps=$(stat_of "$s" nginx 4)
      for t in gateway baseline goproxy nginx upstream; do
        has "$s" "$t" || continue
        rps=$(stat_of "$s" "$t" 4)
        echo "| ${label[$s]} | $t | $(fmt "$rps" %.0f) | $(ratio "$rps" "$n_rps") | $(fmt "$(stat_of "$s" "$t" 5)" %.2f) / $(fmt "$(stat_of "$s" "$t" 6)" %.2f) | $(fmt "$(stat_of "$s" "$t" 8)" %.1f) | $(errors_of "$s" "$t") | $(mib "$(rss_of "$s" "$t")") |"
      done
    done
    echo
  fi
  if [ -n "$baseline" ]; then
    echo "The gateway against itself at $baseline (\`baseline\`), same run, interleaved:"
    echo
    echo "| scenario | req/s gateway / baseline | × | CPU µs/req gateway / baseline | × | p99 ms gateway / baseline | peak RSS MiB gateway / baseline | errors gateway / baseline |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for s in $scenarios; do
      has "$s" baseline || continue
      g_rps=$(stat_of "$s" gateway 4) b_rps=$(stat_of "$s" baseline 4) g_cpu=$(stat_of "$s" gateway 8) b_cpu=$(stat_of "$s" baseline 8)
      echo "| ${label[$s]} | $(fmt "$g_rps" %.0f) / $(fmt "$b_rps" %.0f) | $(ratio "$g_rps" "$b_rps") | $(fmt "$g_cpu" %.1f) / $(fmt "$b_cpu" %.1f) | $(ratio "$g_cpu" "$b_cpu") | $(fmt "$(stat_of "$s" gateway 6)" %.2f) / $(fmt "$(stat_of "$s" baseline 6)" %.2f) | $(mib "$(rss_of "$s" gateway)") / $(mib "$(rss_of "$s" baseline)") | $(errors_of "$s" gateway) / $(errors_of "$s" baseline) |"
    done
    echo
  fi
  if [ ${#variant_names[@]} -gt 0 ]; then
    echo "The gateway with extra environment (BENCH_VARIANTS) against the same build as configured (\`gateway\`), same run, interleaved:"
    echo
    echo "| scenario | target | environment | req/s | × gateway | CPU µs/req | × gateway | p50 / p99 ms | errors | peak RSS MiB |"
    echo "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for s in $scenarios; do
      has "$s" gateway || continue
      g_rps=$(stat_of "$s" gateway 4) g_cpu=$(stat_of "$s" gateway 8)
      for t in "${variant_names[@]}"; do
        has "$s" "$t" || continue
        rps=$(stat_of "$s" "$t" 4) cpu=$(stat_of "$s" "$t" 8)
        echo "| ${label[$s]} | $t | \`${variant_env[$t]//,/ }\` | $(fmt "$rps" %.0f) | $(ratio "$rps" "$g_rps") | $(fmt "$cpu" %.1f) | $(ratio "$cpu" "$g_cpu") | $(fmt "$(stat_of "$s" "$t" 5)" %.2f) / $(fmt "$(stat_of "$s" "$t" 6)" %.2f) | $(errors_of "$s" "$t") | $(mib "$(rss_of "$s" "$t")") |"
      done
    done
    echo
  fi
  if awk -F'\t' '$2 == "unscoped" { f = 1 } END { exit !f }' "$rounds_file"; then
    echo "Sessions scoped to their owner (\`gateway\`, SESIONES_OWNER_COLUMN=user_id) against the same gateway unscoped (\`unscoped\`), same run, interleaved:"
    echo
    echo "| scenario | req/s scoped / unscoped | × | CPU µs/req scoped / unscoped | × | p50 ms scoped / unscoped | p99 ms scoped / unscoped | errors scoped / unscoped |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for s in $scenarios; do
      has "$s" unscoped || continue
      g_rps=$(stat_of "$s" gateway 4) u_rps=$(stat_of "$s" unscoped 4) g_cpu=$(stat_of "$s" gateway 8) u_cpu=$(stat_of "$s" unscoped 8)
      echo "| ${label[$s]} | $(fmt "$g_rps" %.0f) / $(fmt "$u_rps" %.0f) | $(ratio "$g_rps" "$u_rps") | $(fmt "$g_cpu" %.1f) / $(fmt "$u_cpu" %.1f) | $(ratio "$g_cpu" "$u_cpu") | $(fmt "$(stat_of "$s" gateway 5)" %.2f) / $(fmt "$(stat_of "$s" unscoped 5)" %.2f) | $(fmt "$(stat_of "$s" gateway 6)" %.2f) / $(fmt "$(stat_of "$s" unscoped 6)" %.2f) | $(errors_of "$s" gateway) / $(errors_of "$s" unscoped) |"
    done
    echo
  fi
  if has list10 gateway && has list10_info gateway; then
    a=$(stat_of list10 gateway 4) b=$(stat_of list10_info gateway 4) ca=$(stat_of list10 gateway 8) cb=$(stat_of list10_info gateway 8)
    echo "Access logging at info (one JSON line per request, to /dev/null) costs $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.0f%%", (1 - b / a) * 100 }') of the list throughput and $(awk -v a="$ca" -v b="$cb" 'BEGIN { printf "%.1f", b - a }') µs CPU per request (the table's other rows run at LOG_LEVEL=warn)."
    echo
  fi
  if [ -n "$nginx_rss" ]; then
    echo "nginx's peak RSS over the run, master and workers summed: $(awk -v k="$nginx_rss" 'BEGIN { printf "%.1f", k / 1024 }') MiB."
    echo
  fi
  # The performance targets, checked against this run's medians.
  verdict() { awk -v ok="$1" 'BEGIN { print (ok == 1) ? "holds" : "MISSED" }'; }
  if has list1000 gateway && has list1000 nginx; then
    g_rps=$(stat_of list1000 gateway 4) n_rps=$(stat_of list1000 nginx 4) g_p99=$(stat_of list1000 gateway 6) n_p99=$(stat_of list1000 nginx 6)
    rss=$(rss_of list1000 gateway)
    echo "Targets, list of 1,000 rows:"
    r=$(ratio "$g_rps" "$n_rps") q=$(ratio "$g_p99" "$n_p99")
    echo "- req/s ≥ 0.85 × nginx: $r × — $(verdict "$(awk -v r="$r" 'BEGIN { print (r >= 0.85) }')")"
    echo "- p99 ≤ 1.5 × nginx's: $q × — $(verdict "$(awk -v q="$q" 'BEGIN { print (q <= 1.5) }')")"
    echo "- peak RSS ≤ 40 MiB: $(mib "$rss") MiB — $(verdict "$(awk -v k="$rss" 'BEGIN { print (k <= 40 * 1024) }')")"
    echo
  fi
  if has list10 gateway && has list10 nginx; then
    g_rps=$(stat_of list10 gateway 4) n_rps=$(stat_of list10 nginx 4) g_cpu=$(stat_of list10 gateway 8)
    rss=$(rss_of list10 gateway)
    echo "Targets, list of 10 rows:"
    r=$(ratio "$g_rps" "$n_rps")
    echo "- req/s ≥ 0.36 × nginx: $r × — $(verdict "$(awk -v r="$r" 'BEGIN { print (r >= 0.36) }')")"
    echo "- CPU ≤ 130 µs per request: $(fmt "$g_cpu" %.1f) µs$(has list10 baseline && echo " (baseline $(fmt "$(stat_of list10 baseline 8)" %.1f) µs)") — $(verdict "$(awk -v c="$g_cpu" 'BEGIN { print (c <= 130) }')")"
    echo "- peak RSS < 40 MiB: $(mib "$rss") MiB — $(verdict "$(awk -v k="$rss" 'BEGIN { print (k < 40 * 1024) }')")"
    echo
  fi
  total_errors=$(awk -F'\t' '$2 == "gateway" { n += $7 } END { print n + 0 }' "$rounds_file")
  echo "Target, every scenario: zero gateway errors: $total_errors — $(verdict "$(awk -v e="$total_errors" 'BEGIN { print (e == 0) }')")"
  echo
  for n in "${notes[@]+"${notes[@]}"}"; do echo "Note: $n"; echo; done
} >"$report"

cat "$report"
mkdir -p "$results_dir"
out="$results_dir/$(date -u +%Y-%m-%dT%H%M%SZ).md"
{
  cat "$report"
  echo "#### Every round"
  echo
  echo "| scenario | target | round | req/s | p50 ms | p99 ms | errors | CPU µs/req | requests |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  awk -F'\t' '{ printf "| %s | %s | %s | %.0f | %.2f | %.2f | %d | %.1f | %d |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }' "$rounds_file"
  echo
  echo "#### wrk's own output"
  echo
  echo '```'
  cat "$raw_file"
  echo '```'
} >"$out"
echo "bench: written to $out" >&2
