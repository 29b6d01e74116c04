-- wrk script of the load benchmark (run.sh): POSTs valid decisions, or GETs the ceiling route.
-- Environment: BENCH_MODE = "decisions" or "ceiling"; for decisions BENCH_REVISION (the site's live
-- revision), BENCH_SITE, BENCH_ORIGIN (registered for the site) and BENCH_RUN (a number that keeps
-- consent ids distinct across runs).
-- It counts the answers with the expected status (201 for a decision, 200 for the ceiling) and prints
-- one line that run.sh reads:
--   RESULT ok=N other=N requests=N duration_us=N p50_us=N p99_us=N max_us=N connect=N read=N write=N timeout=N

local mode = os.getenv("BENCH_MODE") or "ceiling"
local expected = (mode == "decisions") and 201 or 200
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Per thread (each has its own Lua state).
ok = 0
other = 0
local counter = 0

function response(status, headers, body)
  if status == expected then ok = ok + 1 else other = other + 1 end
end

if mode == "decisions" then
  local site = os.getenv("BENCH_SITE") or "demo"
  local revision = assert(os.getenv("BENCH_REVISION"), "BENCH_REVISION is not set")
  local run = tonumber(os.getenv("BENCH_RUN") or "0")
  local path = "/api/v1/sites/" .. site .. "/consents"
  local headers = {
    ["Content-Type"] = "application/json",
    ["Origin"] = os.getenv("BENCH_ORIGIN") or "http://127.0.0.1:8080",
  }
  local methods = { '"accept_all","categories":{"analytics":true}',
                    '"reject_all","categories":{"analytics":false}',
                    '"close","categories":{"analytics":false}' }

  function request()
    counter = counter + 1
    -- 128 bits in lowercase hex, as the banner draws them: run, thread, then a counter.
    local consent_id = string.format("%08x%08x%08x%08x", run, thread_id, 0, counter)
    local body = '{"consent_id":"' .. consent_id .. '","revision":"' .. revision ..
      '","method":' .. methods[counter % 3 + 1] ..
      ',"services":{},"language":"fr","url":"http://127.0.0.1:8080/demo/"}'
    return wrk.format("POST", path, headers, body)
  end
end

function done(summary, latency, requests)
  local n_ok, n_other = 0, 0
  for _, t in ipairs(threads) do
    n_ok = n_ok + t:get("ok")
    n_other = n_other + t:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT ok=%d other=%d requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d connect=%d read=%d write=%d timeout=%d\n",
    n_ok, n_other, summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.timeout))
end
