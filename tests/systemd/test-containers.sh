#!/usr/bin/env bash
# Containers under a real systemd (booted in a throwaway nspawn sandbox):
# each one in its scope berth-<id>.scope in machine.slice with its limits,
# registered with machined, its output in the journal with Docker's
# journald fields, `systemctl stop` of the scope noticed as an exit, and no
# log line lost across a restart of berthd (the pipes wait in the fd store).
. "$(dirname "$0")/lib.sh"
boot_sandbox
bctl() { in_sandbox berthctl "$@"; }

install_berth

id=$(bctl run -d --name web --memory 64m --pids-limit 40 --cpus 0.5 busybox \
  sh -c 'echo hello-journal; echo oops-journal >&2; exec sleep 300' 2>&1)
[[ "$id" =~ ^[0-9a-f]{64}$ ]] && ok "run -d starts a container" || { not_ok "run -d starts a container"; diag "$id"; }
scope=berth-$id.scope
props=$(in_sandbox systemctl show "$scope" -p ActiveState -p Slice -p MemoryMax -p TasksMax -p CPUQuotaPerSecUSec 2>&1)
assert_match "the scope $scope is active" "^ActiveState=active$" "$props"
assert_match "the scope is in machine.slice" "^Slice=machine.slice$" "$props"
assert_match "MemoryMax is set" "^MemoryMax=67108864$" "$props"
assert_match "TasksMax is set" "^TasksMax=40$" "$props"
assert_match "CPUQuotaPerSecUSec is set" "^CPUQuotaPerSecUSec=500ms$" "$props"
assert_match "the Unit property names the scope" "\"Unit\" : \"$scope\"" "$(bctl inspect web 2>&1)"

out=""
for _ in $(seq 1 50); do out=$(in_sandbox machinectl list --no-legend 2>&1); grep -q '^web ' <<<"$out" && break; sleep 0.1; done
assert_match "machinectl list shows the container" "^web +container +berth" "$out"
assert_match "machinectl status shows its leader" "Leader: [0-9]+" "$(in_sandbox machinectl status web --no-pager 2>&1)"

for _ in $(seq 1 50); do in_sandbox journalctl CONTAINER_NAME=web -o cat --no-pager 2>/dev/null | grep -q oops-journal && break; sleep 0.1; done
out=$(in_sandbox journalctl CONTAINER_NAME=web -o cat --no-pager 2>&1)
assert_match "journalctl CONTAINER_NAME= finds its stdout" "^hello-journal$" "$out"
assert_match "... and its stderr" "^oops-journal$" "$out"
out=$(in_sandbox journalctl CONTAINER_NAME=web -o json --no-pager 2>&1 | grep hello-journal)
assert_match "lines carry CONTAINER_ID_FULL" "\"CONTAINER_ID_FULL\":\"$id\"" "$out"
assert_match "lines carry IMAGE_NAME" '"IMAGE_NAME":"busybox"' "$out"
assert_match "lines carry SYSLOG_IDENTIFIER" '"SYSLOG_IDENTIFIER":"web"' "$out"
assert_match "stderr lines have priority 3" '"PRIORITY":"3"' "$(in_sandbox journalctl CONTAINER_NAME=web -o json --no-pager 2>&1 | grep oops-journal)"
assert_match "logs shows the output too" "hello-journal" "$(bctl logs web 2>&1)"
assert_match "status shows the scope and the machine" "Machine: web" "$(bctl status web 2>&1)"

in_sandbox systemctl stop "$scope"
out=$(in_sandbox timeout 20 berthctl wait web 2>&1)
assert_match "systemctl stop of the scope is noticed as an exit" "^(137|143)$" "$out"
assert_match "... and ps -a shows it exited" "Exited \((137|143)\) +web$" "$(bctl ps -a 2>&1)"
for _ in $(seq 1 50); do in_sandbox machinectl list --no-legend 2>&1 | grep -q '^web ' || break; sleep 0.1; done
in_sandbox machinectl list --no-legend 2>&1 | grep -q '^web ' && not_ok "the machine is gone after the exit" \
  || ok "the machine is gone after the exit"

# No line is lost while berthd restarts: the pipes wait in the fd store.
bctl run -d --name ticker busybox sh -c 'i=0; while [ $i -lt 40 ]; do echo tick$i; i=$((i+1)); sleep 0.05; done' >/dev/null
sleep 0.5
in_sandbox systemctl restart berthd
out=$(in_sandbox timeout 30 berthctl wait ticker 2>&1)
assert_match "a container started before the restart is waited for after it" "^0$" "$out"
for _ in $(seq 1 50); do [ "$(in_sandbox journalctl CONTAINER_NAME=ticker -o cat --no-pager 2>/dev/null | grep -c '^tick')" = 40 ] && break; sleep 0.1; done
count=$(in_sandbox journalctl CONTAINER_NAME=ticker -o cat --no-pager 2>/dev/null | grep -c '^tick')
[ "$count" = 40 ] && ok "all 40 lines reach the journal across a berthd restart" \
  || not_ok "all 40 lines reach the journal across a berthd restart ($count)"

# logs with times (berthd records them beside the log in this mode too),
# across the restart above
out=$(bctl logs -t ticker 2>&1)
[ "$(grep -cE '^20[0-9-]+T[0-9:.]+Z tick[0-9]+$' <<<"$out")" = 40 ] && ok "logs -t: all 40 lines, each with its time" \
  || { not_ok "logs -t: all 40 lines, each with its time"; diag "$out"; }
assert_match "logs --since 1h keeps them, --since 0s drops them" "^40 0$" \
  "$(bctl logs --since 1h ticker 2>&1 | grep -c tick) $(bctl logs --since 0s ticker 2>&1 | grep -c tick)"

# a detached terminal's output reaches the journal and the log
bctl run -d -t --name ttyj busybox sh -c 'echo on-a-tty; sleep 1000' >/dev/null
for _ in $(seq 1 50); do in_sandbox journalctl CONTAINER_NAME=ttyj -o cat --no-pager 2>/dev/null | grep -q on-a-tty && break; sleep 0.1; done
assert_match "run -d -t: the terminal's output is in the journal" "^on-a-tty$" \
  "$(in_sandbox journalctl CONTAINER_NAME=ttyj -o cat --no-pager 2>&1)"
assert_match "... and in logs" "on-a-tty" "$(bctl logs ttyj 2>&1)"
bctl rm -f ttyj >/dev/null 2>&1
bctl rm web ticker >/dev/null 2>&1

finish
