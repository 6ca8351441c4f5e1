#!/usr/bin/env bash
# The hot-upgrade / backup story, end to end: a database container writes
# into a volume; a backup container reaches it with --volumes-from and
# archives it into a volume of its own; the database is committed while
# it runs, and the new image has its other changes but none of the
# volume's data; a container of the new image with --volumes-from sees the
# data; removing the database keeps the volume, and removing a volume in
# use fails naming the container that uses it. diff and export leave the
# volumes out as the commit does.
. "$(dirname "$0")/lib.sh"

setup_containers
import_busybox

mount_name() { bctl inspect "$1" | python3 -c 'import json,sys
print([m["Name"] for m in json.load(sys.stdin)[0]["Mounts"] if m["Destination"]==sys.argv[1]][0])' "$2"; }

# db: its data in an anonymous volume, its configuration in its own layer.
bctl run -d --name db -v /var/lib/data busybox sh -c 'echo row1 >/var/lib/data/rows;
  echo row2 >>/var/lib/data/rows; echo "port=5432" >/etc/db.conf; touch /var/lib/data/ready;
  while true; do sleep 0.1; done' >/dev/null
for _ in $(seq 1 100); do bctl exec db test -e /var/lib/data/ready 2>/dev/null && break; sleep 0.1; done
vol=$(mount_name db /var/lib/data)
[[ "$vol" =~ ^[0-9a-f]{64}$ ]] && ok "db writes into an anonymous volume at /var/lib/data" || { not_ok "db's volume"; diag "$vol"; }

# backup: reads db's volume, writes an archive into its own.
out=$(bctl run --name backup --volumes-from db -v /backup busybox \
  sh -c 'tar -cf /backup/data.tar -C /var/lib/data rows && tar -tf /backup/data.tar' </dev/null 2>&1)
[ "$out" = rows ] && ok "backup archives db's volume through --volumes-from" || { not_ok "backup archives db's volume"; diag "$out"; }
backup_vol=$(mount_name backup /backup)
out=$(bctl run --rm -v "$backup_vol:/restore:ro" busybox sh -c 'tar -xOf /restore/data.tar rows' </dev/null 2>&1)
[ "$out" = "row1
row2" ] && ok "the archive is in backup's own volume" || { not_ok "the archive in backup's volume"; diag "$out"; }

# diff and export leave the volume out.
out=$(bctl diff db 2>&1)
grep -q '/var/lib/data/' <<<"$out" && { not_ok "diff leaves the volume's files out"; diag "$out"; } \
  || ok "diff leaves the volume's files out"
assert_match "diff shows db's own change" "^A /etc/db.conf$" "$out"
# /var/lib was made as the mount point's parent; the mount point is left out.
[ "$out" = "C /etc
A /etc/db.conf
C /var
A /var/lib" ] && ok "diff output is exact" || { not_ok "diff output is exact"; diag "$out"; }
bctl export db -o "$SCRATCH/db.tar"
list=$(tar -tf "$SCRATCH/db.tar")
grep -q '^var/lib/data/' <<<"$list" && not_ok "export leaves the volume's files out" || ok "export leaves the volume's files out"
grep -qx 'etc/db.conf' <<<"$list" && ok "export has db's own files" || not_ok "export has db's own files"

# The commit of the running db: its changes, none of the volume's data.
id=$(bctl commit -m "db with its config" db db:v2 2>&1)
[[ "$id" =~ ^sha256: ]] && ok "commit of the running db" || { not_ok "commit of the running db"; diag "$id"; }
[ "$(bctl inspect db | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["Status"])')" = running ] \
  && ok "db keeps running" || not_ok "db keeps running"
layer=""
for h in $(ls "$ROOT/images/blobs/sha256/"); do
  l=$(tar -tf "$ROOT/images/blobs/sha256/$h" 2>/dev/null) || continue
  grep -qx 'etc/db.conf' <<<"$l" && layer=$l
done
[ -n "$layer" ] && ! grep -q 'var/lib/data' <<<"$layer" && ok "the committed layer holds db.conf and nothing of the volume" \
  || { not_ok "the committed layer holds db.conf and nothing of the volume"; diag "$layer"; }
out=$(bctl run --rm db:v2 sh -c 'cat /etc/db.conf; ls -A /var/lib/data | wc -l' </dev/null 2>&1)
[ "$out" = "port=5432
0" ] && ok "a container of the new image has the config and an empty data directory" \
  || { not_ok "the new image alone"; diag "$out"; }
out=$(bctl image inspect db:v2 | python3 -c 'import json,sys; print(list(json.load(sys.stdin)[0]["Config"]["config"].get("Volumes", {})))')
[ "$out" = "['/var/lib/data']" ] && ok "the new image declares the volume" || { not_ok "the new image declares the volume"; diag "$out"; }

# The upgrade: a container of the new image with db's volumes.
out=$(bctl run --rm --volumes-from db db:v2 sh -c 'cat /var/lib/data/rows /etc/db.conf' </dev/null 2>&1)
[ "$out" = "row1
row2
port=5432" ] && ok "a container of the new image with --volumes-from db sees the data" \
  || { not_ok "a container of the new image with --volumes-from db sees the data"; diag "$out"; }

# Removing db keeps its volume (backup still uses it); removing it then fails.
check "rm -f db" bctl rm -f db
bctl volume ls -q | grep -qx "$vol" && ok "removing db keeps its volume" || not_ok "removing db keeps its volume"
expect_fail "volume rm of a volume in use names the user" 1 "in use by container backup" bctl volume rm "$vol"
bctl volume ls -q | grep -qx "$vol" && ok "the refused volume rm removed nothing" || not_ok "the refused volume rm removed nothing"
out=$(bctl run --rm -v "$vol:/d:ro" busybox cat /d/rows </dev/null 2>&1)
[ "$out" = "row1
row2" ] && ok "the data outlives db" || { not_ok "the data outlives db"; diag "$out"; }

# A named volume and a host directory: both left out; only the volume is declared.
mkdir -p "$SCRATCH/hostdir"
bctl run --name mixed -v named1:/srv/named -v "$SCRATCH/hostdir:/mnt/host" busybox \
  sh -c 'echo n >/srv/named/f; echo h >/mnt/host/f; echo own >/own' </dev/null >/dev/null 2>&1
out=$(bctl diff mixed 2>&1)
[ "$out" = "A /mnt
A /own
A /srv" ] && ok "diff leaves a named volume and a bind mount out" || { not_ok "diff with a named volume and a bind mount"; diag "$out"; }
check "commit of a container with a named volume and a bind mount" bctl commit mixed mixed:v1
out=$(bctl image inspect mixed:v1 | python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)[0]["Config"]["config"].get("Volumes", {})))')
[ "$out" = "['/srv/named']" ] && ok "the image declares the named volume, not the host directory" || { not_ok "declared volumes"; diag "$out"; }
out=$(bctl run --rm mixed:v1 sh -c 'cat /own; test -e /mnt/host && echo host-dir-there; ls -A /srv/named | wc -l' </dev/null 2>&1)
[ "$out" = "own
0" ] && ok "the new image has the container's file and nothing of the mounts" || { not_ok "mixed:v1 content"; diag "$out"; }
[ "$(cat "$SCRATCH/hostdir/f")" = h ] && ok "the host directory got the write" || not_ok "the host directory got the write"

grep -E "AddressSanitizer|runtime error" "$BERTHD_LOG" >/dev/null && not_ok "no sanitizer reports in berthd's log" \
  || ok "no sanitizer reports in berthd's log"
finish
