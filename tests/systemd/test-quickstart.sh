#!/usr/bin/env bash
# sudo tools/quickstart on a machine where systemd is PID 1, run twice, in a
# throwaway sandbox: it must install, start berthd through systemd and show
# the info table both times.
. "$(dirname "$0")/lib.sh"
boot_sandbox
# Container roots are overlay mounts, and an overlay's upper directory cannot
# live on the sandbox's own overlay root: give the storage root a tmpfs, as
# a real machine gives it a real file system.
in_sandbox sh -c "mkdir -p /var/lib/berth && mount -t tmpfs -o mode=0711 berth /var/lib/berth"
in_sandbox sh -c "rm -rf /var/tmp/berth-src && cp -a '$SOURCE_DIR' /var/tmp/berth-src && rm -rf /var/tmp/berth-src/build*"

for round in first second; do
  out=$(in_sandbox sh -c 'cd /var/tmp/berth-src && tools/quickstart' 2>&1); rc=$?
  [ $rc = 0 ] && ok "quickstart succeeds ($round run)" || { not_ok "quickstart ($round run, exit $rc)"; diag "$(tail -20 <<<"$out")"; }
  assert_match "quickstart shows the info table with systemd ($round run)" "Cgroup manager: +systemd" "$out"
  assert_match "quickstart imports busybox through berthd ($round run)" "^busybox +latest +[0-9a-f]{12} " "$out"
  assert_match "quickstart runs containers ($round run)" "hello from a berth container" "$out"
  assert_match "quickstart pushes to berth-registry and finds it in the index ($round run)" "^127.0.0.1:5050/demo/busybox " "$out"
  assert_match "quickstart pulls the image back and runs it ($round run)" "pulled back, verified, and running" "$out"
done
assert_match "berthd.service is active after the quickstart" "^active\$" "$(in_sandbox systemctl is-active berthd 2>&1)"
assert_match "the documented config was put in /etc/berth" "^\[storage\]" "$(in_sandbox cat /etc/berth/berth.conf 2>&1)"

finish
