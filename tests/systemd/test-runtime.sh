#!/usr/bin/env bash
# berth-runtime under a real systemd (booted in a throwaway nspawn sandbox):
# a cgroupsPath "machine.slice:berth:ID" becomes the transient scope
# berth-ID.scope with the resource limits as unit properties, and
# `systemctl stop` of the scope ends the container.
set -uo pipefail
: "${BUILD_DIR:?run through meson test}"
: "${SOURCE_DIR:?run through meson test}"

n=0; failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
diag() { sed 's/^/# /' <<<"$*"; }
assert_match() { if grep -qE -- "$2" <<<"$3"; then ok "$1"; else not_ok "$1"; diag "no \"$2\" in: $3"; fi; }

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root to boot systemd in a sandbox"; exit 0; }
command -v systemd-nspawn >/dev/null || { echo "1..0 # SKIP systemd-nspawn is not installed"; exit 0; }

SANDBOX="$SOURCE_DIR/tests/systemd/sandbox"
DIR=$(mktemp -d /tmp/berth-sandbox.XXXXXX)
trap '"$SANDBOX" stop "$DIR"' EXIT
binds=("$SOURCE_DIR")
case "$BUILD_DIR" in "$SOURCE_DIR"/*) ;; *) binds+=("$BUILD_DIR") ;; esac
if ! "$SANDBOX" start "$DIR" "${binds[@]}" 2>"$DIR.err"; then
  echo "Bail out! the sandbox did not boot: $(cat "$DIR.err")"; rm -f "$DIR.err"; exit 1
fi
rm -f "$DIR.err"
in_sandbox() { "$SANDBOX" exec "$DIR" "$@"; }
RT="$BUILD_DIR/src/runtime/berth-runtime"

in_sandbox sh -c "mkdir -p /tmp/rt && mount -t tmpfs rt /tmp/rt && \
  $SOURCE_DIR/tests/lib/make-busybox-image rootfs /tmp/rt/rootfs && cd /tmp/rt && \
  $RT spec --memory 33554432 --pids-limit 20 --cpus 0.5 --cgroups-path machine.slice:berth:sd1 -- \
    /bin/sh -c 'mknod /tmp/mem c 1 1; head -c 1 /tmp/mem >/dev/null 2>&1; echo mem-rc \$?; sleep 100'" >/dev/null 2>&1
out=$(in_sandbox sh -c "cd /tmp/rt && $RT --systemd-cgroup run -d sd1 </dev/null >/tmp/rt/out 2>&1; echo rc=\$?")
assert_match "run -d with a systemd cgroupsPath" "rc=0" "$out"
props=$(in_sandbox systemctl show berth-sd1.scope -p Slice -p Delegate -p MemoryMax -p TasksMax \
  -p CPUQuotaPerSecUSec -p Description -p ActiveState -p DevicePolicy -p DeviceAllow 2>&1)
assert_match "the scope berth-sd1.scope is active" "^ActiveState=active$" "$props"
assert_match "it lives in machine.slice" "^Slice=machine.slice$" "$props"
assert_match "it is delegated" "^Delegate=yes$" "$props"
assert_match "MemoryMax is the memory limit" "^MemoryMax=33554432$" "$props"
assert_match "TasksMax is the pids limit" "^TasksMax=20$" "$props"
assert_match "CPUQuotaPerSecUSec is the cpu quota" "^CPUQuotaPerSecUSec=500ms$" "$props"
assert_match "the scope's description names the container" "^Description=berth container sd1$" "$props"
assert_match "devices: a strict policy" "^DevicePolicy=strict$" "$props"
assert_match "devices: /dev/null is allowed" "^DeviceAllow=/dev/char/1:3 rwm$" "$props"
assert_match "devices: the pty group is allowed" "^DeviceAllow=char-pts rwm$" "$props"
pid=$(in_sandbox sh -c "$RT state sd1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
assert_match "the container's init is in the scope" "machine.slice/berth-sd1.scope" \
  "$(in_sandbox cat /proc/$pid/cgroup 2>&1)"
sleep 0.3
assert_match "device rules hold under systemd" "mem-rc 1" "$(in_sandbox cat /tmp/rt/out 2>&1)"
in_sandbox systemctl stop berth-sd1.scope
for _ in $(seq 1 50); do in_sandbox sh -c "$RT state sd1" | grep -q '"stopped"' && break; sleep 0.1; done
assert_match "systemctl stop of the scope stops the container" '"status": "stopped"' "$(in_sandbox sh -c "$RT state sd1" 2>&1)"
out=$(in_sandbox sh -c "$RT delete sd1; echo rc=\$?" 2>&1)
assert_match "delete after the scope stopped" "rc=0" "$out"
assert_match "the scope is gone" "^inactive$" "$(in_sandbox systemctl is-active berth-sd1.scope 2>&1)"

echo "1..$n"
[ "$failed" = 0 ]
