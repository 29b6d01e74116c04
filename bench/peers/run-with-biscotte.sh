#!/usr/bin/env bash
# Measure Biscotte beside the peers (vanilla-cookieconsent, tarteaucitron, Klaro, Orejime, baseline)
# in one harness run.
#   bench/peers/run-with-biscotte.sh                  # 10 runs, every entry (about 10 minutes)
#   bench/peers/run-with-biscotte.sh --runs 3         # any option of run.sh / measure.mjs
#   bench/peers/run-with-biscotte.sh --runs 3 --only biscotte,orejime
#   bench/peers/run-with-biscotte.sh --runs 3 --network both   # loopback, then Lighthouse's mobileSlow4G
#
# 1. builds the banner (`./dev build`, from the repository root) and the release server, as it is
#    deployed (a debug server answers several times slower, which would be measured as the banner's);
# 2. registers the site of entries/biscotte/site.toml in a throw-away store (temporary directory);
# 3. serves it with `biscotte serve --bind 127.0.0.1:18790` (the port written in
#    entries/biscotte/index.html; the harness serves that entry's page on 127.0.0.1:18791, the
#    origin registered in site.toml);
# 4. runs ./run.sh with the given options (the tables go to bench/peers/results/tables.md); with
#    --network both, run.sh measures twice (loopback, then mobile) against the same server;
# 5. stops the server and deletes the store, also on failure or Ctrl-C.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PORT=18790      # Biscotte server; fixed in entries/biscotte/index.html and entry.json
PAGE_PORT=18791 # the harness's server for the biscotte entry; fixed in entry.json and site.toml

say() { printf 'run-with-biscotte: %s\n' "$*" >&2; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --network is checked before the build (minutes), not only by run.sh after it.
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --network) v="${args[i + 1]:-}" ;;
    --network=*) v="${args[i]#--network=}" ;;
    *) continue ;;
  esac
  case "$v" in loopback | mobile | both) ;; *) say "--network ${v:-(missing)}: expected loopback, mobile or both"; exit 2 ;; esac
done

for p in "$PORT" "$PAGE_PORT"; do
  if port_busy "$p"; then say "127.0.0.1:$p is already in use; stop what listens there first"; exit 1; fi
done

cd "$REPO"
say "building (./dev build, then the release server)"
./dev build
cargo build -q --release -p biscotte-server
BIN=target/release/biscotte

STORE="$(mktemp -d "${TMPDIR:-/tmp}/biscotte-bench.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$STORE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The CLI and the server read www/ and target/banner/ relative to the working directory (the
# repository root here); set explicitly so a BISCOTTE_* environment cannot point them elsewhere.
unset BISCOTTE_CONFIG BISCOTTE_DATA_DIR BISCOTTE_KEY_PATH BISCOTTE_BIND
export BISCOTTE_WWW_DIR="$REPO/www" BISCOTTE_BANNER_DIR="$REPO/target/banner"

say "registering site 'bench' in $STORE"
"$BIN" --data-dir "$STORE" site create --file bench/peers/entries/biscotte/site.toml >&2

say "serving on 127.0.0.1:$PORT"
"$BIN" --data-dir "$STORE" serve --bind "127.0.0.1:$PORT" >"$STORE/server.log" 2>&1 &
SERVER_PID=$!
# Ready when /readyz answers 200 (the store reads and its writer is alive); then the loader must
# answer too. Neither depends on the shape of the banner's configuration URL.
for _ in $(seq 1 100); do
  if curl -fsS --noproxy '*' -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then say "the server exited:"; cat "$STORE/server.log" >&2; exit 1; fi
  sleep 0.1
done
curl -fsS --noproxy '*' -o /dev/null "http://127.0.0.1:$PORT/biscotte.js" \
  || { say "the server does not answer on 127.0.0.1:$PORT"; cat "$STORE/server.log" >&2; exit 1; }

status=0
"$HERE/run.sh" "$@" || status=$?
if grep -qiE 'error|panic' "$STORE/server.log"; then
  say "server log (errors):"; grep -iE 'error|panic' "$STORE/server.log" | head -20 >&2
fi
exit "$status"
