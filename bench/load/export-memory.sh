#!/usr/bin/env bash
# Memory of a server while it streams a large export: the PostgreSQL store's exports read the log
# page by page (PAGE leaves a query), so the server's memory should stay flat whatever the log's size.
#   bench/load/export-memory.sh [--store postgres|sled] [--records N] [--fill-max SECS]
#                               [--connections C] [--threads T] [--no-build] [--keep]
# Starts a throwaway PostgreSQL cluster as load/run.sh does (--store postgres, the default; fsync
# and synchronous_commit on), one server with the demo site, and fills the log through it with
# wrk (C connections, default 64, the decisions of load/wrk.lua) until it holds --records decisions
# (default 1,000,000) or --fill-max seconds (default 600) have passed, whichever comes first (the
# count is then what the log holds). Then, with an auditor token, it streams
# GET /api/v1/sites/demo/consents?format=ndjson and then ?format=bundle through curl to /dev/null,
# sampling the server's VmRSS (/proc/PID/status) every 0.2 s, and prints for each: RSS before,
# peak during, RSS after, bytes exported, records, time and MB/s. Exits 0 (it reports; it checks
# no target), 2 on a broken setup.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"

store_kind=postgres records=1000000 fill_max=600 connections=64 threads=2 build=1 keep=""
while (($#)); do
  case "$1" in
    --store) store_kind=$2; shift 2 ;;
    --records) records=$2; shift 2 ;;
    --fill-max) fill_max=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --no-build) build=""; shift ;;
    --keep) keep=1; shift ;;
    *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done

say() { printf '\033[1mbench:\033[0m %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }
case "$store_kind" in sled | postgres) ;; *) die "--store is postgres or sled, not $store_kind" ;; esac
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
if [ -n "$build" ]; then
  say "building the release server"
  cargo build -q --release -p biscotte-server
fi
bin=$PWD/target/release/biscotte
[ -x "$bin" ] || die "$bin is missing: run without --no-build"

work=$(mktemp -d)
server_pid="" wrk_pid="" sampler_pid=""
pg_dir="" pg_bin="" pg_port=""
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for p in $sampler_pid $wrk_pid $server_pid; do
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
  for p in $(seq 15532 15631); do
    if ! ss -Hltn "sport = :$p" | grep -q .; then pg_port=$p; break; fi
  done
  [ -n "$pg_port" ] || die "no free port for PostgreSQL in 15532-15631"
  pg_dir=$(mktemp -d /tmp/biscotte-bench-pg.XXXXXX)
  if [ "$(id -u)" = 0 ]; then chown postgres: "$pg_dir"; fi
  as_pg "$pg_bin/initdb" -D "$pg_dir/data" --auth=trust -U postgres >"$pg_dir/initdb.log" 2>&1 ||
    { cat "$pg_dir/initdb.log" >&2; die "initdb failed"; }
  as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
    -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null ||
    { cat "$pg_dir/log" >&2; die "PostgreSQL did not start"; }
  as_pg "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres biscotte_bench || die "createdb failed"
  export BISCOTTE_STORE=postgres BISCOTTE_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/biscotte_bench"
  say "PostgreSQL on 127.0.0.1:$pg_port ($pg_dir)"
fi

"$bin" --data-dir "$store" site create --file www/demo/site.toml >/dev/null
auditor=$("$bin" --data-dir "$store" token issue --role auditor --site demo)
export RUST_LOG=${RUST_LOG:-warn}
BISCOTTE_RATE_LIMIT_PER_MINUTE=0 "$bin" --data-dir "$store" serve --bind 127.0.0.1:0 >"$work/stdout" 2>"$work/server.log" &
server_pid=$!
base=""
for _ in $(seq 300); do
  base=$(sed -n 's/^Biscotte listening on //p' "$work/stdout")
  [ -n "$base" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; die "the server exited"; }
  sleep 0.1
done
[ -n "$base" ] || die "the server did not announce its address within 30 s"
revision=$(curl -sf --max-time 10 "$base/api/v1/sites/demo/config" | grep -o '"revision":"[^"]*"' | head -1 | cut -d'"' -f4)
[ -n "$revision" ] || die "no revision"

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status" 2>/dev/null || echo 0; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

# The fill: wrk.lua's quota mode (each thread stops once its share is answered), or --fill-max.
say "filling to $records decisions ($connections connections, at most $fill_max s)"
mkdir -p "$work/done"
t0=$(date +%s.%N)
BENCH_MODE=decisions BENCH_REVISION=$revision BENCH_SITE=demo BENCH_ORIGIN=http://127.0.0.1:8080 \
  BENCH_RUN=1 BENCH_QUOTA=$records BENCH_THREADS=$threads BENCH_DONE_DIR="$work/done" \
  wrk -t"$threads" -c"$connections" -d"${fill_max}s" --timeout 10s -s bench/load/wrk.lua \
  "$base/api/v1/sites/demo/consents" >"$work/fill.txt" 2>&1 &
wrk_pid=$!
while [ "$(find "$work/done" -type f | wc -l)" -lt "$threads" ]; do
  kill -0 "$wrk_pid" 2>/dev/null || break
  kill -0 "$server_pid" 2>/dev/null || die "the server exited during the fill"
  sleep 0.5
done
kill -INT "$wrk_pid" 2>/dev/null || true
wait "$wrk_pid" || true
wrk_pid=""
t1=$(date +%s.%N)
filled=$(sed -n 's/^RESULT.* ok=\([0-9]*\).*/\1/p' "$work/fill.txt")
fill_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')
say "filled: ${filled:-?} decisions answered 201 in $fill_s s ($(awk -v n="${filled:-0}" -v s="$fill_s" 'BEGIN { printf "%.0f", n / s }')/s)"
# Let the server settle (the writer's last batch, the pool's idle connections).
sleep 2

# stream NAME FORMAT: one export through curl, VmRSS sampled every 0.2 s.
stream() {
  local name=$1 format=$2 before peak after out sampler
  before=$(rss)
  : >"$work/rss-$name.txt"
  (while :; do rss >>"$work/rss-$name.txt"; sleep 0.2; done) &
  sampler_pid=$!
  out=$(curl -s --max-time 1800 -H "Authorization: Bearer $auditor" -o "$work/export-$name" \
    -w '%{http_code} %{size_download} %{time_total}' "$base/api/v1/sites/demo/consents?format=$format" || true)
  kill "$sampler_pid" 2>/dev/null || true
  wait "$sampler_pid" 2>/dev/null || true
  sampler_pid=""
  after=$(rss)
  peak=$(sort -n "$work/rss-$name.txt" | tail -1)
  [ "${peak:-0}" -ge "$after" ] || peak=$after
  local status bytes secs lines
  read -r status bytes secs <<<"$out"
  lines=$(wc -l <"$work/export-$name")
  rm -f "$work/export-$name"
  printf '%-8s %6s %15s %8s %9s %12s %12s %12s  %s\n' "$name" "$status" "$bytes" "$secs" \
    "$(awk -v b="$bytes" -v s="$secs" 'BEGIN { if (s > 0) printf "%.1f", b / s / 1e6; else print "n/a" }')" \
    "$(mib "$before")" "$(mib "$peak")" "$(mib "$after")" "$lines lines, $(wc -l <"$work/rss-$name.txt") samples"
}

echo "store $store_kind, ${filled:-?} decisions filled through one server in $fill_s s; server RSS after the fill $(mib "$(rss)")"
printf '%-8s %6s %15s %8s %9s %12s %12s %12s  %s\n' export status bytes seconds "MB/s" "RSS before" "RSS peak" "RSS after" notes
stream ndjson ndjson
stream bundle bundle
