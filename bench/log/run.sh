#!/usr/bin/env bash
# Log benchmark: what a large transparency log costs to export, verify and keep on disk.
#   bench/log/run.sh [--records N] [--small N] [--connections C] [--threads T] [--dir DIR]
#                    [--no-build] [--keep]
# Fills a fresh store with --small (default N/5) then --records (default 1,000,000) decisions of the
# demo site through the real release server (wrk on loopback, C connections, default 64, the
# decisions of bench/load/wrk.lua: six methods, returning visitors, every second one with a
# decision_id), the last decision of each size posted with curl to keep its 201 answer. At each
# size it stops the server and runs, each under /usr/bin/time -v (wall time, peak RSS):
#   biscotte export --site demo --bundle --out FILE, biscotte verify --bundle FILE --key VKEY,
#   biscotte export --site demo --format ndjson, biscotte verify --site demo;
# then prints bytes on disk per decision (du -sb of the store, and sled's own files: db, blobs/,
# snap.*), the size of the kept answer's inclusion proof and its number of hashes (and of leaf
# N/2's, from the auditor route), and a table
# at the end with the issue's targets at the largest size (export <= 5 s, verify <= 10 s, peak RSS
# flat between the two sizes, <= 600 B on disk per decision). It reports the targets, and exits 0
# whether they are met or not; 2 on a broken setup. The store lives in a temporary directory
# (--dir DIR: under DIR; at a million decisions, 1.4 GB for the store and 0.8 GB for the bundle);
# --keep keeps it.
# CI never runs it: the fill alone takes minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"

records=1000000 small="" connections=64 threads=2 build=1 keep="" parent=${TMPDIR:-/tmp}
while (($#)); do
  case "$1" in
    --records) records=$2; shift 2 ;;
    --small) small=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --dir) parent=$2; shift 2 ;;
    --no-build) build=""; shift ;;
    --keep) keep=1; shift ;;
    *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
small=${small:-$((records / 5))}
[ "$small" -ge 2 ] && [ "$records" -gt "$small" ] || { echo "need 2 <= --small < --records" >&2; exit 2; }

say() { printf '\033[1mbench:\033[0m %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

missing=()
command -v wrk >/dev/null || missing+=(wrk)
[ -x /usr/bin/time ] || missing+=(time)
command -v jq >/dev/null || missing+=(jq)
if ((${#missing[@]})); then
  say "installing ${missing[*]} (apt)"
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
  $sudo_ apt-get update -qq
  $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ -n "$build" ]; then
  say "building the release server"
  cargo build -q --release -p biscotte-server
fi
bin=$PWD/target/release/biscotte
[ -x "$bin" ] || die "$bin is missing: run without --no-build"

mkdir -p "$parent"
work=$(mktemp -d "$parent/biscotte-log-bench.XXXXXX")
server_pid="" wrk_pid=""
cleanup() {
  for p in $wrk_pid $server_pid; do
    if kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null || true; fi
  done
  if [ -n "$keep" ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
store="$work/store"
cp www/demo/site.toml "$work/site.toml"
"$bin" --data-dir "$store" site create --file "$work/site.toml" >/dev/null 2>&1
vkey=$("$bin" --data-dir "$store" vkey --site demo)
auditor=$("$bin" --data-dir "$store" token issue --role auditor --site demo)
export RUST_LOG=${RUST_LOG:-warn}

# start_server: serves the store on a free loopback port; sets base, revision and opened (seconds
# from launch to listening: opening the store).
start_server() {
  local t0 t1
  : >"$work/stdout"
  t0=$(date +%s.%N)
  BISCOTTE_RATE_LIMIT_PER_MINUTE=0 "$bin" --data-dir "$store" serve --bind 127.0.0.1:0 \
    >"$work/stdout" 2>>"$work/server.log" &
  server_pid=$!
  base=""
  for _ in $(seq 1200); do
    base=$(sed -n 's/^Biscotte listening on //p' "$work/stdout")
    [ -n "$base" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; die "the server exited"; }
    sleep 0.05
  done
  [ -n "$base" ] || die "the server did not announce its address within 60 s"
  t1=$(date +%s.%N)
  opened=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  revision=$(curl -sf --max-time 10 "$base/api/v1/sites/demo/config" | jq -r .revision)
  [ -n "$revision" ] && [ "$revision" != null ] || die "no revision from $base/api/v1/sites/demo/config"
}

# stop_server: SIGTERM, then waits (the writer finishes its batch); sets server_rss_kib (VmHWM).
stop_server() {
  server_rss_kib=$(awk '/^VmHWM:/ { print $2 }' "/proc/$server_pid/status" 2>/dev/null || echo 0)
  kill -TERM "$server_pid" 2>/dev/null || true
  for _ in $(seq 600); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$server_pid" 2>/dev/null; then
    say "the server did not exit within 60 s of SIGTERM (killed)"
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

decided=0 # decisions in the store
fills=0
# fill TARGET: posts decisions until the store holds TARGET, the last one with curl, whose 201
# answer is kept in $work/answer-TARGET.json; sets fill_rate (decisions/s of the wrk part).
fill() {
  local target=$1 quota=$(($1 - decided - 1)) done_dir t0 t1 out
  fills=$((fills + 1))
  done_dir="$work/done-$fills"
  mkdir -p "$done_dir"
  out="$work/wrk-$target.txt"
  say "filling to $target decisions ($quota with wrk, $connections connections)"
  t0=$(date +%s.%N)
  BENCH_MODE=decisions BENCH_REVISION=$revision BENCH_SITE=demo BENCH_ORIGIN=http://127.0.0.1:8080 \
    BENCH_RUN=$fills BENCH_QUOTA=$quota BENCH_THREADS=$threads BENCH_DONE_DIR=$done_dir \
    wrk -t"$threads" -c"$connections" -d3600s --timeout 10s -s bench/load/wrk.lua \
    "$base/api/v1/sites/demo/consents" >"$out" 2>&1 &
  wrk_pid=$!
  # Each wrk thread marks its share answered; wrk itself only ends at -d or on SIGINT.
  while [ "$(find "$done_dir" -type f | wc -l)" -lt "$threads" ]; do
    kill -0 "$wrk_pid" 2>/dev/null || break
    kill -0 "$server_pid" 2>/dev/null || die "the server exited during the fill"
    sleep 0.2
  done
  t1=$(date +%s.%N)
  kill -INT "$wrk_pid" 2>/dev/null || true
  wait "$wrk_pid" || true
  wrk_pid=""
  local ok other noproof
  ok=$(sed -n 's/^RESULT.* ok=\([0-9]*\).*/\1/p' "$out")
  other=$(sed -n 's/^RESULT.* other=\([0-9]*\).*/\1/p' "$out")
  noproof=$(sed -n 's/^RESULT.* noproof=\([0-9]*\).*/\1/p' "$out")
  [ "${ok:-0}" = "$quota" ] || { cat "$out" >&2; die "wrk got $ok proofs for $quota decisions ($other other answers, $noproof without proof)"; }
  fill_rate=$(awk -v n="$quota" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
  local body status
  body=$(printf '{"consent_id":"cccccccc%024x","revision":"%s","method":"custom","categories":{"analytics":true},"services":{"google_analytics":true,"hotjar":false},"language":"fr","url":"http://127.0.0.1:8080/demo/","decision_id":"dddddddd%024x"}' "$target" "$revision" "$target")
  status=$(curl -s -o "$work/answer-$target.json" -w '%{http_code}' --max-time 30 \
    -H 'Content-Type: application/json' -H 'Origin: http://127.0.0.1:8080' -d "$body" \
    "$base/api/v1/sites/demo/consents" || true)
  [ "$status" = 201 ] || die "the last decision got $status: $(cat "$work/answer-$target.json" 2>/dev/null)"
  # An older leaf's proof in the same tree, as an auditor asks for it: the typical length.
  curl -sf --max-time 30 -H "Authorization: Bearer $auditor" -o "$work/proof-middle-$target.txt" \
    "$base/api/v1/sites/demo/log/proof/inclusion?index=$((target / 2))" ||
    die "no inclusion proof of leaf $((target / 2))"
  decided=$target
}

# timed NAME SIZE COMMAND...: runs under /usr/bin/time -v; sets wall (s), rss (KiB), cpu (s).
timed() {
  local name=$1 size=$2 tf
  shift 2
  tf="$work/time-$name-$size.txt"
  if ! /usr/bin/time -v -o "$tf" timeout 3600 "$@" >"$work/out-$name-$size.txt" 2>&1; then
    say "$name failed at $size decisions:"; tail -5 "$work/out-$name-$size.txt" >&2
  fi
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$tf")
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tf")
  cpu=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.2f", u + s }' "$tf")
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
per() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "n/a" }'; }
group() { printf "%'d" "$1" 2>/dev/null || echo "$1"; }

declare -A R # results, keyed "name,size"
for size in "$small" "$records"; do
  start_server
  R[opened,$size]=$opened
  fill "$size"
  R[fill,$size]=$fill_rate
  stop_server
  R[server_rss,$size]=$server_rss_kib
  say "measuring at $size decisions"

  # Bytes on disk, and what of them are sled's own files.
  total=$(du -sb "$store" | cut -f1)
  db=$(stat -c %s "$store/db" 2>/dev/null || echo 0)
  blobs=$(du -sb "$store/blobs" 2>/dev/null | cut -f1 || echo 0)
  snaps=$(find "$store" -maxdepth 1 -name 'snap.*' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
  R[disk,$size]=$total R[db,$size]=$db R[blobs,$size]=$blobs R[snaps,$size]=$snaps

  timed export-bundle "$size" "$bin" --data-dir "$store" export --site demo --bundle --out "$work/bundle.ndjson"
  R[xb_wall,$size]=$wall R[xb_rss,$size]=$rss R[xb_cpu,$size]=$cpu
  R[xb_bytes,$size]=$(stat -c %s "$work/bundle.ndjson")
  timed verify-bundle "$size" "$bin" verify --bundle "$work/bundle.ndjson" --key "$vkey"
  R[vb_wall,$size]=$wall R[vb_rss,$size]=$rss R[vb_cpu,$size]=$cpu
  R[vb_ok,$size]=$(grep -c '^every leaf verifies' "$work/out-verify-bundle-$size.txt" || true)
  # The mean leaf (its canonical bytes) over the bundle's first 20,000 decisions.
  R[leaf_bytes,$size]=$(head -20001 "$work/bundle.ndjson" | tail -n +2 | jq -r 'select(.record) | .leaf' |
    awk '{ n++; s += int(length($0) / 4) * 3 - gsub(/=/, "") } END { printf "%.0f", s / n }')
  rm -f "$work/bundle.ndjson"
  timed export-ndjson "$size" "$bin" --data-dir "$store" export --site demo --format ndjson --out "$work/export.ndjson"
  R[xn_wall,$size]=$wall R[xn_rss,$size]=$rss R[xn_cpu,$size]=$cpu
  R[xn_bytes,$size]=$(stat -c %s "$work/export.ndjson")
  R[xn_lines,$size]=$(wc -l <"$work/export.ndjson")
  rm -f "$work/export.ndjson"
  timed verify-site "$size" "$bin" --data-dir "$store" verify --site demo
  R[vs_wall,$size]=$wall R[vs_rss,$size]=$rss R[vs_cpu,$size]=$cpu
  R[vs_ok,$size]=$(grep -c 'verifies$' "$work/out-verify-site-$size.txt" || true)
  R[checkpoints,$size]=$(sed -n 's/.* \([0-9]*\) checkpoints checked.*/\1/p' "$work/out-verify-site-$size.txt")
  leaves=$(sed -n 's/.*: \([0-9]*\) leaves (.*/\1/p' "$work/out-verify-site-$size.txt")
  R[leaves,$size]=${leaves:-0}

  # The kept answer's proof: bytes of the field, and its hashes (the lines between "index" and
  # the blank line before the checkpoint).
  proof=$(jq -r .proof "$work/answer-$size.json")
  R[proof_bytes,$size]=$(printf '%s' "$proof" | wc -c)
  R[proof_hashes,$size]=$(printf '%s\n' "$proof" | sed -n '/^index /,/^$/p' | grep -vc '^index \|^$' || true)
  R[checkpoint_bytes,$size]=$(printf '%s\n' "$proof" | sed -n '/^index /,$p' | sed -n '/^$/,$p' | tail -n +2 | wc -c)
  R[leaf_index,$size]=$(jq -r .leaf_index "$work/answer-$size.json")
  R[middle_bytes,$size]=$(wc -c <"$work/proof-middle-$size.txt")
  R[middle_hashes,$size]=$(sed -n '/^index /,/^$/p' "$work/proof-middle-$size.txt" | grep -vc '^index \|^$' || true)
done

# The table.
S=$small N=$records
row() { printf '%-44s %16s %16s  %s\n' "$@"; }
echo
echo "Log benchmark: $(group "$S") and $(group "$N") decisions of the demo site (+1 revision leaf), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
row "" "$(group "$S")" "$(group "$N")" "target at $(group "$N")"
row "fill through the server (decisions/s)" "${R[fill,$S]}" "${R[fill,$N]}" ""
row "server: opening the store (s)" "${R[opened,$S]}" "${R[opened,$N]}" ""
row "server: peak RSS after the fill (MiB)" "$(mib "${R[server_rss,$S]}")" "$(mib "${R[server_rss,$N]}")" ""
for k in xb:"export --bundle" vb:"verify --bundle" xn:"export --format ndjson" vs:"verify --site"; do
  p=${k%%:*} label=${k#*:}
  target=""
  case $p in
    xb) target="<= 5 s: $(awk -v w="${R[xb_wall,$N]}" 'BEGIN { print (w <= 5) ? "met" : "MISSED" }')" ;;
    vb) target="<= 10 s: $(awk -v w="${R[vb_wall,$N]}" 'BEGIN { print (w <= 10) ? "met" : "MISSED" }')" ;;
  esac
  row "$label: wall s (cpu s)" "${R[${p}_wall,$S]} (${R[${p}_cpu,$S]})" "${R[${p}_wall,$N]} (${R[${p}_cpu,$N]})" "$target"
  row "  decisions/s" "$(per "$S" "${R[${p}_wall,$S]}")" "$(per "$N" "${R[${p}_wall,$N]}")" ""
  flat=$(awk -v a="${R[${p}_rss,$S]}" -v b="${R[${p}_rss,$N]}" 'BEGIN { printf "%s (x%.2f)", (b <= 1.25 * a + 8192) ? "flat" : "GROWS", b / a }')
  row "  peak RSS MiB" "$(mib "${R[${p}_rss,$S]}")" "$(mib "${R[${p}_rss,$N]}")" "$( [ "$p" = xb ] || [ "$p" = vb ] && echo "memory flat: $flat" || echo "$flat")"
done
row "bundle bytes (per decision)" "${R[xb_bytes,$S]} ($(per "${R[xb_bytes,$S]}" "$S"))" "${R[xb_bytes,$N]} ($(per "${R[xb_bytes,$N]}" "$N"))" ""
row "ndjson bytes (per decision)" "${R[xn_bytes,$S]} ($(per "${R[xn_bytes,$S]}" "$S"))" "${R[xn_bytes,$N]} ($(per "${R[xn_bytes,$N]}" "$N"))" ""
row "verified: bundle / store (leaves)" "${R[vb_ok,$S]}/${R[vs_ok,$S]} (${R[leaves,$S]})" "${R[vb_ok,$N]}/${R[vs_ok,$N]} (${R[leaves,$N]})" "1/1 = both verify"
row "store on disk, bytes per decision" "$(per "${R[disk,$S]}" "$S")" "$(per "${R[disk,$N]}" "$N")" \
  "<= 600 B: $(awk -v d="${R[disk,$N]}" -v n="$N" 'BEGIN { print (d / n <= 600) ? "met" : "MISSED" }')"
for f in db blobs snaps; do
  row "  sled $([ $f = snaps ] && echo 'snap.*' || { [ $f = blobs ] && echo 'blobs/' || echo db; }), bytes per decision" \
    "$(per "${R[$f,$S]}" "$S")" "$(per "${R[$f,$N]}" "$N")" ""
done
row "  (du -sb of the store, MB)" "$(awk -v b="${R[disk,$S]}" 'BEGIN { printf "%.1f", b / 1e6 }')" "$(awk -v b="${R[disk,$N]}" 'BEGIN { printf "%.1f", b / 1e6 }')" ""
row "content: mean leaf bytes" "${R[leaf_bytes,$S]}" "${R[leaf_bytes,$N]}" ""
row "content: checkpoints kept (one per batch)" "${R[checkpoints,$S]}" "${R[checkpoints,$N]}" ""
cp_per() { awk -v b="${R[checkpoint_bytes,$1]}" -v c="${R[checkpoints,$1]}" -v n="$1" 'BEGIN { printf "%d, %.0f", b, b * c / n }'; }
row "content: checkpoint bytes, per decision" "$(cp_per "$S")" "$(cp_per "$N")" ""
row "proof in the last 201: bytes, hashes" "${R[proof_bytes,$S]}, ${R[proof_hashes,$S]}" "${R[proof_bytes,$N]}, ${R[proof_hashes,$N]}" \
  "leaf $(group "${R[leaf_index,$N]}"), the newest: a short path"
row "proof of leaf N/2 (auditor route): bytes, hashes" "${R[middle_bytes,$S]}, ${R[middle_hashes,$S]}" "${R[middle_bytes,$N]}, ${R[middle_hashes,$N]}" \
  "at most $(awk -v n="$N" 'BEGIN { print int(log(n + 1) / log(2) + 0.999999) }') hashes at $(group "$N")"
