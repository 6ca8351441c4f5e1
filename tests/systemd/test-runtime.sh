#!/usr/bin/env bash
# berth-runtime under a real systemd (booted in a throwaway nspawn sandbox):
# a cgroupsPath "machine.slice:berth:ID" becomes the transient scope
# berth-ID.scope with the resource limits as unit properties, and
# `systemctl stop` of the scope ends the container.
. "$(dirname "$0")/lib.sh"
boot_sandbox
RT="$BUILD_DIR/src/runtime/berth-runtime"

in_sandbox sh -c "mkdir -p /tmp/rt && mount -t tmpfs rt /tmp/rt && \
  $SOURCE_DIR/tests/lib/make-busybox-image rootfs /tmp/rt/rootfs && mkdir /tmp/rt/status && cd /tmp/rt && \
  $RT spec --memory 33554432 --pids-limit 20 --cpus 0.5 --cgroups-path machine.slice:berth:sd1 \
    --init $BUILD_DIR/src/runtime/berth-init --status-dir /tmp/rt/status -- \
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
# berth-init is PID 1, as in berthd's bundles: it forwards systemd's SIGTERM
# (a shell as PID 1 ignores it, and the stop waits out the 90 s timeout).
t0=$(date +%s%N)
in_sandbox systemctl stop berth-sd1.scope
t1=$(date +%s%N)
[ $(( (t1 - t0) / 1000000 )) -lt 20000 ] && ok "systemctl stop of the scope ends it at once (SIGTERM)" \
  || not_ok "systemctl stop of the scope ends it at once (took $(( (t1 - t0) / 1000000 )) ms)"
# No wait: once the stop job is done, the init is gone and state says so.
assert_match "state says stopped right after the scope stopped" '"status": "stopped"' "$(in_sandbox sh -c "$RT state sd1" 2>&1)"
assert_match "berth-init recorded the command's end by SIGTERM" '"exitCode":143' "$(in_sandbox cat /tmp/rt/status/exit-status 2>&1)"
out=$(in_sandbox sh -c "$RT delete sd1; echo rc=\$?" 2>&1)
assert_match "delete after the scope stopped" "rc=0" "$out"
assert_match "the scope is gone" "^inactive$" "$(in_sandbox systemctl is-active berth-sd1.scope 2>&1)"

finish
