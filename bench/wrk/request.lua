-- The request every wrk connection repeats, described by the environment so
-- that run.sh picks the scenario and this file stays the same:
--   BENCH_METHOD  GET (default) or POST
--   BENCH_BODY    request body, sent as application/json
--   BENCH_AUTH    Authorization header value ("Bearer <token>")
--   BENCH_TS, BENCH_SIG  X-Webhook-Timestamp and X-Webhook-Signature
-- done() prints one machine-readable line, "BENCH key=value ...", with the
-- exact counts and the latency percentiles in microseconds.

local function env(name)
  local v = os.getenv(name)
  if v == nil or v == "" then return nil end
  return v
end

wrk.method = env("BENCH_METHOD") or "GET"
local body = env("BENCH_BODY")
if body then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
local auth = env("BENCH_AUTH")
if auth then
  wrk.headers["Authorization"] = auth
end
local ts, sig = env("BENCH_TS"), env("BENCH_SIG")
if ts and sig then
  wrk.headers["X-Webhook-Timestamp"] = ts
  wrk.headers["X-Webhook-Signature"] = sig
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d status_errors=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
