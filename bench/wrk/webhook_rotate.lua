-- The orchestrator's webhook, each request for the next of BENCH_SESSIONS
-- sessions (BENCH_PREFIX1, BENCH_PREFIX2, ...) and without last_seen, which
-- the gateway takes as "seen now": every delivery is applied, so every one
-- writes the row (and, with the history on, its entry). Authorized with
-- BENCH_AUTH ("Bearer <WEBHOOK_SECRET>"), since a signature cannot be made
-- per request here. done() prints the same "BENCH key=value" line as
-- request.lua.

local sessions = tonumber(os.getenv("BENCH_SESSIONS") or "100")
local prefix = os.getenv("BENCH_PREFIX") or "bench_"
local i = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")

function request()
  i = i % sessions + 1
  return wrk.format(nil, nil, nil,
    '{"session_id":"' .. prefix .. i .. '","phone_number":"5215512345678","status":"connected","server_port":3001}')
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d status_errors=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
