# Shared helpers for the integration suites: TAP output, a private D-Bus
# system-type bus that applies berth's real bus policy, a throwaway storage
# root on a tmpfs, and berthd started on them. Source it from a test script.
set -uo pipefail

: "${BUILD_DIR:?run through meson test (BUILD_DIR unset)}"
: "${SOURCE_DIR:?run through meson test (SOURCE_DIR unset)}"
BERTHD="$BUILD_DIR/src/daemon/berthd"
BERTHCTL="$BUILD_DIR/src/ctl/berthctl"

_tap_n=0
_tap_failed=0
_pids=()

ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
not_ok() { _tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1)); echo "not ok $_tap_n - $*"; }
diag() { sed 's/^/# /' <<<"$*"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }

# check DESCRIPTION COMMAND...: one TAP line for a command's success.
check() {
  local desc=$1; shift
  local out
  if out=$("$@" 2>&1); then ok "$desc"; else not_ok "$desc"; diag "$out"; fi
}

# expect_fail DESCRIPTION EXIT_CODE PATTERN COMMAND...: the command fails with
# that exit code and prints exactly one line on stderr that matches PATTERN.
expect_fail() {
  local desc=$1 code=$2 pattern=$3; shift 3
  local err rc lines
  err=$("$@" 2>&1 >/dev/null); rc=$?
  lines=$(printf '%s' "$err" | grep -c '')
  if [ "$rc" = "$code" ] && [ "$lines" = 1 ] && grep -qE -- "$pattern" <<<"$err"; then
    ok "$desc"
  else
    not_ok "$desc"; diag "exit $rc (wanted $code), $lines stderr lines (wanted 1): $err"
  fi
}

# assert_match DESCRIPTION PATTERN TEXT
assert_match() {
  if grep -qE -- "$2" <<<"$3"; then ok "$1"; else not_ok "$1"; diag "no \"$2\" in: $3"; fi
}

# A scratch directory on a tmpfs (file creation on the development machines'
# disk is ~30x slower), removed at exit with everything started in it.
setup_scratch() {
  SCRATCH=$(mktemp -d /tmp/berth-test.XXXXXX)
  if [ "$(id -u)" = 0 ] && mount -t tmpfs -o mode=0755 berth-test "$SCRATCH" 2>/dev/null; then
    SCRATCH_MOUNTED=1
  else
    SCRATCH_MOUNTED=0
  fi
  trap cleanup EXIT
}

cleanup() {
  local pid
  for pid in "${_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${_pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [ "${SCRATCH_MOUNTED:-0}" = 1 ]; then umount -l "$SCRATCH" 2>/dev/null || true; fi
  rm -rf "$SCRATCH"
}

# A private bus of the system type that includes berth's own policy file, so
# tests see what the real system bus allows and denies.
start_bus() {
  local conf="$SCRATCH/bus.conf"
  BUS_SOCKET="$SCRATCH/bus.sock"
  BUS_ADDRESS="unix:path=$BUS_SOCKET"
  cat > "$conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>$BUS_ADDRESS</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_destination="org.freedesktop.DBus"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
  </policy>
  <include>$SOURCE_DIR/dbus/org.berth.berth1.conf</include>
</busconfig>
CONF
  local pid
  pid=$(dbus-daemon --config-file="$conf" --fork --print-pid) || { echo "Bail out! cannot start dbus-daemon"; exit 1; }
  _pids+=("$pid")
  for _ in $(seq 1 50); do [ -S "$BUS_SOCKET" ] && break; sleep 0.05; done
  chmod 0755 "$SCRATCH"
  export BERTH_BUS_ADDRESS=$BUS_ADDRESS
}

# start_berthd [ARGS...]: berthd on the private bus with a fresh root; waits
# until it owns its name. Sets BERTHD_PID, ROOT, RUN_DIR, BERTHD_LOG.
start_berthd() {
  ROOT=${ROOT:-$SCRATCH/root}
  RUN_DIR=${RUN_DIR:-$SCRATCH/run}
  BERTHD_LOG=$SCRATCH/berthd.log
  "$BERTHD" --bus-address "$BUS_ADDRESS" --root "$ROOT" --run-dir "$RUN_DIR" \
    --config "${CONFIG:-$SCRATCH/berth.conf}" "$@" >>"$BERTHD_LOG" 2>&1 &
  BERTHD_PID=$!
  _pids+=("$BERTHD_PID")
  wait_for_name || { echo "Bail out! berthd did not start:"; sed 's/^/# /' "$BERTHD_LOG"; exit 1; }
}

wait_for_name() {
  local i
  for i in $(seq 1 200); do
    if gdbus call --address "$BUS_ADDRESS" --dest org.freedesktop.DBus \
        --object-path /org/freedesktop/DBus --method org.freedesktop.DBus.NameHasOwner \
        org.berth.berth1 2>/dev/null | grep -q true; then
      return 0
    fi
    kill -0 "$BERTHD_PID" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

stop_berthd() {
  kill "$BERTHD_PID" 2>/dev/null
  wait "$BERTHD_PID" 2>/dev/null
}

bctl() { "$BERTHCTL" "$@"; }

# Containers outlive berthd by design: whatever a test leaves running (after
# a failure) is killed through its cgroup before the scratch goes, thawed
# first in case a commit had frozen it.
kill_containers() {
  local d f
  for d in "$SCRATCH"/root/containers/*/; do
    f=/sys/fs/cgroup/unified/berth/$(basename "$d")/cgroup.procs
    [ -e "$f" ] && echo 0 >"$(dirname "$f")/cgroup.freeze" 2>/dev/null
    [ -e "$f" ] && xargs -r kill -9 <"$f" 2>/dev/null
  done
}

# setup_containers: the start of a test that runs containers: skips unless
# root, then a scratch, the bus and berthd with berth-runtime and berth-init
# (RUNTIME, INIT); the containers are killed at exit.
setup_containers() {
  [ "$(id -u)" = 0 ] || skip_all "needs root (namespaces, mounts, cgroups)"
  RUNTIME="$BUILD_DIR/src/runtime/berth-runtime"
  INIT="$BUILD_DIR/src/runtime/berth-init"
  setup_scratch
  trap 'kill_containers; cleanup' EXIT
  start_bus
  printf '[runtime]\npath=%s\ninit=%s\n' "$RUNTIME" "$INIT" >"$SCRATCH/berth.conf"
  start_berthd
}

# import_busybox [FILE...]: the busybox image imported as "busybox", with
# the FILEs added to its /bin; its root file system stays in $SCRATCH/bbroot.
# Bails out when it cannot be made.
import_busybox() {
  "$SOURCE_DIR/tests/lib/make-busybox-image" rootfs "$SCRATCH/bbroot" \
    || { echo "Bail out! cannot build the busybox root file system"; exit 1; }
  [ $# = 0 ] || cp "$@" "$SCRATCH/bbroot/bin/" \
    || { echo "Bail out! cannot add $* to the busybox image"; exit 1; }
  tar --numeric-owner --owner=0 --group=0 -C "$SCRATCH/bbroot" -czf "$SCRATCH/busybox.tar.gz" . \
    || { echo "Bail out! cannot pack the busybox image"; exit 1; }
  bctl import "$SCRATCH/busybox.tar.gz" busybox >/dev/null \
    || { echo "Bail out! cannot import busybox"; exit 1; }
}

finish() {
  echo "1..$_tap_n"
  [ "$_tap_failed" = 0 ]
}
