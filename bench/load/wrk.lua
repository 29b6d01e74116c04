-- wrk script of the load benchmark (load/run.sh) and of the log benchmark's fill (log/run.sh):
-- POSTs valid decisions for the demo site, or GETs the ceiling route.
-- Environment: BENCH_MODE = "decisions" or "ceiling"; for decisions BENCH_REVISION (the site's live
-- revision), BENCH_SITE, BENCH_ORIGIN (registered for the site) and BENCH_RUN (a number that keeps
-- consent ids and decision ids distinct across runs).
-- Optional, for the fill: BENCH_QUOTA (decisions to send in all, shared between the threads) and
-- BENCH_DONE_DIR, with BENCH_THREADS (wrk's -t). A thread that has sent its share sends GET BENCH_FILLER (/healthz) instead,
-- and once every decision it sent is answered it creates BENCH_DONE_DIR/<thread> and stops:
-- run.sh interrupts wrk when every thread has done so, and the store then holds exactly the quota.
--
-- The decisions are the ones the demo site's banner sends: the six methods with the choices each
-- requires (accept_all, reject_all, close, gpc, custom, embed), French and English, some with
-- undeleted cookies, every second one with a decision_id (the banner's exactly-once id; never
-- repeated here, so every 201 is a new leaf), and every fifth from a visitor who decided before
-- (the same consent id as the decision before it). Consent ids and decision ids are random, as
-- the banner draws them (so the store's indexes take them in no order), with the thread and a
-- counter in their last 32 bits so that no two are ever the same.
-- A decision counts as ok only when its answer is a 201 whose body carries the tlog proof
-- ("proof":"c2sp.org/tlog-proof@v1…); a 201 without it counts as noproof.
-- Optional, for several sites: BENCH_SITES, "site=revision" pairs separated by spaces (each site's
-- live revision); the decisions then go to each site's URL in turn (BENCH_SITE and BENCH_REVISION
-- are not needed; every site must register BENCH_ORIGIN).
-- Optional, to merge latencies across wrk processes: BENCH_LATENCY_FILE, where done() writes wrk's
-- whole latency histogram, one "microseconds count" line per distinct value (wrk 4 keeps one bucket
-- per microsecond, so merging these files gives the exact percentiles of all the processes).
-- It prints one line that run.sh reads:
--   RESULT ok=N noproof=N other=N requests=N duration_us=N p50_us=N p99_us=N max_us=N connect=N read=N write=N timeout=N

local mode = os.getenv("BENCH_MODE") or "ceiling"
local expected = (mode == "decisions") and 201 or 200
local total_quota = tonumber(os.getenv("BENCH_QUOTA") or "")
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Per thread (each has its own Lua state).
ok = 0
noproof = 0
other = 0
local counter = 0
local answered = 0

local function count(status, body)
  if status ~= expected then
    other = other + 1
  elseif mode == "decisions" and not (body and string.find(body, '"proof":"c2sp.org/tlog-proof@v1', 1, true)) then
    noproof = noproof + 1
  else
    ok = ok + 1
  end
end

response = function(status, headers, body) count(status, body) end

if mode == "decisions" then
  -- The sites and their live revisions: BENCH_SITES, or the one of BENCH_SITE and BENCH_REVISION.
  local targets = {}
  for site, revision in string.gmatch(os.getenv("BENCH_SITES") or "", "([%w_-]+)=(%x+)") do
    table.insert(targets, { path = "/api/v1/sites/" .. site .. "/consents", revision = revision })
  end
  if #targets == 0 then
    local site = os.getenv("BENCH_SITE") or "demo"
    local revision = assert(os.getenv("BENCH_REVISION"), "BENCH_REVISION is not set")
    targets[1] = { path = "/api/v1/sites/" .. site .. "/consents", revision = revision }
  end
  local run = tonumber(os.getenv("BENCH_RUN") or "0")
  local headers = {
    ["Content-Type"] = "application/json",
    ["Origin"] = os.getenv("BENCH_ORIGIN") or "http://127.0.0.1:8080",
  }
  -- The demo site has one optional category (analytics) and two services in it.
  local choices = {
    '"method":"accept_all","categories":{"analytics":true},"services":{}',
    '"method":"reject_all","categories":{"analytics":false},"services":{}',
    '"method":"close","categories":{"analytics":false},"services":{}',
    '"method":"reject_all","categories":{"analytics":false},"services":{},"undeleted_cookies":["_ga"]',
    '"method":"custom","categories":{"analytics":true},"services":{"google_analytics":true,"hotjar":false}',
    '"method":"gpc","categories":{"analytics":false},"services":{}',
    '"method":"accept_all","categories":{"analytics":true},"services":{"google_analytics":true,"hotjar":true}',
    '"method":"embed","categories":{"analytics":false},"services":{"hotjar":true}',
    '"method":"reject_all","categories":{"analytics":false},"services":{}',
    '"method":"custom","categories":{"analytics":false},"services":{"google_analytics":true}',
  }
  local pages = { "http://127.0.0.1:8080/demo/", "http://127.0.0.1:8080/demo/boutique.html?ref=mail#haut" }
  local languages = { "fr", "en", "fr" }

  -- 128 bits in lowercase hex: 96 random, then the thread and a counter.
  local function random_id()
    return string.format("%08x%08x%08x%08x", math.random(0, 0xffffffff), math.random(0, 0xffffffff),
      math.random(0, 0xffffffff), thread_id * 0x1000000 + counter % 0x1000000)
  end
  local consent_id = nil
  local target = targets[1]

  local function decision()
    counter = counter + 1
    if counter == 1 then math.randomseed(run * 1000 + thread_id + 1) end
    -- Every fifth decision is the same visitor's second one (on the same site).
    if counter % 5 ~= 0 or not consent_id then
      consent_id = random_id()
      target = targets[(thread_id + counter) % #targets + 1]
    end
    local body = '{"consent_id":"' .. consent_id .. '","revision":"' .. target.revision .. '",' ..
      choices[counter % #choices + 1] ..
      ',"language":"' .. languages[counter % #languages + 1] ..
      '","url":"' .. pages[counter % #pages + 1] .. '"'
    if counter % 2 == 0 then
      body = body .. ',"decision_id":"' .. random_id() .. '"'
    end
    return wrk.format("POST", target.path, headers, body .. "}")
  end

  if total_quota then
    local done_dir = assert(os.getenv("BENCH_DONE_DIR"), "BENCH_DONE_DIR is not set")
    local filler
    local thread_count = assert(tonumber(os.getenv("BENCH_THREADS") or ""), "BENCH_THREADS is not set")
    local stopped = false
    function init(args)
      -- Built here, not when the script loads: wrk fills in the Host header only by then.
      filler = wrk.format("GET", os.getenv("BENCH_FILLER") or "/healthz")
      -- This thread's share of the quota.
      quota = math.floor(total_quota / thread_count) + ((thread_id < total_quota % thread_count) and 1 or 0)
    end
    local first = true
    function request()
      -- wrk 4 calls request() once on thread 0 before the run, to check the request, and
      -- never sends it: that first call gets the filler, so no decision is counted unsent.
      if first then
        first = false
        if thread_id == 0 then return filler end
      end
      if counter < quota then return decision() end
      return filler
    end
    response = function(status, headers, body)
      if status == 200 then return end -- the filler
      count(status, body)
      answered = answered + 1
      if answered >= quota and not stopped then
        stopped = true
        local f = io.open(done_dir .. "/" .. thread_id, "w")
        if f then f:close() end
        wrk.thread:stop()
      end
    end
  else
    request = decision
  end
end

function done(summary, latency, requests)
  local n_ok, n_noproof, n_other = 0, 0, 0
  for _, t in ipairs(threads) do
    n_ok = n_ok + t:get("ok")
    n_noproof = n_noproof + t:get("noproof")
    n_other = n_other + t:get("other")
  end
  local file = os.getenv("BENCH_LATENCY_FILE")
  if file and file ~= "" then
    local f = assert(io.open(file, "w"))
    for i = 1, #latency do
      local value, n = latency(i)
      f:write(string.format("%d %d\n", value, n))
    end
    f:close()
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT ok=%d noproof=%d other=%d requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d connect=%d read=%d write=%d timeout=%d\n",
    n_ok, n_noproof, n_other, summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.timeout))
end
