#!/usr/bin/env bash
# Load benchmark of the decision endpoint, with wrk on loopback against the release build.
#   bench/load/run.sh [--duration SECS] [--connections "16 64"] [--threads N] [--timeout SECS]
#                     [--store sled|postgres] [--servers 1|2] [--sites N] [--no-build] [--keep]
# A fresh store, the demo site, the per-client rate limit off (BISCOTTE_RATE_LIMIT_PER_MINUTE=0) and
# request logging off (RUST_LOG=warn unless set). At each connection count it drives the same
# server's trivial route (/healthz, else /api/v1/health) as the ceiling, then
# POST /api/v1/sites/demo/consents with valid decisions of the demo site (wrk.lua: six methods,
# some with a decision_id). It prints durable decisions/s (201 answers carrying their signed
# checkpoint and inclusion proof, per second), p50/p99/max latency, the ratio to the ceiling and the
# mean group-commit batch size (from the server's private metrics listener, "n/a" when it has none),
# then checks the export against the 201s, verifies the probe's last receipt offline (biscotte
# verify --receipt with the site's vkey), and checks the target at the largest connection count:
# decisions/s >= 0.2x the ceiling, p99 <= 100 ms, every 201 with its proof, max < 1 s. wrk never
# reports a request that gets no answer at all, so during each decision run a probe client posts
# one more decision every 0.5 s with curl and counts those unanswered within the timeout: a hung
# store shows there. Every wait is bounded (wrk's --timeout, an overall timeout on wrk, curl
# --max-time). --keep keeps the store and the raw outputs.
# --store postgres starts a throwaway PostgreSQL cluster (initdb as user postgres when run as root,
# a free port, fsync and synchronous_commit on) with one database for the run, and stops and
# removes it at the end. --servers 2 (postgres only) starts two servers on that database with the
# same data dir (the same signing key), each on its own port, and splits every run between them:
# one wrk per server with half the connections, started together for the same duration; rates
# are summed and the latencies merged exactly (wrk.lua dumps each wrk's histogram). --sites N
# spreads the decisions over N sites (demo, demo2, ...: the demo site file with another id), each
# decision naming its site's live revision. At the end, biscotte verify --site checks every
# site's log. With postgres the target is the issue's: >= 3,000 durable decisions/s with p99 <=
# 100 ms at the largest connection count (and every 201 with its proof, in the export, verified).
# Exits 1 when the target is missed, 2 on a broken setup.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"

duration=20 connections="16 64" threads=2 wrk_timeout=2 build=1 keep="" store_kind=sled servers=1 sites=1
while (($#)); do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --timeout) wrk_timeout=$2; shift 2 ;;
    --store) store_kind=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    --sites) sites=$2; shift 2 ;;
    --no-build) build=""; shift ;;
    --keep) keep=1; shift ;;
    *) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done

say() { printf '\033[1mbench:\033[0m %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

case "$store_kind" in sled | postgres) ;; *) die "--store is sled or postgres, not $store_kind" ;; esac
case "$servers" in 1 | 2) ;; *) die "--servers is 1 or 2, not $servers" ;; esac
[ "$servers" = 1 ] || [ "$store_kind" = postgres ] || die "--servers 2 needs --store postgres (a sled store has one server)"
[[ "$sites" =~ ^[1-9][0-9]*$ ]] || die "--sites is a positive number, not $sites"
# Each wrk process gets its share of the threads and connections.
wrk_threads=$(((threads + servers - 1) / servers))
for c in $connections; do
  [ $((c % servers)) = 0 ] && [ $((c / servers)) -ge "$wrk_threads" ] ||
    die "$c connections do not split into $servers servers of at least one per wrk thread"
done

if ! command -v wrk >/dev/null; then
  say "installing wrk (apt)"
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
  $sudo_ apt-get update -qq
  $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
if [ -n "$build" ]; then
  say "building the release server"
  cargo build -q --release -p biscotte-server
fi
bin=target/release/biscotte
[ -x "$bin" ] || die "$bin is missing: run without --no-build"

work=$(mktemp -d)
declare -a server_pid=() base=() metrics_urls=()
pg_dir="" pg_bin="" pg_port=""
# as_pg COMMAND...: a PostgreSQL tool, as user postgres when run as root (initdb refuses root).
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for p in "${server_pid[@]}"; do
    if kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null || true; fi
  done
  if [ -n "$pg_dir" ]; then
    as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
    if [ -n "$keep" ]; then say "kept the PostgreSQL cluster's files in $pg_dir (stopped)"; else rm -rf "$pg_dir"; fi
  fi
  if [ -n "$keep" ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
store="$work/store"

if [ "$store_kind" = postgres ]; then
  pg_bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
  [ -x "$pg_bin/initdb" ] || die "no PostgreSQL server binaries (set PG_BIN, or apt-get install postgresql)"
  # A free loopback port (never a cluster someone else runs).
  for p in $(seq 15432 15531); do
    if ! ss -Hltn "sport = :$p" | grep -q .; then pg_port=$p; break; fi
  done
  [ -n "$pg_port" ] || die "no free port for PostgreSQL in 15432-15531"
  pg_dir=$(mktemp -d /tmp/biscotte-bench-pg.XXXXXX)
  if [ "$(id -u)" = 0 ]; then chown postgres: "$pg_dir"; fi
  as_pg "$pg_bin/initdb" -D "$pg_dir/data" --auth=trust -U postgres >"$pg_dir/initdb.log" 2>&1 ||
    { cat "$pg_dir/initdb.log" >&2; die "initdb failed"; }
  # fsync and synchronous_commit stay on (the defaults): a 201 is a durable decision.
  as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
    -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null ||
    { cat "$pg_dir/log" >&2; die "PostgreSQL did not start"; }
  as_pg "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres biscotte_bench || die "createdb failed"
  export BISCOTTE_STORE=postgres BISCOTTE_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/biscotte_bench"
  say "PostgreSQL $("$pg_bin/postgres" --version | awk '{ print $NF }') on 127.0.0.1:$pg_port ($pg_dir), database biscotte_bench"
fi

# The sites: demo, then demo2, demo3, ... (the demo site file with another id).
site_ids=()
for i in $(seq "$sites"); do
  id=demo; [ "$i" = 1 ] || id=demo$i
  site_ids+=("$id")
  sed "s/^id = \"demo\"$/id = \"$id\"/" www/demo/site.toml >"$work/site-$id.toml"
  grep -q "^id = \"$id\"$" "$work/site-$id.toml" || die "www/demo/site.toml has no line id = \"demo\""
  "$bin" --data-dir "$store" site create --file "$work/site-$id.toml" >/dev/null
done

export RUST_LOG=${RUST_LOG:-warn}
for k in $(seq "$servers"); do
  BISCOTTE_RATE_LIMIT_PER_MINUTE=0 BISCOTTE_METRICS_BIND=127.0.0.1:0 \
    "$bin" --data-dir "$store" serve --bind 127.0.0.1:0 >"$work/stdout-$k" 2>"$work/server-$k.log" &
  server_pid[$k]=$!
  b=""
  for _ in $(seq 300); do
    b=$(sed -n 's/^Biscotte listening on //p' "$work/stdout-$k")
    [ -n "$b" ] && break
    kill -0 "${server_pid[$k]}" 2>/dev/null || { cat "$work/server-$k.log" >&2; die "server $k exited"; }
    sleep 0.1
  done
  [ -n "$b" ] || die "server $k did not announce its address within 30 s"
  base[$k]=$b
  # Printed right after the first line by a server that serves metrics; empty otherwise.
  for _ in 1 2 3 4 5; do
    m=$(sed -n 's/^Biscotte metrics on //p' "$work/stdout-$k")
    [ -n "$m" ] && { metrics_urls+=("$m"); break; }
    sleep 0.1
  done
done
base1=${base[1]}

# Each site's live revision (the decisions must name it).
declare -A revision_of
bench_sites=""
for id in "${site_ids[@]}"; do
  r=$(curl -sf --max-time 10 "$base1/api/v1/sites/$id/config" | grep -o '"revision":"[^"]*"' | head -1 | cut -d'"' -f4)
  [ -n "$r" ] || die "no revision from $base1/api/v1/sites/$id/config"
  revision_of[$id]=$r
  bench_sites+="$id=$r "
done
revision=${revision_of[demo]}
ceiling=/healthz
ceiling_note=""
if ! curl -sf --max-time 10 -o /dev/null "$base1/healthz"; then
  ceiling=/api/v1/health
  ceiling_note=" (this build has no /healthz)"
fi

# Sum of a Prometheus series (all label sets, all servers), or nothing when metrics are not served.
metric() {
  ((${#metrics_urls[@]})) || return 0
  for u in "${metrics_urls[@]}"; do curl -sf --max-time 5 "$u" 2>/dev/null || true; done |
    awk -v name="$1" '$1 == name || index($1, name "{") == 1 { s += $NF; n++ } END { if (n) printf "%.9f\n", s }' || true
}

ms() { awk -v us="${1:-0}" 'BEGIN { printf "%.2f", us / 1000 }'; }

# field NAME FILE: a value from wrk.lua's RESULT line.
field() { sed -n "s/^RESULT.* $1=\([0-9]*\).*/\1/p" "$2" | head -1; }
# sum NAME FILES...: a RESULT field summed over the wrk processes.
sum() { local name=$1 t=0 v f; shift; for f in "$@"; do v=$(field "$name" "$f"); t=$((t + ${v:-0})); done; echo "$t"; }
# percentile P FILES...: the P-th percentile (µs) of the merged histograms wrk.lua dumped, with wrk's
# own rule (the first value whose cumulative count reaches round(P/100 x count + 0.5)).
percentile() {
  local p=$1; shift
  cat "$@" 2>/dev/null | sort -n | awk -v p="$p" '
    { v[NR] = $1; c[NR] = $2; n += $2 }
    END { if (!n) { print 0; exit } rank = int(p / 100 * n + 0.5 + 0.5); t = 0
          for (i = 1; i <= NR; i++) { t += c[i]; if (t >= rank) { print v[i]; exit } } print v[NR] }'
}

# probe RUN_NUMBER: until killed, one decision every 0.5 s, to each server in turn; appends
# "STATUS SECONDS" lines to $work/probe-RUN.txt (status 000: no answer within the timeout) and keeps
# the last 201 answer in $work/receipt.json.
probe() {
  local i=0 body status
  while [ ! -e "$work/stop-probe-$1" ]; do
    i=$((i + 1))
    body=$(printf '{"consent_id":"ffffffff%08x%016x","revision":"%s","method":"reject_all","categories":{"analytics":false},"services":{},"language":"fr","url":"http://127.0.0.1:8080/demo/","decision_id":"eeeeeeee%08x%016x"}' "$1" "$i" "$revision" "$1" "$i")
    status=$(curl -s -o "$work/probe-answer.json" -w '%{http_code} %{time_total}' --max-time "$wrk_timeout" \
      -H 'Content-Type: application/json' -H 'Origin: http://127.0.0.1:8080' -d "$body" \
      "${base[$((i % servers + 1))]}/api/v1/sites/demo/consents" || true)
    echo "${status:-000 0}" >>"$work/probe-$1.txt"
    case "$status" in 201\ *) mv "$work/probe-answer.json" "$work/receipt.json" ;; esac
    sleep 0.5
  done
}

# run MODE CONNECTIONS RUN_NUMBER: one wrk per server, started together, each with its share of
# the connections and threads; leaves their outputs in $work/MODE-CONNECTIONS-K.txt and their
# latency histograms in $work/MODE-CONNECTIONS-K.lat.
run() {
  local mode=$1 c=$2 n=$3 k path pids=()
  if [ "$mode" = decisions ]; then path=/api/v1/sites/demo/consents; else path=$ceiling; fi
  # wrk stops itself after --duration; the outer timeout only guards against wrk itself sticking.
  local probe_pid=""
  if [ "$mode" = decisions ]; then : >"$work/probe-$n.txt"; probe "$n" & probe_pid=$!; fi
  for k in $(seq "$servers"); do
    rm -f "$work/$mode-$c-$k.lat"
    BENCH_MODE=$mode BENCH_REVISION=$revision BENCH_SITE=demo BENCH_SITES=$bench_sites \
      BENCH_ORIGIN=http://127.0.0.1:8080 BENCH_RUN=$((n * 10 + k)) BENCH_LATENCY_FILE="$work/$mode-$c-$k.lat" \
      timeout --signal=INT --kill-after=10 $((duration + 30)) \
      wrk -t"$wrk_threads" -c$((c / servers)) -d"${duration}s" --timeout "${wrk_timeout}s" -s bench/load/wrk.lua \
      "${base[$k]}$path" >"$work/$mode-$c-$k.txt" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || true; done
  # The probe ends after its request in flight, so its count is final.
  if [ -n "$probe_pid" ]; then touch "$work/stop-probe-$n"; wait "$probe_pid" || true; fi
  for k in $(seq "$servers"); do
    grep -q '^RESULT' "$work/$mode-$c-$k.txt" || { say "wrk did not finish ($mode, $c connections, server $k):"; cat "$work/$mode-$c-$k.txt" >&2; }
  done
}

config="store $store_kind, $servers server$([ "$servers" = 1 ] || echo s), $sites site$([ "$sites" = 1 ] || echo s)"
say "$config: $(for k in $(seq "$servers"); do printf '%s (pid %s) ' "${base[$k]}" "${server_pid[$k]}"; done)"
say "data dir $store, RUST_LOG=$RUST_LOG, $threads wrk threads$([ "$servers" = 1 ] || echo " (one wrk per server, $wrk_threads each)"), ${duration} s per run, wrk timeout ${wrk_timeout} s"
say "ceiling: GET $ceiling$ceiling_note$([ "$servers" = 1 ] || echo ", on both servers at once")"
echo "$config$([ "$servers" = 1 ] || echo "; rates summed over the servers, latencies merged from both wrk histograms")"
printf '%-6s %-20s %11s %9s %9s %9s %8s  %s\n' conns route "ok/s" "p50 ms" "p99 ms" "max ms" errors notes
acked_total=0
conns_total=0
n=0
declare -A dec_rate dec_p99 dec_max dec_unanswered dec_noproof ceil_rate
for c in $connections; do
  for mode in ceiling decisions; do
    n=$((n + 1))
    if [ "$mode" = decisions ]; then
      b_sum=$(metric biscotte_batch_size_sum); b_count=$(metric biscotte_batch_size_count)
      a_sum=$(metric biscotte_append_seconds_sum); a_count=$(metric biscotte_append_seconds_count)
    fi
    run "$mode" "$c" "$n"
    outs=() lats=()
    for k in $(seq "$servers"); do outs+=("$work/$mode-$c-$k.txt"); lats+=("$work/$mode-$c-$k.lat"); done
    ok=$(sum ok "${outs[@]}")
    other=$(sum other "${outs[@]}")
    noproof=$(sum noproof "${outs[@]}")
    # Each wrk's rate over its own duration, summed.
    rate=$(for f in "${outs[@]}"; do echo "$(field ok "$f") $(field duration_us "$f")"; done |
      awk -v d="$((duration * 1000000))" '{ s += ($1 == "" ? 0 : $1) / (($2 == "" ? d : $2) / 1e6) } END { printf "%.1f", s }')
    p50=$(percentile 50 "${lats[@]}"); p99=$(percentile 99 "${lats[@]}")
    max=$(for f in "${outs[@]}"; do field max_us "$f"; done | sort -n | tail -1)
    errs=0
    for e in connect read write timeout; do errs=$((errs + $(sum "$e" "${outs[@]}"))); done
    # wrk counts as "timeout" only answers slower than --timeout; the probe sees the unanswered.
    timeouts=$(sum timeout "${outs[@]}")
    requests=$(sum requests "${outs[@]}")
    notes=""
    [ "$other" -gt 0 ] && notes+="$other answers not $([ "$mode" = decisions ] && echo 201 || echo 200); "
    [ "$noproof" -gt 0 ] && notes+="$noproof answers 201 WITHOUT A PROOF; "
    [ "$timeouts" -gt 0 ] && notes+="$timeouts answered after more than ${wrk_timeout} s, not in the latencies; "
    [ "$requests" -eq 0 ] && notes+="NO ANSWER AT ALL; "
    if [ "$mode" = ceiling ]; then
      label="GET $ceiling"
      ceil_rate[$c]=$rate
    else
      label="POST /consents"
      probe_file="$work/probe-$n.txt"
      probe_sent=$(wc -l <"$probe_file")
      probe_acked=$(grep -c '^201 ' "$probe_file" || true)
      probe_unanswered=$(grep -c '^000 ' "$probe_file" || true)
      probe_max=$(awk '$1 != "000" && $2 > m { m = $2 } END { printf "%d", m * 1e6 }' "$probe_file")
      acked_total=$((acked_total + ok + noproof + probe_acked))
      conns_total=$((conns_total + c))
      unanswered=$((timeouts + probe_unanswered))
      [ "$probe_max" -gt "${max:-0}" ] && max=$probe_max
      dec_rate[$c]=$rate dec_p99[$c]=${p99:-0} dec_max[$c]=${max:-0} dec_unanswered[$c]=$unanswered dec_noproof[$c]=$noproof
      notes+="probe: $probe_acked/$probe_sent answered 201, $probe_unanswered without answer within ${wrk_timeout} s; "
      ratio=$(awk -v a="$rate" -v b="${ceil_rate[$c]}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }')
      b_sum2=$(metric biscotte_batch_size_sum); b_count2=$(metric biscotte_batch_size_count)
      a_sum2=$(metric biscotte_append_seconds_sum); a_count2=$(metric biscotte_append_seconds_count)
      batch=$(awk -v s1="$b_sum" -v c1="$b_count" -v s2="$b_sum2" -v c2="$b_count2" \
        'BEGIN { if (s2 == "" || c2 == "" || c2 - c1 <= 0) print "n/a"; else printf "%.1f", (s2 - s1) / (c2 - c1) }')
      append=$(awk -v s1="$a_sum" -v c1="$a_count" -v s2="$a_sum2" -v c2="$a_count2" \
        'BEGIN { if (s2 == "" || c2 == "" || c2 - c1 <= 0) print "n/a"; else printf "%.2f ms", 1000 * (s2 - s1) / (c2 - c1) }')
      notes+="ratio to ceiling $ratio; mean batch $batch; mean append $append"
    fi
    printf '%-6s %-20s %11s %9s %9s %9s %8s  %s\n' "$c" "$label" "$rate" "$(ms "$p50")" "$(ms "$p99")" "$(ms "$max")" "$errs" "$notes"
  done
done

# Every 201 must be in the log. Requests still in flight when wrk stopped may be logged without wrk
# reading their 201, so the export may hold up to one more decision per connection and run. With
# several servers, each site is exported from one of them in turn: each sees every server's leaves.
export_ok=1 exported=0 i=0
for id in "${site_ids[@]}"; do
  i=$((i + 1))
  token=$("$bin" --data-dir "$store" token issue --role auditor --site "$id")
  if e=$(curl -sf --max-time 120 -H "Authorization: Bearer $token" "${base[$((i % servers + 1))]}/api/v1/sites/$id/consents?format=ndjson" | wc -l); then
    exported=$((exported + e))
  else
    echo "export of $id: failed, or no answer within 120 s"
    export_ok=0
  fi
done
if [ "$export_ok" = 1 ]; then
  if [ "$exported" -ge "$acked_total" ] && [ "$exported" -le $((acked_total + conns_total)) ]; then
    verdict="consistent"
  else
    verdict="MISMATCH"
    export_ok=0
  fi
  echo "export: $exported records for $acked_total answers 201 (at most $conns_total more expected: in flight when wrk stopped)$([ "$sites" = 1 ] || echo ", over $sites sites"): $verdict"
fi

# The probe's last answer, checked as an auditor would: its tlog proof against the signed
# checkpoint it carries, with the site's verifier key.
receipt_ok=0
if [ -s "$work/receipt.json" ]; then
  # The server holds the store: its vkey route gives the key (an auditor gets it out of band;
  # here the bench checks its own server's answers).
  vkey=$(curl -s --max-time 10 "$base1/api/v1/sites/demo/log/vkey")
  hashes=$(grep -o '"proof":"[^"]*"' "$work/receipt.json" | sed 's/\\n/\n/g' | sed -n '/^index /,/^$/p' | grep -vc '^index \|^$' || true)
  if verdict=$("$bin" verify --receipt "$work/receipt.json" --key "$vkey" 2>&1); then
    receipt_ok=1
    echo "receipt: $verdict ($hashes hashes in the proof)"
  else
    echo "receipt: DOES NOT VERIFY: $verdict"
  fi
else
  echo "receipt: the probe got no 201 answer to check"
fi

for k in $(seq "$servers"); do
  kill -TERM "${server_pid[$k]}" 2>/dev/null || true
done
for k in $(seq "$servers"); do
  for _ in $(seq 100); do kill -0 "${server_pid[$k]}" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "${server_pid[$k]}" 2>/dev/null; then
    echo "server $k did not exit within 10 s of SIGTERM (killed)"
    kill -KILL "${server_pid[$k]}" 2>/dev/null || true
  fi
  wait "${server_pid[$k]}" 2>/dev/null || true
done

# Every site's whole log, checked from the store (the servers stopped: a sled store has one owner).
verify_ok=1
for id in "${site_ids[@]}"; do
  t0=$(date +%s.%N)
  if v=$("$bin" --data-dir "$store" verify --site "$id" 2>&1); then
    echo "verify --site $id ($(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s): $(echo "$v" | tail -1)"
  else
    verify_ok=0
    echo "verify --site $id: FAILED: $(echo "$v" | tail -3)"
  fi
done

# The target, at the largest connection count.
c=$(echo "$connections" | tr ' ' '\n' | sort -n | tail -1)
met=1
check() { if [ "$1" = 1 ]; then echo "  met     $2"; else echo "  MISSED  $2"; met=0; fi; }
late="${dec_unanswered[$c]}"
p99_check() {
  check "$(awk -v p="${dec_p99[$c]}" -v t="$late" 'BEGIN { print (p <= 100000 && t == 0) ? 1 : 0 }')" \
    "p99 <= 100 ms: $(awk -v us="${dec_p99[$c]}" 'BEGIN { printf "%.2f", us / 1000 }') ms$([ "$late" -gt 0 ] && echo " among answered, but $late requests got no answer within ${wrk_timeout} s")"
}
proof_check() {
  check "$([ "${dec_noproof[$c]}" = 0 ] && [ "$receipt_ok" = 1 ] && echo 1 || echo 0)" \
    "every 201 carries its signed checkpoint and inclusion proof: ${dec_noproof[$c]} without; the probe's last receipt $([ "$receipt_ok" = 1 ] && echo verifies || echo "does NOT verify")"
}
if [ "$store_kind" = sled ]; then
  echo "target at $c connections:"
  check "$(awk -v a="${dec_rate[$c]}" -v b="${ceil_rate[$c]}" 'BEGIN { print (b > 0 && a >= 0.2 * b) ? 1 : 0 }')" \
    "durable decisions/s >= 0.2 x ceiling: ${dec_rate[$c]}/s against 0.2 x ${ceil_rate[$c]}/s (ratio $(awk -v a="${dec_rate[$c]}" -v b="${ceil_rate[$c]}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'))"
  p99_check
  proof_check
  check "$(awk -v m="${dec_max[$c]}" -v t="$late" 'BEGIN { print (m < 1000000 && t == 0) ? 1 : 0 }')" \
    "max < 1 s: $(awk -v us="${dec_max[$c]}" 'BEGIN { printf "%.2f", us / 1000 }') ms$([ "$late" -gt 0 ] && echo " among answered; $late requests got no answer within ${wrk_timeout} s")"
else
  echo "target at $c connections (issue 14, $config):"
  check "$(awk -v a="${dec_rate[$c]}" 'BEGIN { print (a >= 3000) ? 1 : 0 }')" \
    "durable decisions/s >= 3,000: ${dec_rate[$c]}/s (ratio to the ceiling $(awk -v a="${dec_rate[$c]}" -v b="${ceil_rate[$c]}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'))"
  p99_check
  proof_check
  check "$export_ok" "every 201 is in the export"
  check "$verify_ok" "biscotte verify --site passes for every site"
fi
[ "$met" = 1 ] || exit 1
