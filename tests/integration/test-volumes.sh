#!/usr/bin/env bash
# Data volumes through berthctl and berthd, as a user works with them: named
# volumes kept across containers, --volumes-from (also of a stopped
# container, and read-only), read-only mounts, an image's VOLUME filled from
# the image with owners kept, rm -v and prune removing exactly what they
# should, volumes in use refused by name, volumes across a berthd restart,
# the D-Bus objects and signals, and bad input creating nothing.
. "$(dirname "$0")/lib.sh"

setup_containers

# busybox, and an image whose config declares VOLUME /srv/data over content
# with its own owners and modes (a second layer).
import_busybox
mkdir -p "$SCRATCH/extra/srv/data/sub"
echo "from the image" >"$SCRATCH/extra/srv/data/hello"
chown -R 1234:2345 "$SCRATCH/extra/srv/data"
chmod 0750 "$SCRATCH/extra/srv/data"
chmod 0640 "$SCRATCH/extra/srv/data/hello"
chmod 0700 "$SCRATCH/extra/srv/data/sub"
tar --numeric-owner -C "$SCRATCH/extra" -cf "$SCRATCH/extra.tar" srv
python3 "$SOURCE_DIR/tests/lib/make-image.py" --format oci --ref withvol:1 --volume /srv/data \
  --volume /cache --layer "$SCRATCH/busybox.tar.gz" --layer "$SCRATCH/extra.tar" \
  "$SCRATCH/withvol.tar" && bctl load -i "$SCRATCH/withvol.tar" >/dev/null \
  || { echo "Bail out! cannot make the image with volumes"; exit 1; }

field() { bctl inspect "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin)[0]
v=d
for k in sys.argv[1].split("."): v=v[int(k)] if isinstance(v, list) else v[k]
print(v)' "$2"; }
vfield() { bctl volume inspect "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin)[0]
v=d[sys.argv[1]]
print(" ".join(v) if isinstance(v, list) else v)' "$2"; }
vols() { bctl volume ls -q | sort | tr '\n' ' '; }
n_vols() { bctl volume ls -q | grep -c ''; }
VOLDIR=$SCRATCH/root/volumes

# --- volume create, ls, inspect ------------------------------------------------------
out=$(bctl volume create --label team=db --label tier=1 dbdata 2>&1)
[ "$out" = dbdata ] && ok "volume create prints the name" || { not_ok "volume create prints the name"; diag "$out"; }
[ -d "$VOLDIR/dbdata/_data" ] && [ -f "$VOLDIR/dbdata/volume.json" ] \
  && ok "the volume is a directory with its record in the store" || not_ok "the volume is a directory with its record in the store"
check "volume create of an existing name returns it" bctl volume create dbdata
assert_match "volume ls lists it" "^dbdata +0 +$VOLDIR/dbdata/_data$" "$(bctl volume ls)"
assert_match "volume ls has a header" "^VOLUME NAME +CONTAINERS +MOUNTPOINT" "$(bctl volume ls)"
[ "$(bctl volume ls -q)" = dbdata ] && ok "volume ls -q prints names only" || not_ok "volume ls -q prints names only"
out=$(bctl volume ls --json)
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d[0]["Name"]=="dbdata" and d[0]["UsedBy"]==[] and d[0]["Anonymous"] is False' "$out" \
  && ok "volume ls --json" || { not_ok "volume ls --json"; diag "$out"; }
out=$(bctl volume inspect dbdata)
python3 -c 'import json,sys; d=json.loads(sys.argv[1])[0]; assert d["Labels"]=={"team":"db","tier":"1"} and d["Mountpoint"].endswith("/volumes/dbdata/_data") and d["CreatedAt"].endswith("Z")' "$out" \
  && ok "volume inspect shows labels, mountpoint and creation time" || { not_ok "volume inspect"; diag "$out"; }
anon=$(bctl volume create)
[[ "$anon" =~ ^[0-9a-f]{64}$ ]] && ok "volume create without a name makes a 64-hex name" || not_ok "anonymous volume name ($anon)"
[ "$(vfield "$anon" Anonymous)" = True ] && ok "it is anonymous" || not_ok "it is anonymous"
out=$(gdbus introspect --address "$BUS_ADDRESS" --dest org.berth.berth1 --object-path /org/berth/berth1/volume/dbdata 2>&1)
assert_match "the Volume object is on the bus" "interface org.berth.berth1.Volume" "$out"
assert_match "with its UsedBy property" "readonly as UsedBy = \[\]" "$out"
check "volume rm of the anonymous one" bctl volume rm "$anon"
[ ! -e "$VOLDIR/$anon" ] && ok "its directory is gone" || not_ok "its directory is gone"

# --- bad input: one clear error each, nothing created --------------------------------
before=$(vols); before_ps=$(bctl ps -aq | sort | tr '\n' ' ')
long=$(printf 'a%.0s' $(seq 1 256))
expect_fail "volume name with /" 1 'invalid volume name "a/b".*"/"' bctl volume create a/b
expect_fail "volume name .." 1 'invalid volume name "\.\.".*"\.\."' bctl volume create ..
expect_fail "volume name over 255 bytes" 1 "volume name of 256 bytes is too long \(at most 255\)" bctl volume create "$long"
expect_fail "volume name with a bad character" 1 'invalid volume name "x\$y"' bctl volume create 'x$y'
expect_fail "-v with an empty name" 125 'empty volume name' bctl run --rm -v :/data busybox true
expect_fail "-v NAME with /" 125 'invalid volume name "a/b"' bctl run --rm -v a/b:/data busybox true
expect_fail "-v NAME ..x" 125 'may not contain' bctl run --rm -v ..x:/data busybox true
expect_fail "-v with a name over 255 bytes" 125 "too long" bctl run --rm -v "$long:/data" busybox true
expect_fail "-v with a relative container path" 125 'container path "data" is relative' bctl run --rm -v vol1:data busybox true
expect_fail "-v anonymous with a relative path" 125 'container path "data" is relative' bctl run --rm -v data busybox true
expect_fail "-v over the root" 125 'over the container.s root' bctl run --rm -v vol1:/ busybox true
expect_fail "-v with an unknown mode" 125 'unknown mode "rx"' bctl run --rm -v vol1:/data:rx busybox true
expect_fail "--volumes-from an unknown container" 125 'no such container: ghost' bctl run --rm --volumes-from ghost busybox true
expect_fail "a bind mount of a missing host path" 125 "cannot bind-mount the host path $SCRATCH/missing: No such file" bctl run --rm -v "$SCRATCH/missing:/data" busybox true
expect_fail "-v with a 64-hex name that is no volume" 125 "names of 64 hex digits are kept for anonymous volumes: no such volume: $(printf 'ab%.0s' $(seq 1 32))" bctl run --rm -v "$(printf 'ab%.0s' $(seq 1 32)):/data" busybox true
expect_fail "two mounts on one path" 125 'two mounts on /data' bctl run --rm -v a1:/data -v a2:/data busybox true
expect_fail "volume rm of a missing volume" 1 'no such volume: ghost' bctl volume rm ghost
check "volume rm -f of a missing volume is no error" bctl volume rm -f ghost
expect_fail "volume inspect of a missing volume" 1 'no such volume: ghost' bctl volume inspect ghost
[ "$(vols)" = "$before" ] && ok "bad input created no volume" || { not_ok "bad input created no volume"; diag "$(vols)"; }
[ "$(bctl ps -aq | sort | tr '\n' ' ')" = "$before_ps" ] && ok "bad input created no container" || not_ok "bad input created no container"
ls -A "$VOLDIR" | grep -q '^\.' && { not_ok "no leftovers in the volume store"; diag "$(ls -A "$VOLDIR")"; } || ok "no leftovers in the volume store"

assert_match "info counts the volumes" "Volumes: +1$" "$(bctl info)"

# --- named volumes keep data across containers ------------------------------------------
check "a container writes into a named volume" bctl run --rm -v dbdata:/var/lib/data busybox sh -c 'echo row1 > /var/lib/data/table'
out=$(bctl run --rm -v dbdata:/data busybox cat /data/table 2>&1)
[ "$out" = row1 ] && ok "a second container reads it (another path)" || { not_ok "a second container reads it"; diag "$out"; }
[ "$(cat "$VOLDIR/dbdata/_data/table")" = row1 ] && ok "the data is in the store, outside any overlay" || not_ok "the data is in the store"
out=$(bctl run --rm -v newvol:/data busybox sh -c 'echo x > /data/f && cat /data/f' 2>&1)
[ "$out" = x ] && [ -f "$VOLDIR/newvol/_data/f" ] && ok "a named volume is created on first use" || { not_ok "a named volume is created on first use"; diag "$out"; }
[ "$(vfield newvol Anonymous)" = False ] && ok "and it is a named volume" || not_ok "and it is a named volume"

# --- read-only mounts -----------------------------------------------------------------
out=$(bctl run --rm -v dbdata:/data:ro busybox sh -c 'cat /data/table; echo y > /data/table' 2>&1); rc=$?
[ $rc != 0 ] && grep -q "^row1$" <<<"$out" && grep -qi "read-only file system" <<<"$out" \
  && ok "a read-only volume can be read and rejects writes" || { not_ok "a read-only volume rejects writes"; diag "rc $rc: $out"; }
[ "$(cat "$VOLDIR/dbdata/_data/table")" = row1 ] && ok "its data is unchanged" || not_ok "its data is unchanged"
out=$(bctl run --rm --read-only -v dbdata:/newdir busybox sh -c 'echo w > /newdir/w && cat /newdir/w; touch /x' 2>&1); rc=$?
[ $rc != 0 ] && grep -q "^w$" <<<"$out" && grep -qi "read-only" <<<"$out" && [ -f "$VOLDIR/dbdata/_data/w" ] \
  && ok "with a read-only root, a volume stays writable (at a path the image lacks)" || { not_ok "read-only root with a writable volume"; diag "rc $rc: $out"; }
rm -f "$VOLDIR/dbdata/_data/w"

# --- --volumes-from, of a stopped container too -------------------------------------------
db=$(bctl run -d --name db -v dbdata:/var/lib/data -v /scratch busybox sh -c 'echo live > /var/lib/data/live; echo s > /scratch/s; sleep 300')
for _ in $(seq 1 100); do [ -s "$VOLDIR/dbdata/_data/live" ] && ls "$VOLDIR"/*/_data/s >/dev/null 2>&1 && break; sleep 0.1; done
out=$(bctl run --rm --volumes-from db busybox sh -c 'cat /var/lib/data/live /var/lib/data/table /scratch/s' 2>&1)
[ "$out" = "$(printf 'live\nrow1\ns')" ] && ok "--volumes-from a running container sees its volumes at the same paths" || { not_ok "--volumes-from a running container"; diag "$out"; }
out=$(bctl run --rm --volumes-from db:ro busybox sh -c 'cat /var/lib/data/live; touch /var/lib/data/x' 2>&1); rc=$?
[ $rc != 0 ] && grep -q "^live$" <<<"$out" && grep -qi "read-only" <<<"$out" && [ ! -e "$VOLDIR/dbdata/_data/x" ] \
  && ok "--volumes-from CONTAINER:ro reads and rejects writes" || { not_ok "--volumes-from :ro"; diag "rc $rc: $out"; }
mounts=$(field db Mounts)
assert_match "inspect shows the container's mounts" "'Name': 'dbdata', 'Source': '$VOLDIR/dbdata/_data', 'Destination': '/var/lib/data', 'ReadOnly': False" "$mounts"
scratch_vol=$(bctl inspect db | python3 -c 'import json,sys; print([m["Name"] for m in json.load(sys.stdin)[0]["Mounts"] if m["Destination"]=="/scratch"][0])')
[[ "$scratch_vol" =~ ^[0-9a-f]{64}$ ]] && ok "-v /path makes an anonymous volume" || not_ok "-v /path makes an anonymous volume ($scratch_vol)"
assert_match "UsedBy names the user" "$db" "$(vfield dbdata UsedBy)"
expect_fail "volume rm of a volume in use names the container" 1 "volume dbdata is in use by container db \(${db:0:12}\)" bctl volume rm dbdata
expect_fail "even with -f" 1 "volume dbdata is in use by container db" bctl volume rm -f dbdata
check "stop db" bctl stop -t 1 db
expect_fail "a stopped container still uses its volumes" 1 "in use by container db" bctl volume rm dbdata
out=$(bctl run --rm --volumes-from db busybox cat /var/lib/data/live 2>&1)
[ "$out" = live ] && ok "--volumes-from a stopped container" || { not_ok "--volumes-from a stopped container"; diag "$out"; }
backup=$(bctl create --name backup --volumes-from db:ro -v backups:/backup busybox sh -c 'tar -cf /backup/db.tar -C /var/lib/data . && echo done')
check "a backup container with --volumes-from db:ro and its own volume" bctl start -a backup
tar -tf "$VOLDIR/backups/_data/db.tar" 2>/dev/null | grep -q "./table" && ok "the backup archive is in its volume" || not_ok "the backup archive is in its volume"
assert_match "UsedBy lists both users" "$db.*$backup|$backup.*$db" "$(vfield dbdata UsedBy)"
expect_fail "the error names every user" 1 "in use by containers db \(${db:0:12}\), backup \(${backup:0:12}\)" bctl volume rm dbdata

# --- the D-Bus API itself ------------------------------------------------------------------
mgr() { gdbus call --address "$BUS_ADDRESS" --dest org.berth.berth1 --object-path /org/berth/berth1 --method "org.berth.berth1.Manager.$1" "${@:2}" 2>&1; }
assert_match "RemoveVolume of a volume in use: org.berth.berth1.Error.InUse" "org.berth.berth1.Error.InUse" "$(mgr RemoveVolume dbdata false)"
assert_match "GetVolume of no volume: org.berth.berth1.Error.NoSuchVolume" "org.berth.berth1.Error.NoSuchVolume" "$(mgr GetVolume ghost)"
assert_match "CreateVolume with a bad name: org.berth.berth1.Error.InvalidArgument" "org.berth.berth1.Error.InvalidArgument.*invalid volume name" "$(mgr CreateVolume a/b '{}')"
assert_match "CreateVolume refuses unknown options" "InvalidArgument.*unknown volume option \"size\"" "$(mgr CreateVolume x "{'size': <'1g'>}")"
assert_match "CreateContainer refuses volumes of the wrong type" "InvalidArgument.*option \"volumes\" must be of type as" "$(mgr CreateContainer busybox '[]' "{'volumes': <'/data'>}")"
out=$(mgr CreateVolume db-1.x "{'labels': <{'k': 'v'}>}")
assert_match "CreateVolume returns the object, its name escaped" "objectpath '/org/berth/berth1/volume/db_2d1_2ex'" "$out"
out=$(gdbus introspect --address "$BUS_ADDRESS" --dest org.berth.berth1 --object-path /org/berth/berth1/volume/db_2d1_2ex 2>&1)
assert_match "its properties" "readonly s Name = 'db-1.x'" "$out"
assert_match "its labels" "readonly a\{ss\} Labels = \{'k': 'v'\}" "$out"
assert_match "ListVolumes gives name, mountpoint, created, anonymous, users, path" "\('dbdata', '$VOLDIR/dbdata/_data', (uint64 )?[0-9]+, false, \['$db', '$backup'\], (objectpath )?'/org/berth/berth1/volume/dbdata'\)" "$(mgr ListVolumes)"
check "RemoveVolume" mgr RemoveVolume db-1.x false

# repeatable, each with its own mode
bctl create --name src1 -v from1:/a busybox true >/dev/null && bctl create --name src2 -v from2:/b busybox true >/dev/null
out=$(bctl run --rm --volumes-from src1 --volumes-from src2:ro busybox sh -c 'echo 1 > /a/x && cat /a/x; echo 2 > /b/x' 2>&1)
grep -q "^1$" <<<"$out" && grep -qi "read-only" <<<"$out" && [ -f "$VOLDIR/from1/_data/x" ] && [ ! -e "$VOLDIR/from2/_data/x" ] \
  && ok "--volumes-from is repeatable, each with its own mode" || { not_ok "--volumes-from repeatable"; diag "$out"; }
expect_fail "--volumes-from with an unknown mode" 125 'unknown mode "rx"' bctl run --rm --volumes-from src1:rx busybox true
check "rm the sources" bctl rm src1 src2
check "run --rm -v /path" bctl run --rm -v /anon-rm busybox touch /anon-rm/x
[ "$(vols)" = "$(printf '%s\n' backups dbdata from1 from2 newvol "$scratch_vol" | sort | tr '\n' ' ')" ] \
  && ok "run --rm removes its anonymous volume" || { not_ok "run --rm removes its anonymous volume"; diag "$(vols)"; }
check "volume rm of two volumes" bctl volume rm from1 from2

# --- an image's VOLUME: an anonymous volume filled from the image -------------------------
c=$(bctl create --name withvol withvol:1 sh -c 'ls -ln /srv/data; stat -c "%u:%g %a" /srv/data /srv/data/sub; cat /srv/data/hello; echo more > /srv/data/new')
out=$(bctl start -a withvol 2>&1)
assert_match "start a container of an image with VOLUME entries; inside, the files show their owners" "1234 +2345 .* hello" "$out"
vname=$(bctl inspect withvol | python3 -c 'import json,sys; print([m["Name"] for m in json.load(sys.stdin)[0]["Mounts"] if m["Destination"]=="/srv/data"][0])')
[[ "$vname" =~ ^[0-9a-f]{64}$ ]] && [ "$(vfield "$vname" Anonymous)" = True ] && ok "VOLUME /srv/data became an anonymous volume" || not_ok "VOLUME became an anonymous volume ($vname)"
n_mounts=$(bctl inspect withvol | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[0]["Mounts"]))')
[ "$n_mounts" = 2 ] && ok "one volume per VOLUME entry" || not_ok "one volume per VOLUME entry ($n_mounts)"
d=$VOLDIR/$vname/_data
[ "$(stat -c '%u:%g %a' "$d")" = "1234:2345 750" ] && ok "the volume takes the image directory's owner and mode" || not_ok "volume root owner/mode ($(stat -c '%u:%g %a' "$d"))"
[ "$(stat -c '%u:%g %a' "$d/hello")" = "1234:2345 640" ] && [ "$(cat "$d/hello")" = "from the image" ] \
  && ok "it was filled from the image, owners and modes kept" || not_ok "filled from the image ($(stat -c '%u:%g %a' "$d/hello" 2>&1))"
[ "$(stat -c '%u:%g %a' "$d/sub")" = "1234:2345 700" ] && ok "subdirectories too" || not_ok "subdirectories too"
[ "$(cat "$d/new" 2>/dev/null)" = more ] && ok "the container's writes land in the volume" || not_ok "the container's writes land in the volume"
[ ! -e "$SCRATCH/root/containers/$c/upper/srv/data/new" ] && ok "and not in the container's upper layer" || not_ok "and not in the container's upper layer"
c2=$(bctl create -v keep:/srv/data withvol:1 true)
cvol=$(bctl inspect "$c2" | python3 -c 'import json,sys; print(" ".join(sorted(m["Name"] for m in json.load(sys.stdin)[0]["Mounts"])))')
[[ "$cvol" =~ ^[0-9a-f]{64}\ keep$|^keep\ [0-9a-f]{64}$ ]] && ok "a -v over a VOLUME path replaces its anonymous volume" || not_ok "-v over a VOLUME path ($cvol)"
[ "$(cat "$VOLDIR/keep/_data/hello" 2>/dev/null)" = "from the image" ] && ok "a new named volume is filled from the image too" || not_ok "a new named volume is filled from the image"
check "rm it" bctl rm -v "$c2"
[ -d "$VOLDIR/keep" ] && ok "rm -v keeps named volumes" || not_ok "rm -v keeps named volumes"

# --- rm -v and prune remove exactly what they should ---------------------------------------
n=$(n_vols)
check "rm of db without -v" bctl rm -f backup
shared=$(bctl create --name shared -v "$vname:/shared" busybox true)
check "rm -v withvol (its /srv/data volume is shared with another container)" bctl rm -v withvol
[ -d "$VOLDIR/$vname" ] && ok "an anonymous volume another container uses stays" || not_ok "an anonymous volume another container uses stays"
[ "$(n_vols)" = $((n - 1)) ] && ok "its unshared anonymous volume (/cache) went" || { not_ok "its unshared anonymous volume went"; diag "$n -> $(n_vols)"; }
check "rm -v the other user" bctl rm -v shared
[ ! -e "$VOLDIR/$vname" ] && ok "now the anonymous volume goes with its last user" || not_ok "the anonymous volume goes with its last user"
check "rm db without -v" bctl rm db
[ -d "$VOLDIR/$scratch_vol" ] && [ -d "$VOLDIR/dbdata" ] && ok "rm without -v keeps every volume" || not_ok "rm without -v keeps every volume"
used=$(bctl create --name user -v dbdata:/data busybox true)
[ "$(bctl volume ls -q --filter dangling=true | sort | tr '\n' ' ')" = "$(printf '%s\n' backups keep newvol "$scratch_vol" | sort | tr '\n' ' ')" ] \
  && ok "volume ls --filter dangling=true lists the unused volumes" || { not_ok "volume ls --filter dangling=true"; diag "$(bctl volume ls -q -f dangling=true)"; }
[ "$(bctl volume ls -q -f dangling=false)" = dbdata ] && ok "dangling=false the used ones" || not_ok "dangling=false the used ones"
expect_fail "an unknown filter" 2 'unknown filter' bctl volume ls -f label=x
inuse_anon=$(bctl create -v /inuse busybox true)
out=$(bctl volume prune -f)
[ "$out" = "$(printf 'Deleted Volumes:\n%s' "$scratch_vol")" ] && ok "volume prune removes the unused anonymous volume and names it" || { not_ok "volume prune"; diag "$out"; }
[ "$(vols | wc -w)" = 5 ] && [ -d "$VOLDIR/dbdata" ] && [ -d "$VOLDIR/backups" ] && [ -d "$VOLDIR/keep" ] && [ -d "$VOLDIR/newvol" ] \
  && ok "it keeps named volumes, used or not, and anonymous volumes in use" || { not_ok "prune keeps named and used volumes"; diag "$(vols)"; }
out=$(bctl volume prune -f)
[ -z "$out" ] && ok "a second prune removes nothing" || { not_ok "a second prune removes nothing"; diag "$out"; }
check "named volumes go by volume rm" bctl volume rm backups keep newvol
check "rm -v the container with the anonymous volume" bctl rm -v "$inuse_anon"
[ "$(vols)" = "dbdata " ] && ok "only the volume in use is left" || { not_ok "only the volume in use is left"; diag "$(vols)"; }

# --- restart of berthd ------------------------------------------------------------------
run_anon=$(bctl run -d --rm -v /tmpdata busybox sleep 300)
touch "$VOLDIR/.new-junk-1234"; mkdir -p "$VOLDIR/.gone-old-5678/_data"
stop_berthd
start_berthd
[ "$(vols | wc -w)" = 2 ] && ok "volumes survive a berthd restart" || { not_ok "volumes survive a berthd restart"; diag "$(vols)"; }
[ ! -e "$VOLDIR/.new-junk-1234" ] && [ ! -e "$VOLDIR/.gone-old-5678" ] && ok "leftovers of interrupted work are cleaned at start" || not_ok "leftovers cleaned at start"
[ "$(cat "$VOLDIR/dbdata/_data/table")" = row1 ] && ok "with their data" || not_ok "with their data"
assert_match "UsedBy is known again after the restart" "$used" "$(vfield dbdata UsedBy)"
expect_fail "and volumes in use are still refused" 1 "in use by container user" bctl volume rm dbdata
out=$(bctl run --rm --volumes-from user busybox cat /data/table 2>&1)
[ "$out" = row1 ] && ok "--volumes-from a container found again after the restart" || { not_ok "--volumes-from after the restart"; diag "$out"; }
check "stop the --rm container with an anonymous volume" bctl stop -t 1 "$run_anon"
for _ in $(seq 1 50); do [ "$(vols | wc -w)" = 1 ] && break; sleep 0.1; done
[ "$(vols)" = "dbdata " ] && ok "--rm removes its anonymous volume" || { not_ok "--rm removes its anonymous volume"; diag "$(vols)"; }

# --- signals ------------------------------------------------------------------------------------
gdbus monitor --address "$BUS_ADDRESS" --dest org.berth.berth1 >"$SCRATCH/monitor" 2>&1 &
mon=$!; _pids+=("$mon")
for _ in $(seq 1 100); do grep -q "is owned by" "$SCRATCH/monitor" && break; sleep 0.05; done
bctl volume create sig >/dev/null && bctl volume rm sig >/dev/null
bctl rm user >/dev/null
for _ in $(seq 1 100); do grep -q "UsedBy': <@as \[\]>" "$SCRATCH/monitor" && grep -q VolumeRemoved "$SCRATCH/monitor" && break; sleep 0.05; done
kill "$mon" 2>/dev/null
assert_match "VolumeAdded is emitted" "VolumeAdded \('sig', objectpath '/org/berth/berth1/volume/sig'\)" "$(cat "$SCRATCH/monitor")"
assert_match "VolumeRemoved is emitted" "VolumeRemoved \('sig'" "$(cat "$SCRATCH/monitor")"
assert_match "UsedBy changes are announced" "UsedBy': <@as \[\]>" "$(cat "$SCRATCH/monitor")"

# --- non-root callers --------------------------------------------------------------------------
asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
check "a non-root user may list volumes" asnobody "$BERTHCTL" volume ls
out=$(asnobody "$BERTHCTL" volume create nobodys 2>&1)
assert_match "a non-root user may not create volumes" "not authorized.*manage-volumes|polkit" "$out"
out=$(asnobody "$BERTHCTL" volume rm dbdata 2>&1)
assert_match "nor remove them" "not authorized.*manage-volumes|polkit" "$out"
out=$(asnobody "$BERTHCTL" create -v /etc:/host busybox true 2>&1)
assert_match "nor bind-mount a host directory" "not authorized|polkit" "$out"
check "root may bind-mount a host directory" bctl run --rm -v "$SCRATCH/extra:/host:ro" busybox cat /host/srv/data/hello
out=$(bctl run --rm -v "$SCRATCH/extra:/host:ro" busybox touch /host/x 2>&1)
assert_match "read-only bind mounts reject writes" "[Rr]ead-only" "$out"

grep -E "AddressSanitizer|runtime error:|CRITICAL" "$BERTHD_LOG" && not_ok "no sanitizer reports or criticals in berthd's log" || ok "no sanitizer reports or criticals in berthd's log"
finish
