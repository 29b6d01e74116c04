#!/usr/bin/env bash
# The release archive, installed as deploy/README.md installs it and started as biscotte.service
# starts it, from the unpacked folder alone:
#   tests/dist/check.sh target/dist/biscotte-<version>-<arch>-linux.tar.gz
# It checks the archive's layout (one folder biscotte-<version>/, owner 0, the files the server and
# the walk-through need, no engines/), that SHA256SUMS lists every file and matches; then, in a
# temporary directory standing for /opt/biscotte, /etc/biscotte and /var/lib/biscotte, it runs the
# unit's ExecStartPre and ExecStart lines with those paths, on deploy/biscotte.toml, in an empty
# working directory with a clean environment and a free loopback port; creates the demo site from
# the unpacked www/ (as an operator creates theirs), and checks over HTTP: /readyz, the demo page,
# /biscotte.js and /sites/demo/biscotte.js, the engine they name (brotli when asked, the archive's
# bytes), a decision (201 with its proof, which bin/biscotte verify --receipt checks under the
# public_name of the configuration); that the signing key is private and that engines/ is kept in
# the state directory, also across a second start; and that SIGTERM stops the server with 0.
# Exits 1 on the first failure, saying what and printing the server's log.
set -euo pipefail
export LC_ALL=C

[ $# -eq 1 ] || { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
archive=$(realpath "$1")
repo=$(cd "$(dirname "$0")/../.." && pwd)
version=$(awk -F'"' '/^\[/ { section = $0 } section == "[workspace.package]" && /^version *=/ { print $2; exit }' "$repo/Cargo.toml")
top=biscotte-$version

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\033[1mdist:\033[0m %s\n' "$*" >&2; }
fail() {
  say "FAIL: $*"
  [ -s "$work/server.log" ] && { say "the server's log:"; tail -n 40 "$work/server.log" >&2; }
  exit 1
}

# --- the archive -----------------------------------------------------------------------------
[ -f "$archive" ] || fail "$archive does not exist: run ./dev dist"
case "$(basename "$archive")" in
  "$top"-*-linux.tar.gz) ;;
  *) fail "$(basename "$archive") is not named $top-<arch>-linux.tar.gz" ;;
esac
tar -tzf "$archive" >"$work/names" || fail "$archive is not a gzip'd tar"
outside=$(grep -v "^$top/" "$work/names" || true)
[ -z "$outside" ] || fail "entries outside $top/: $(echo "$outside" | head -3)"
owners=$(tar --numeric-owner -tvzf "$archive" | awk '$2 != "0/0"' | head -3)
[ -z "$owners" ] || fail "entries not owned by 0/0: $owners"

# /opt/biscotte, /etc/biscotte and /var/lib/biscotte of the walk-through, in the temporary directory.
opt=$work/opt/biscotte etc=$work/etc/biscotte state=$work/var/lib/biscotte
mkdir -p "$work/opt" "$etc" "$work/cwd" "$work/var/lib" && mkdir -m 0700 "$state"
tar -xzf "$archive" -C "$work/opt" && mv "$work/opt/$top" "$opt"

for file in bin/biscotte banner/loader.js banner/biscotte_banner_bg.wasm banner/biscotte_banner_bg.wasm.br \
  banner/biscotte_banner_bg.wasm.gz www/index.html www/demo/index.html www/demo/site.toml README SHA256SUMS \
  deploy/README.md deploy/biscotte.service deploy/biscotte.toml deploy/refresh-banner deploy/Caddyfile deploy/nginx.conf; do
  [ -f "$opt/$file" ] || fail "the archive has no $top/$file"
done
for file in bin/biscotte deploy/refresh-banner; do
  [ -x "$opt/$file" ] || fail "$top/$file is not executable"
done
[ ! -e "$opt/banner/engines" ] || fail "the archive holds banner/engines/, the server's own record of earlier builds"

(cd "$opt" && sha256sum --check --strict --quiet SHA256SUMS) || fail "SHA256SUMS does not match the files"
diff <(sed 's/^[0-9a-f]\{64\}  //' "$opt/SHA256SUMS") <(cd "$opt" && find . -type f ! -path ./SHA256SUMS | sed 's|^\./||' | sort) >&2 ||
  fail "SHA256SUMS does not list exactly the archive's other files"
say "ok: $(wc -l <"$work/names") entries under $top/, SHA256SUMS matches every file"

# --- installed as the walk-through says ------------------------------------------------------
# The unit's and the configuration's paths, moved into the temporary directory.
relocate() { sed -e "s|/opt/biscotte|$opt|g" -e "s|/etc/biscotte|$etc|g" -e "s|/var/lib/biscotte|$state|g"; }
relocate <"$opt/deploy/biscotte.toml" >"$etc/biscotte.toml"
unit_line() {
  local line
  line=$(sed -n "s/^$1=//p" "$opt/deploy/biscotte.service")
  # Several lines, or none, read as none: the caller fails.
  [ "$(printf '%s\n' "$line" | grep -c .)" = 1 ] && printf '%s\n' "$line" | relocate
}
read -r -a start_pre <<<"$(unit_line ExecStartPre)"
read -r -a start <<<"$(unit_line ExecStart)"
((${#start_pre[@]} && ${#start[@]})) || fail "biscotte.service needs one ExecStartPre= and one ExecStart= line"
# As systemd runs the service: from /, here an empty directory, with the unit's Environment= and
# none of the caller's BISCOTTE_*. It replaces its shell: call it in ( … ) or with &, whose $! is
# then the command itself.
unit_env=()
while read -r -a words; do unit_env+=("${words[@]}"); done < <(sed -n 's/^Environment=//p' "$opt/deploy/biscotte.service")
# systemd splits an Environment= line on spaces, with quotes; this reads the unquoted form only.
! grep -q "^Environment=.*[\"']" "$opt/deploy/biscotte.service" || fail "an Environment= line has quotes, which this check does not read"
as_service() { cd "$work/cwd" && exec env -i PATH=/usr/bin:/bin "${unit_env[@]}" "$@"; }
(as_service "$opt/bin/biscotte" --version) | grep -qx "biscotte $version" || fail "bin/biscotte --version does not say biscotte $version"

(as_service "${start_pre[@]}") || fail "the unit's ExecStartPre failed"
# The operator's own site, here the demo's site file from the archive.
(as_service "$opt/bin/biscotte" --config "$etc/biscotte.toml" site create --file "$opt/www/demo/site.toml") >/dev/null 2>"$work/create.log" ||
  fail "site create failed: $(cat "$work/create.log")"
[ "$(stat -c %a "$state/signing-key.pem" 2>/dev/null)" = 600 ] ||
  fail "the signing key is not at $state/signing-key.pem with mode 0600 (key_path of deploy/biscotte.toml)"

# Whether the server runs: an exited child stays a zombie (state Z) until it is waited for.
running() { [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$server_pid/stat" 2>/dev/null)" != Z ]; }

base="" starts=0
start_server() {
  # A file per start: the parent may read it before the child has opened it.
  local stdout=$work/stdout.$((starts += 1))
  base=""
  as_service "${start[@]}" --bind 127.0.0.1:0 >"$stdout" 2>>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 300); do
    base=$(sed -n 's/^Biscotte listening on //p' "$stdout" 2>/dev/null || true)
    [ -n "$base" ] && return 0
    running || fail "the server exited at start"
    sleep 0.1
  done
  fail "the server did not say where it listens within 30 s"
}

stop_server() {
  kill -TERM "$server_pid"
  local status=0
  for _ in $(seq 150); do
    running || break
    sleep 0.1
  done
  running && fail "the server still runs 15 s after SIGTERM"
  wait "$server_pid" || status=$?
  server_pid=""
  [ "$status" = 0 ] || fail "the server exited with $status after SIGTERM (systemd would restart it)"
}

# GET PATH [curl options…]: the body in $work/body, the headers in $work/headers; fails unless 200.
get() {
  local path=$1 status
  shift
  status=$(curl -s --max-time 10 -o "$work/body" -D "$work/headers" -w '%{http_code}' "$@" "$base$path") || true
  [ "$status" = 200 ] || fail "GET $path answered ${status:-nothing}, not 200"
}
header() { sed -n "s/^$1: *//Ip" "$work/headers" | tr -d '\r'; }

start_server
say "ok: the unit's lines started bin/biscotte on $base"

get /readyz
get /demo/
cmp -s "$work/body" "$opt/www/demo/index.html" || fail "/demo/ is not the archive's www/demo/index.html"
grep -q 'src="/sites/demo/biscotte.js"' "$work/body" || fail "/demo/ has no tag for /sites/demo/biscotte.js"

engine=biscotte_banner_bg.$(sha256sum "$opt/banner/biscotte_banner_bg.wasm" | cut -c1-12).wasm
for loader in /biscotte.js /sites/demo/biscotte.js; do
  get "$loader"
  header Content-Type | grep -q '^text/javascript' || fail "$loader is not served as JavaScript"
  grep -q "/assets/$engine" "$work/body" || fail "$loader does not name /assets/$engine, the archive's engine"
done
get "/assets/$engine" -H 'Accept-Encoding: br'
[ "$(header Content-Encoding)" = br ] || fail "the engine was not sent brotli to a client that asked for it"
cmp -s "$work/body" "$opt/banner/biscotte_banner_bg.wasm.br" || fail "the engine's brotli is not the archive's .wasm.br"
get "/assets/$engine"
[ "$(header Content-Type)" = application/wasm ] || fail "the engine is not served as application/wasm"
cmp -s "$work/body" "$opt/banner/biscotte_banner_bg.wasm" || fail "the engine is not the archive's wasm"
say "ok: /readyz, /demo/, both loaders and the engine (brotli when asked) from the unpacked folder"

get /api/v1/sites/demo/config
revision=$(grep -o '"revision":"[0-9a-f]*"' "$work/body" | head -1 | cut -d'"' -f4)
[ -n "$revision" ] || fail "no revision in /api/v1/sites/demo/config"
decision=$(printf '{"consent_id":"%s","revision":"%s","method":"accept_all","categories":{"analytics":true},"services":{},"language":"fr","url":"http://127.0.0.1:8080/demo/","decision_id":"%s"}' \
  "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" "$revision" "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')")
status=$(curl -s --max-time 10 -o "$work/answer.json" -w '%{http_code}' -H 'Content-Type: application/json' \
  -H 'Origin: http://127.0.0.1:8080' -d "$decision" "$base/api/v1/sites/demo/consents") || true
[ "$status" = 201 ] || fail "the decision was answered ${status:-nothing}, not 201: $(head -c 300 "$work/answer.json" 2>/dev/null)"
get /api/v1/sites/demo/log/vkey
vkey=$(tr -d '\n' <"$work/body")
public_name=$(sed -n 's/^public_name = "\(.*\)"$/\1/p' "$etc/biscotte.toml")
case "$vkey" in
  "$public_name/demo+"*) ;;
  *) fail "the log's verifier key $vkey is not named $public_name/demo: the configuration's public_name is not in force" ;;
esac
(as_service "$opt/bin/biscotte" verify --receipt "$work/answer.json" --key "$vkey") >"$work/verify.log" 2>&1 ||
  fail "bin/biscotte verify --receipt refused the decision's answer: $(cat "$work/verify.log")"
say "ok: a decision got 201, and its proof verifies offline under $public_name/demo"

manifest=$state/banner/engines/manifest.txt
grep -qx "$engine current" "$manifest" 2>/dev/null || fail "$manifest does not record $engine as current: the server cannot keep engines/"
stop_server
say "ok: SIGTERM stopped the server with 0"

# The next start, as after an upgrade: the served banner is the release's again, whatever was
# there before, and engines/ is kept.
echo 'stale' >"$state/banner/loader.js" && echo 'stale' >"$state/banner/left-by-an-earlier-build.js"
(as_service "${start_pre[@]}") || fail "the unit's ExecStartPre failed at the second start"
grep -qx "$engine current" "$manifest" 2>/dev/null || fail "the second ExecStartPre lost $manifest"
cmp -s "$state/banner/loader.js" "$opt/banner/loader.js" || fail "ExecStartPre did not put the release's loader.js back"
[ ! -e "$state/banner/left-by-an-earlier-build.js" ] || fail "ExecStartPre left a file of an earlier build in banner_dir"
start_server
get "/assets/$engine"
stop_server
say "ok: the second start kept engines/ in the state directory"
