# Helpers for the berth-registry tests: start a registry on a scratch root,
# make HTTP requests with curl and check status, headers and error codes.
# Source after lib.sh.
BERTH_REGISTRY="$BUILD_DIR/src/registry/berth-registry"

# The registry tests listen on fixed loopback ports (5100-5199); two test runs
# on one machine (two build directories or worktrees) take turns instead of
# answering each other's requests.
# A small holder process keeps the lock while this script lives, so that
# nothing the test starts inherits it.
_lock_marker=$(mktemp -u /tmp/berth-registry-lock.XXXXXX)
( exec 9>>/tmp/berth-registry-tests.lock; flock 9; : > "$_lock_marker"
  while kill -0 $$ 2>/dev/null; do sleep 0.2; done ) >/dev/null 2>&1 &
until [ -e "$_lock_marker" ]; do sleep 0.1; done
rm -f "$_lock_marker"
MAKE_IMAGE="$SOURCE_DIR/tests/integration/make-oci-image.py"

# start_registry NAME PORT [ARGS...]: a registry with root $SCRATCH/NAME.
# Sets REG_PID_<NAME>, and REG (http://127.0.0.1:PORT) for the last started.
start_registry() {
  local name=$1 port=$2; shift 2
  local root="$SCRATCH/$name" log="$SCRATCH/$name.log"
  mkdir -p "$root"
  [ -f "$SCRATCH/empty.conf" ] || : > "$SCRATCH/empty.conf"
  "$BERTH_REGISTRY" --config "$SCRATCH/empty.conf" --root "$root" --listen "127.0.0.1:$port" "$@" \
    >>"$log" 2>&1 &
  local pid=$!
  _pids+=("$pid")
  _reg_pids+=("$pid")
  eval "REG_PID_$name=$pid"
  REG="http://127.0.0.1:$port"
  # Ready when this process says it serves (another program answering on the
  # port, such as a second test run, must not be mistaken for it).
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    if [ "$(grep -c "serving $root on 127.0.0.1:$port" "$log")" -gt "${_reg_starts[$port]:-0}" ] \
       && curl -s -o /dev/null "$REG/v1/_ping"; then
      _reg_starts[$port]=$(grep -c "serving $root on 127.0.0.1:$port" "$log")
      return 0
    fi
    sleep 0.05
  done
  echo "Bail out! berth-registry $name did not start on port $port:"; sed 's/^/# /' "$log"; exit 1
}

# finish_registries: stops every registry started and checks that none
# reported a sanitizer error or leak, then prints the TAP plan.
_reg_pids=()
declare -A _reg_starts
finish_registries() {
  local pid reports
  for pid in "${_reg_pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${_reg_pids[@]}"; do wait "$pid" 2>/dev/null; done
  reports=$(grep -l -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$SCRATCH"/*.log 2>/dev/null)
  if [ -z "$reports" ]; then ok "no sanitizer reports from berth-registry"; else
    not_ok "sanitizer reports from berth-registry"; diag "$(grep -h -A20 -E "ERROR: |runtime error:" $reports | head -60)"; fi
  finish
}

# add_user ROOT_NAME USER PASSWORD [--admin]
add_user() {
  local name=$1 user=$2 pass=$3; shift 3
  printf '%s\n' "$pass" | "$BERTH_REGISTRY" --config "$SCRATCH/empty.conf" --root "$SCRATCH/$name" \
    user add "$user" "$@" >/dev/null
}

# req METHOD URL [CURL ARGS...]: sets STATUS; headers in $H, body in $B.
H=""; B=""
req() {
  local method=$1 url=$2; shift 2
  H="$SCRATCH/last.headers"; B="$SCRATCH/last.body"
  if [ "$method" = HEAD ]; then
    : > "$B"
    STATUS=$(curl -s --path-as-is -I -D "$H" -o /dev/null -w '%{http_code}' "$@" "$url")
  else
    STATUS=$(curl -s --path-as-is -X "$method" -D "$H" -o "$B" -w '%{http_code}' "$@" "$url")
  fi
}

header() { grep -i "^$1:" "$H" | head -1 | sed -e 's/^[^:]*: *//' -e 's/\r$//'; }
error_code() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["errors"][0]["code"])' "$B" 2>/dev/null; }

# expect DESC STATUS [ERROR_CODE]: the last request answered so.
expect() {
  local desc=$1 want=$2 code=${3:-}
  local got_code=""
  [ -n "$code" ] && got_code=$(error_code)
  if [ "$STATUS" = "$want" ] && { [ -z "$code" ] || [ "$got_code" = "$code" ]; }; then
    ok "$desc"
  else
    not_ok "$desc"; diag "status $STATUS (wanted $want), code \"$got_code\" (wanted \"$code\"): $(head -c 400 "$B")"
  fi
}

# expect_header DESC NAME REGEX
expect_header() {
  local value; value=$(header "$2")
  if grep -qE -- "$3" <<<"$value"; then ok "$1"; else not_ok "$1"; diag "$2: \"$value\" does not match $3"; fi
}

sha256() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }

# push_blob URL_BASE NAME FILE [CURL ARGS]: monolithic POST+PUT; prints the digest.
push_blob() {
  local base=$1 name=$2 file=$3; shift 3
  local digest loc
  digest=$(sha256 "$file")
  loc=$(curl -s -D - -o /dev/null -X POST "$@" "$base/v2/$name/blobs/uploads/" | grep -i '^location:' | sed -e 's/^[^:]*: *//' -e 's/\r$//')
  curl -s -f -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$file" "$@" \
    "$base$loc?digest=$digest" || return 1
  echo "$digest"
}

# image_manifest CONFIG_DIGEST CONFIG_SIZE LAYER_DIGEST LAYER_SIZE [EXTRA JSON MEMBERS]
image_manifest() {
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]%s}' "$1" "$2" "$3" "$4" "${5:-}"
}
