#!/usr/bin/env bash
# Volumes under a real systemd (booted in a throwaway nspawn sandbox): a
# container in its scope writes into a named volume, a second one reads it
# with --volumes-from, read-only mounts hold, the volume and its users are
# known again after `systemctl restart berthd`, and polkit decides who may
# bind-mount host directories (manage-daemon) apart from who may run
# containers with volumes (manage-containers).
. "$(dirname "$0")/lib.sh"
boot_sandbox
bctl() { in_sandbox berthctl "$@"; }

# polkit: nobody may manage containers and volumes, not the daemon (written
# first: polkitd rereads its rules when it notices the file).
in_sandbox sh -c 'cat > /etc/polkit-1/rules.d/50-berth-test.rules' <<'RULES'
polkit.addRule(function(action, subject) {
  if (subject.user == "nobody" &&
      (action.id == "org.berth.berth1.manage-containers" ||
       action.id == "org.berth.berth1.manage-volumes"))
    return polkit.Result.YES;
});
RULES

install_berth

id=$(bctl run -d --name db -v dbdata:/var/lib/data busybox \
  sh -c 'echo row1 > /var/lib/data/table; exec sleep 300' 2>&1)
[[ "$id" =~ ^[0-9a-f]{64}$ ]] && ok "a container with a named volume runs" || { not_ok "a container with a named volume runs"; diag "$id"; }
assert_match "in its scope" "^ActiveState=active$" "$(in_sandbox systemctl show "berth-$id.scope" -p ActiveState 2>&1)"
for _ in $(seq 1 50); do in_sandbox test -s /var/lib/berth/volumes/dbdata/_data/table && break; sleep 0.1; done
out=$(bctl run --rm --volumes-from db busybox cat /var/lib/data/table 2>&1)
assert_match "a second container reads the data with --volumes-from" "^row1$" "$out"
out=$(bctl run --rm -v dbdata:/d:ro busybox sh -c 'echo x > /d/table' 2>&1)
assert_match "a read-only mount rejects writes" "[Rr]ead-only file system" "$out"
assert_match "the volume lists its user" "\"$id\"" "$(bctl volume inspect dbdata 2>&1)"

in_sandbox systemctl restart berthd
out=$(bctl volume ls 2>&1)
assert_match "the volume is there after systemctl restart berthd" "^dbdata +1 +/var/lib/berth/volumes/dbdata/_data$" "$out"
out=$(bctl volume rm dbdata 2>&1)
assert_match "and still refused while db uses it" "volume dbdata is in use by container db" "$out"
bctl rm -f db >/dev/null 2>&1
out=$(bctl run --rm -v dbdata:/d busybox cat /d/table 2>&1)
assert_match "the data outlives its container" "^row1$" "$out"

asnobody() { in_sandbox setpriv --reuid=nobody --regid=nogroup --clear-groups berthctl "$@"; }
# polkitd rereads its rules when it notices the file.
for _ in $(seq 1 50); do out=$(asnobody run --rm -v dbdata:/d busybox cat /d/table 2>&1); [ "$out" = row1 ] && break; sleep 0.2; done
assert_match "a user allowed manage-containers runs a container with a named volume" "^row1$" "$out"
out=$(asnobody volume create nobodys 2>&1)
assert_match "and creates volumes (manage-volumes)" "^nobodys$" "$out"
out=$(asnobody run --rm -v /etc:/host busybox true 2>&1)
assert_match "but may not bind-mount a host directory (manage-daemon)" "bind mounts of host directories are for administrators: not authorized: CreateContainer needs the polkit action org.berth.berth1.manage-daemon" "$out"
out=$(bctl run --rm -v /etc:/host:ro busybox cat /host/hostname 2>&1); rc=$?
[ $rc = 0 ] && ok "root may" || { not_ok "root may bind-mount a host directory"; diag "$out"; }
bctl create --name hostbind -v /etc:/host:ro busybox true >/dev/null
bctl create --name volonly -v dbdata:/d busybox true >/dev/null
out=$(asnobody run --rm --volumes-from hostbind busybox true 2>&1)
assert_match "nor take one over with --volumes-from" "--volumes-from hostbind: it bind-mounts the host path /etc, which only administrators may" "$out"
out=$(asnobody run --rm --volumes-from volonly busybox cat /d/table 2>&1)
assert_match "while --volumes-from a container with volumes only is allowed" "^row1$" "$out"
out=$(bctl run --rm --volumes-from hostbind busybox cat /host/hostname 2>&1); rc=$?
[ $rc = 0 ] && ok "root may take it over" || { not_ok "root may take over a bind mount"; diag "$out"; }
bctl rm hostbind volonly >/dev/null
in_sandbox rm -f /etc/polkit-1/rules.d/50-berth-test.rules
anon=$(bctl volume create 2>&1)
out=$(bctl volume prune -f 2>&1)
assert_match "prune removes the unused anonymous volume, not named ones" "^Deleted Volumes:.$anon$" "$(tr '\n' ' ' <<<"$out" | sed 's/ $//')"
out=$(bctl volume rm dbdata nobodys 2>&1)
assert_match "named volumes go by volume rm" "^dbdata.nobodys$" "$(tr '\n' ' ' <<<"$out" | sed 's/ $//')"

finish
