#!/usr/bin/env bash
# Load benchmark of the decision endpoint, with wrk on loopback against the release build.
#   bench/load/run.sh [--duration SECS] [--connections "16 64"] [--threads N] [--timeout SECS]
#                     [--no-build] [--keep]
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
# Exits 1 when the target is missed, 2 on a broken setup.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"

duration=20 connections="16 64" threads=2 wrk_timeout=2 build=1 keep=""
while (($#)); do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --timeout) wrk_timeout=$2; shift 2 ;;
    --no-build) build=""; shift ;;
    --keep) keep=1; shift ;;
    *) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done

say() { printf '\033[1mbench:\033[0m %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

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
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill -KILL "$server_pid" 2>/dev/null || true; fi
  if [ -n "$keep" ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
store="$work/store"
cp www/demo/site.toml "$work/site.toml"
"$bin" --data-dir "$store" site create --file "$work/site.toml" >/dev/null

export RUST_LOG=${RUST_LOG:-warn}
BISCOTTE_RATE_LIMIT_PER_MINUTE=0 BISCOTTE_METRICS_BIND=127.0.0.1:0 \
  "$bin" --data-dir "$store" serve --bind 127.0.0.1:0 >"$work/stdout" 2>"$work/server.log" &
server_pid=$!
base=""
for _ in $(seq 300); do
  base=$(sed -n 's/^Biscotte listening on //p' "$work/stdout")
  [ -n "$base" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; die "the server exited"; }
  sleep 0.1
done
[ -n "$base" ] || die "the server did not announce its address within 30 s"
# Printed right after the first line by a server that serves metrics; empty otherwise.
metrics_url=""
for _ in 1 2 3 4 5; do
  metrics_url=$(sed -n 's/^Biscotte metrics on //p' "$work/stdout")
  [ -n "$metrics_url" ] && break
  sleep 0.1
done

revision=$(curl -sf --max-time 10 "$base/api/v1/sites/demo/config" | grep -o '"revision":"[^"]*"' | head -1 | cut -d'"' -f4)
[ -n "$revision" ] || die "no revision from $base/api/v1/sites/demo/config"
ceiling=/healthz
ceiling_note=""
if ! curl -sf --max-time 10 -o /dev/null "$base/healthz"; then
  ceiling=/api/v1/health
  ceiling_note=" (this build has no /healthz)"
fi

# Sum of a Prometheus series (all label sets), or nothing when metrics are not served.
metric() {
  [ -n "$metrics_url" ] || return 0
  curl -sf --max-time 5 "$metrics_url" 2>/dev/null |
    awk -v name="$1" '$1 == name || index($1, name "{") == 1 { s += $NF; n++ } END { if (n) printf "%.9f\n", s }' || true
}

ms() { awk -v us="${1:-0}" 'BEGIN { printf "%.2f", us / 1000 }'; }

# field NAME FILE: a value from wrk.lua's RESULT line.
field() { sed -n "s/^RESULT.* $1=\([0-9]*\).*/\1/p" "$2" | head -1; }

# probe RUN_NUMBER: until killed, one decision every 0.5 s; appends "STATUS SECONDS" lines to
# $work/probe-RUN.txt (status 000: no answer within the timeout) and keeps the last 201 answer in
# $work/receipt.json.
probe() {
  local i=0 body status
  while [ ! -e "$work/stop-probe-$1" ]; do
    i=$((i + 1))
    body=$(printf '{"consent_id":"ffffffff%08x%016x","revision":"%s","method":"reject_all","categories":{"analytics":false},"services":{},"language":"fr","url":"http://127.0.0.1:8080/demo/","decision_id":"eeeeeeee%08x%016x"}' "$1" "$i" "$revision" "$1" "$i")
    status=$(curl -s -o "$work/probe-answer.json" -w '%{http_code} %{time_total}' --max-time "$wrk_timeout" \
      -H 'Content-Type: application/json' -H 'Origin: http://127.0.0.1:8080' -d "$body" \
      "$base/api/v1/sites/demo/consents" || true)
    echo "${status:-000 0}" >>"$work/probe-$1.txt"
    case "$status" in 201\ *) mv "$work/probe-answer.json" "$work/receipt.json" ;; esac
    sleep 0.5
  done
}

# run MODE CONNECTIONS RUN_NUMBER: one wrk run; leaves its output in $work/MODE-CONNECTIONS.txt.
run() {
  local mode=$1 c=$2 n=$3 url out="$work/$1-$2.txt"
  if [ "$mode" = decisions ]; then url="$base/api/v1/sites/demo/consents"; else url="$base$ceiling"; fi
  # wrk stops itself after --duration; the outer timeout only guards against wrk itself sticking.
  local probe_pid=""
  if [ "$mode" = decisions ]; then : >"$work/probe-$n.txt"; probe "$n" & probe_pid=$!; fi
  BENCH_MODE=$mode BENCH_REVISION=$revision BENCH_SITE=demo BENCH_ORIGIN=http://127.0.0.1:8080 BENCH_RUN=$n \
    timeout --signal=INT --kill-after=10 $((duration + 30)) \
    wrk -t"$threads" -c"$c" -d"${duration}s" --timeout "${wrk_timeout}s" -s bench/load/wrk.lua "$url" >"$out" 2>&1 || true
  # The probe ends after its request in flight, so its count is final.
  if [ -n "$probe_pid" ]; then touch "$work/stop-probe-$n"; wait "$probe_pid" || true; fi
  grep -q '^RESULT' "$out" || { say "wrk did not finish ($mode, $c connections):"; cat "$out" >&2; }
}

say "server $base (pid $server_pid), store $store, RUST_LOG=$RUST_LOG, $threads wrk threads, ${duration} s per run, wrk timeout ${wrk_timeout} s"
say "ceiling: GET $ceiling$ceiling_note"
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
    out="$work/$mode-$c.txt"
    ok=$(field ok "$out"); ok=${ok:-0}
    other=$(field other "$out"); other=${other:-0}
    noproof=$(field noproof "$out"); noproof=${noproof:-0}
    dur=$(field duration_us "$out"); dur=${dur:-$((duration * 1000000))}
    p50=$(field p50_us "$out"); p99=$(field p99_us "$out"); max=$(field max_us "$out")
    errs=0
    for e in connect read write timeout; do v=$(field "$e" "$out"); errs=$((errs + ${v:-0})); done
    # wrk counts as "timeout" only answers slower than --timeout; the probe sees the unanswered.
    timeouts=$(field timeout "$out"); timeouts=${timeouts:-0}
    requests=$(field requests "$out"); requests=${requests:-0}
    rate=$(awk -v ok="$ok" -v d="$dur" 'BEGIN { printf "%.1f", ok / (d / 1e6) }')
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
# reading their 201, so the export may hold up to one more decision per connection and run.
token=$("$bin" --data-dir "$store" token issue --role auditor --site demo)
if exported=$(curl -sf --max-time 60 -H "Authorization: Bearer $token" "$base/api/v1/sites/demo/consents?format=ndjson" | wc -l); then
  if [ "$exported" -ge "$acked_total" ] && [ "$exported" -le $((acked_total + conns_total)) ]; then
    verdict="consistent"
  else
    verdict="MISMATCH"
  fi
  echo "export: $exported records for $acked_total answers 201 (at most $conns_total more expected: in flight when wrk stopped): $verdict"
else
  echo "export: failed, or no answer within 60 s"
fi

# The probe's last answer, checked as an auditor would: its tlog proof against the signed
# checkpoint it carries, with the site's verifier key.
receipt_ok=0
if [ -s "$work/receipt.json" ]; then
  # The server holds the store: its vkey route gives the key (an auditor gets it out of band;
  # here the bench checks its own server's answers).
  vkey=$(curl -s --max-time 10 "$base/api/v1/sites/demo/log/vkey")
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

# The target, at the largest connection count.
c=$(echo "$connections" | tr ' ' '\n' | sort -n | tail -1)
met=1
check() { if [ "$1" = 1 ]; then echo "  met     $2"; else echo "  MISSED  $2"; met=0; fi; }
echo "target at $c connections:"
check "$(awk -v a="${dec_rate[$c]}" -v b="${ceil_rate[$c]}" 'BEGIN { print (b > 0 && a >= 0.2 * b) ? 1 : 0 }')" \
  "durable decisions/s >= 0.2 x ceiling: ${dec_rate[$c]}/s against 0.2 x ${ceil_rate[$c]}/s (ratio $(awk -v a="${dec_rate[$c]}" -v b="${ceil_rate[$c]}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'))"
late="${dec_unanswered[$c]}"
check "$(awk -v p="${dec_p99[$c]}" -v t="$late" 'BEGIN { print (p <= 100000 && t == 0) ? 1 : 0 }')" \
  "p99 <= 100 ms: $(awk -v us="${dec_p99[$c]}" 'BEGIN { printf "%.2f", us / 1000 }') ms$([ "$late" -gt 0 ] && echo " among answered, but $late requests got no answer within ${wrk_timeout} s")"
check "$([ "${dec_noproof[$c]}" = 0 ] && [ "$receipt_ok" = 1 ] && echo 1 || echo 0)" \
  "every 201 carries its signed checkpoint and inclusion proof: ${dec_noproof[$c]} without; the probe's last receipt $([ "$receipt_ok" = 1 ] && echo verifies || echo "does NOT verify")"
check "$(awk -v m="${dec_max[$c]}" -v t="$late" 'BEGIN { print (m < 1000000 && t == 0) ? 1 : 0 }')" \
  "max < 1 s: $(awk -v us="${dec_max[$c]}" 'BEGIN { printf "%.2f", us / 1000 }') ms$([ "$late" -gt 0 ] && echo " among answered; $late requests got no answer within ${wrk_timeout} s")"

kill -TERM "$server_pid" 2>/dev/null || true
for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$server_pid" 2>/dev/null; then
  echo "the server did not exit within 10 s of SIGTERM (killed)"
  kill -KILL "$server_pid" 2>/dev/null || true
fi
wait "$server_pid" 2>/dev/null || true
[ "$met" = 1 ] || exit 1
