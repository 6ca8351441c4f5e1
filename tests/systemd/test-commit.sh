#!/usr/bin/env bash
# Commit under a real systemd (booted in a throwaway nspawn sandbox): a
# running container's scope is frozen while its changes are read and
# thawed after; the container keeps running in its scope and the new
# image has its changes.
. "$(dirname "$0")/lib.sh"
boot_sandbox
bctl() { in_sandbox berthctl "$@"; }

install_berth

# Enough data that the commit takes a while: the freeze is seen from outside.
id=$(bctl run -d --name db busybox sh -c 'mkdir /data; i=0; while [ $i -lt 300 ]; do
  head -c 200000 /dev/urandom >/data/f$i; i=$((i+1)); done; echo ready >/data/ready;
  while true; do echo t >>/tmp/ticks; sleep 0.05; done' 2>&1)
[[ "$id" =~ ^[0-9a-f]{64}$ ]] && ok "run -d starts a container" || { not_ok "run -d starts a container"; diag "$id"; }
scope=berth-$id.scope
for _ in $(seq 1 100); do bctl exec db test -e /data/ready 2>/dev/null && break; sleep 0.1; done

# Inside the sandbox: watch the scope's cgroup while the commit runs.
watch='cg=/sys/fs/cgroup$(systemctl show -p ControlGroup --value '"$scope"')
[ -e "$cg/cgroup.events" ] || cg=/sys/fs/cgroup/unified$(systemctl show -p ControlGroup --value '"$scope"')
( while [ ! -e /tmp/commit-done ]; do grep "^frozen" "$cg/cgroup.events"; done | sort -u >/tmp/freeze-states ) &
berthctl commit db db:v1 >/tmp/commit-out 2>&1; echo $? >/tmp/commit-rc; touch /tmp/commit-done; wait
cat /tmp/commit-rc /tmp/freeze-states; grep "^frozen" "$cg/cgroup.events"'
out=$(in_sandbox sh -c "$watch" 2>&1)

[ "$(head -1 <<<"$out")" = 0 ] && ok "commit of the running container" || { not_ok "commit of the running container"; diag "$(in_sandbox cat /tmp/commit-out)"; }
assert_match "its scope was frozen during the commit" "^frozen 1$" "$(sed -n '2,3p' <<<"$out")"
[ "$(tail -1 <<<"$out")" = "frozen 0" ] && ok "and thawed after" || not_ok "and thawed after"
log=$(in_sandbox journalctl -u berthd -o cat --no-pager 2>&1)
assert_match "berthd says how it froze the scope" "container db frozen for the commit \((systemd FreezeUnit|cgroup.freeze)\)" "$log"
diag "$(grep "frozen for the commit" <<<"$log")"
assert_match "the scope is still active" "^ActiveState=active$" "$(in_sandbox systemctl show "$scope" -p ActiveState 2>&1)"
n1=$(bctl exec db sh -c 'wc -l </tmp/ticks'); sleep 0.5; n2=$(bctl exec db sh -c 'wc -l </tmp/ticks')
[ "$n2" -gt "$n1" ] && ok "the container keeps running" || not_ok "the container keeps running ($n1 -> $n2)"
out=$(bctl run --rm db:v1 sh -c 'cat /data/ready; ls /data | wc -l' </dev/null 2>&1)
[ "$out" = "ready
301" ] && ok "the new image has the container's files" || { not_ok "the new image has the container's files"; diag "$out"; }
bctl rm -f db >/dev/null 2>&1

finish
