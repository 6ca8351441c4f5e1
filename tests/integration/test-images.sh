#!/usr/bin/env bash
# Image management through berthctl and D-Bus: import, load, save, images,
# tag, rmi, history, image inspect; verification, sharing, cleanup at start,
# and responsiveness during a large import.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (layer ownership, device nodes, tmpfs)"
setup_scratch
start_bus
: >"$SCRATCH/berth.conf"
start_berthd

MKIMG="$SOURCE_DIR/tests/lib/make-image.py"
MKBB="$SOURCE_DIR/tests/lib/make-busybox-image"
gcall() { gdbus call --address "$BUS_ADDRESS" --dest org.berth.berth1 --object-path /org/berth/berth1 "$@"; }
# A tree listing with content digests: compares the store byte for byte.
store_snapshot() { (cd "$ROOT/images" && find . -path ./staging -prune -o -printf '%p %y %m %U:%G %s %l\n' | sort && find . -type f -not -path './staging/*' -print0 | sort -z | xargs -0 -r sha256sum); }
inspect_field() { bctl image inspect "$1" | python3 -c "import json,sys; d=json.load(sys.stdin)[0]; print(json.dumps(d[sys.argv[1]]) if not isinstance(d[sys.argv[1]], str) else d[sys.argv[1]])" "$2"; }

"$MKBB" tar "$SCRATCH/busybox.tar.gz" || { echo "Bail out! cannot build the busybox image"; exit 1; }

# --- import ---
out=$(bctl import "$SCRATCH/busybox.tar.gz" busybox 2>&1); rc=$?
assert_match "import prints the image ID" "^sha256:[0-9a-f]{64}$" "$out"
BB_ID=$out
out=$(bctl images)
assert_match "images has the header" "^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$" "$(head -1 <<<"$out")"
assert_match "images lists the import" "^busybox +latest +${BB_ID:7:12} +(Less than a minute ago|About a minute ago) +[0-9.]+ MB$" "$out"
assert_match "images -q prints short IDs" "^${BB_ID:7:12}$" "$(bctl images -q)"
json=$(bctl images --json)
if python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert len(d) == 1 and d[0]["Id"] == sys.argv[2], d
assert d[0]["Names"] == ["docker.io/library/busybox:latest"], d
assert d[0]["Size"] > 1000000 and d[0]["Digest"].startswith("sha256:")
' "$json" "$BB_ID"; then ok "images --json"; else not_ok "images --json"; diag "$json"; fi
assert_match "info counts images" "^Images: +1$" "$(bctl info)"
assert_match "info lists the images feature" "^Features: +.*images" "$(bctl info)"
layer=$(ls "$ROOT/images/layers")
[ -x "$ROOT/images/layers/$layer/diff/bin/busybox" ] && [ -L "$ROOT/images/layers/$layer/diff/bin/sh" ] \
  && ok "the layer holds busybox and its applet links" || not_ok "the layer holds busybox and its applet links"

out=$(bctl import - stdin/busybox:v1 <"$SCRATCH/busybox.tar.gz"); rc=$?
[ $rc = 0 ] && ok "import from standard input" || not_ok "import from standard input ($rc): $out"
assert_match "a second import of the same tree shares the layer" "^1$" "$(ls "$ROOT/images/layers" | wc -l)"
expect_fail "import with an invalid reference" 2 "invalid reference \"Bad/Name\": repository names must be lowercase" \
  bctl import "$SCRATCH/busybox.tar.gz" Bad/Name
expect_fail "import of a missing file" 1 "cannot open $SCRATCH/nope.tar" bctl import "$SCRATCH/nope.tar"
expect_fail "import needs a file" 2 "missing FILE" bctl import

# --- malicious archives are refused and change nothing ---
python3 - "$SCRATCH" <<'PY'
import io, sys, tarfile
d = sys.argv[1]
def mk(name, entries):
    with tarfile.open(f"{d}/{name}", "w:gz") as t:
        for e in entries:
            t.addfile(e[0], io.BytesIO(e[1]) if len(e) > 1 else None)
def f(name, data=b"x"):
    i = tarfile.TarInfo(name); i.size = len(data); return (i, data)
def l(name, target, kind=tarfile.SYMTYPE):
    i = tarfile.TarInfo(name); i.type = kind; i.linkname = target; return (i,)
mk("dotdot.tar.gz", [f("ok"), f("../../escape")])
mk("absolute.tar.gz", [f("/etc/escape")])
mk("symlink.tar.gz", [l("etc", "/etc"), f("etc/escape")])
mk("hardlink.tar.gz", [l("h", "../../etc/shadow", tarfile.LNKTYPE)])
data = open(f"{d}/busybox.tar.gz", "rb").read()
open(f"{d}/truncated.tar.gz", "wb").write(data[: len(data) // 2])
PY
before=$(store_snapshot)
expect_fail "import refuses .. in paths" 1 'layer entry "\.\./\.\./escape": the path contains "\.\."' \
  bctl import "$SCRATCH/dotdot.tar.gz" evil
expect_fail "import refuses absolute paths" 1 'layer entry "/etc/escape": the path is absolute' \
  bctl import "$SCRATCH/absolute.tar.gz" evil
expect_fail "import refuses writes through symlinks" 1 'layer entry "etc/escape": it would be written through the symbolic link "etc"' \
  bctl import "$SCRATCH/symlink.tar.gz" evil
expect_fail "import refuses hard links out of the layer" 1 'hard link target contains "\.\."' \
  bctl import "$SCRATCH/hardlink.tar.gz" evil
expect_fail "import refuses truncated archives" 1 'truncated' bctl import "$SCRATCH/truncated.tar.gz" evil
[ ! -e /etc/escape ] && [ ! -e "$ROOT/../escape" ] && ok "nothing escaped" || not_ok "nothing escaped"
[ "$before" = "$(store_snapshot)" ] && ok "refused imports leave the store byte for byte unchanged" \
  || { not_ok "refused imports leave the store byte for byte unchanged"; diag "$(diff <(echo "$before") <(store_snapshot))"; }
printf '[storage]\nmax-layer-size=1000000\n' >"$SCRATCH/berth.conf"
check "Reload lowers max-layer-size" gcall --method org.berth.berth1.Manager.Reload
expect_fail "a layer over max-layer-size is refused" 1 "(over the limit of|decompresses to more than) 1000000 .*max-layer-size" \
  bctl import "$SCRATCH/busybox.tar.gz" big
: >"$SCRATCH/berth.conf"
gcall --method org.berth.berth1.Manager.Reload >/dev/null

# --- load: fixtures written by another tool ---
tar --numeric-owner --owner=0 --group=0 -C "$SCRATCH" -czf "$SCRATCH/base.tar.gz" --transform 's,^busybox.tar.gz,base/busybox.tgz,' busybox.tar.gz
mkdir -p "$SCRATCH/extra/etc" && echo extra >"$SCRATCH/extra/etc/extra"
tar --numeric-owner --owner=0 --group=0 -C "$SCRATCH/extra" -cf "$SCRATCH/extra.tar" .
python3 "$MKIMG" --format docker --ref fixture/docker:1 --label kind=docker --layer "$SCRATCH/base.tar.gz" --layer "$SCRATCH/extra.tar" "$SCRATCH/docker.tar"
python3 "$MKIMG" --format oci --ref example.org:5000/fixture/oci:2 --label kind=oci --layer "$SCRATCH/base.tar.gz" "$SCRATCH/oci.tar"
out=$(bctl load -i "$SCRATCH/docker.tar" 2>&1)
assert_match "load reads docker save archives" "^Loaded image: fixture/docker:1$" "$out"
out=$(bctl load <"$SCRATCH/oci.tar" 2>&1)
assert_match "load reads OCI layout archives" "^Loaded image: example.org:5000/fixture/oci:2$" "$out"
oci_manifest=$(tar -xOf "$SCRATCH/oci.tar" index.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifests"][0]["digest"])')
assert_match "the OCI manifest digest is kept" "^$oci_manifest$" "$(inspect_field example.org:5000/fixture/oci:2 Digest)"
assert_match "labels come from the config" '"kind": "docker"' "$(inspect_field fixture/docker:1 Labels)"
n_before=$(ls "$ROOT/images/layers" | wc -l)
# busybox's layer, the shared base, and the docker fixture's second layer.
assert_match "the shared base layer of both fixtures is stored once" "^3$" "$n_before"

# --- removing one of two images that share a layer keeps the other ---
docker_layers=$(inspect_field fixture/docker:1 Layers)
out=$(bctl rmi example.org:5000/fixture/oci:2)
assert_match "rmi deletes an image with one name" "^Deleted: sha256:" "$out"
assert_match "the shared layer stays" "^3$" "$(ls "$ROOT/images/layers" | wc -l)"
[ "$(inspect_field fixture/docker:1 Layers)" = "$docker_layers" ] && ok "the other image keeps its layers" || not_ok "the other image keeps its layers"
for l in "$ROOT"/images/layers/*/diff; do [ -d "$l" ] || not_ok "layer dir $l"; done
bb_layer_file=$(ls "$ROOT"/images/layers/*/diff/base/busybox.tgz 2>/dev/null | head -1)
[ -n "$bb_layer_file" ] && ok "the other image's files are intact" || not_ok "the other image's files are intact"

# --- save → load round trips ---
for fmt in oci docker; do
  id=$(inspect_field fixture/docker:1 Id)
  digest=$(inspect_field fixture/docker:1 Digest)
  layers=$(inspect_field fixture/docker:1 Layers)
  check "save --format $fmt" bctl save -o "$SCRATCH/saved-$fmt.tar" --format "$fmt" fixture/docker:1
  [ -z "$(ls -A "$SCRATCH" | grep '^\.saved')" ] && ok "save leaves no temporary file ($fmt)" || not_ok "save leaves no temporary file ($fmt)"
  out=$(bctl rmi fixture/docker:1)
  assert_match "rmi before reloading ($fmt)" "^Deleted: $id$" "$out"
  out=$(bctl load -i "$SCRATCH/saved-$fmt.tar")
  assert_match "load of the saved $fmt archive" "^Loaded image: fixture/docker:1$" "$out"
  assert_match "the image ID survives ($fmt)" "^$id$" "$(inspect_field fixture/docker:1 Id)"
  [ "$(inspect_field fixture/docker:1 Layers)" = "$layers" ] && ok "every diff_id survives ($fmt)" || not_ok "every diff_id survives ($fmt)"
  if [ "$fmt" = oci ]; then
    assert_match "the manifest digest survives (oci)" "^$digest$" "$(inspect_field fixture/docker:1 Digest)"
  fi
done
grep -qx manifest.json <<<"$(tar -tf "$SCRATCH/saved-docker.tar")" && ok "docker format has manifest.json" || not_ok "docker format has manifest.json"
grep -qx index.json <<<"$(tar -tf "$SCRATCH/saved-oci.tar")" && ok "oci format has index.json" || not_ok "oci format has index.json"
expect_fail "save of an unknown image" 1 "no image nothere" bctl save -o "$SCRATCH/x.tar" nothere
[ ! -e "$SCRATCH/x.tar" ] && ok "a failed save leaves no file" || not_ok "a failed save leaves no file"
expect_fail "save with an unknown format" 2 'unknown format "zip"' bctl save -o "$SCRATCH/x.tar" --format zip busybox
printf 'not an archive' >"$SCRATCH/junk.tar"
expect_fail "load of a file that is no archive" 1 "cannot read the image archive|not an image archive|truncated or corrupt" bctl load -i "$SCRATCH/junk.tar"

# --- tag, rmi, history, inspect ---
check "tag" bctl tag busybox registry.example:5000/team/bb:v2
assert_match "images shows the new tag" "^registry.example:5000/team/bb +v2 +${BB_ID:7:12} " "$(bctl images)"
assert_match "images REF filters" "^registry.example:5000/team/bb +v2" "$(bctl images 'registry.example:5000/*' | tail -n +2)"
expect_fail "tag of a missing image" 1 "no image missing" bctl tag missing x
expect_fail "tag to an invalid name" 2 "invalid reference" bctl tag busybox 'UP:per'
out=$(bctl rmi registry.example:5000/team/bb:v2)
assert_match "rmi of one of several names untags" "^Untagged: registry.example:5000/team/bb:v2$" "$out"
bctl tag busybox second >/dev/null
expect_fail "rmi by ID of an image with several names needs -f" 1 "has [0-9]+ names.*--force" bctl rmi "${BB_ID:7:12}"
hist=$(bctl history busybox)
assert_match "history has docker's columns" "^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$" "$(head -1 <<<"$hist")"
assert_match "history shows the import" "^${BB_ID:7:12} +.*berth import +[0-9.]+ MB" "$hist"
hist=$(bctl history fixture/docker:1)
assert_match "history lists every layer, newest first" "make-image.py layer 1.*make-image.py layer 0" "$(tr '\n' ' ' <<<"$hist")"
assert_match "image inspect shows RepoTags" '"second:latest"' "$(inspect_field busybox RepoTags)"
assert_match "image inspect shows the config" '"os": "linux"' "$(inspect_field busybox Config)"
expect_fail "image inspect of a missing image" 1 "no image nothere" bctl image inspect nothere
expect_fail "rmi of a missing image" 1 "no image nothere" bctl rmi nothere
out=$(gcall --method org.berth.berth1.Manager.ListImages "{'colour': <'red'>}" 2>&1)
assert_match "ListImages refuses unknown filters" 'Error.InvalidArgument.*unknown option "colour"' "$out"
out=$(gcall --method org.berth.berth1.Manager.GetImage "Bad Name" 2>&1)
assert_match "GetImage names the bad reference" 'InvalidArgument.*invalid reference' "$out"

# --- signals ---
gdbus monitor --address "$BUS_ADDRESS" --dest org.berth.berth1 >"$SCRATCH/monitor.log" 2>&1 &
mon=$!; _pids+=("$mon"); sleep 0.3
id2=$(bctl import "$SCRATCH/busybox.tar.gz" signalled)
bctl rmi signalled >/dev/null
sleep 0.3; kill "$mon" 2>/dev/null
assert_match "ImageAdded is emitted" "ImageAdded \('$id2', objectpath '/org/berth/berth1/image/${id2:7}'\)" "$(cat "$SCRATCH/monitor.log")"
assert_match "ImageRemoved is emitted" "ImageRemoved \('$id2'" "$(cat "$SCRATCH/monitor.log")"

# --- authorization ---
asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
check "a non-root user may list images" asnobody "$BERTHCTL" images
out=$(asnobody "$BERTHCTL" tag busybox nobody-was-here 2>&1)
assert_match "a non-root user may not tag" "not authorized|NotPermitted|polkit" "$out"
out=$(asnobody "$BERTHCTL" rmi -f busybox 2>&1)
assert_match "a non-root user may not remove images" "not authorized|NotPermitted|polkit" "$out"

# --- berthd answers while a large import runs ---
python3 - >"$SCRATCH/big.tar" <<'PY'
import io, os, sys, tarfile
with tarfile.open(fileobj=sys.stdout.buffer, mode="w|") as t:
    blob = os.urandom(1 << 20)
    for i in range(300):
        info = tarfile.TarInfo(f"big/{i // 100}/file{i}"); info.size = len(blob)
        t.addfile(info, io.BytesIO(blob))
PY
mkfifo "$SCRATCH/feed"
bctl import - big/import <"$SCRATCH/feed" >"$SCRATCH/big.out" 2>&1 &
imp=$!; _pids+=("$imp")
( for _ in 1 2 3; do cat "$SCRATCH/big.tar"; done | head -c $(( $(stat -c %s "$SCRATCH/big.tar") )) ) >"$SCRATCH/feed" &
feeder=$!; _pids+=("$feeder")
# One client connection calls GetInfo every 50 ms while the import runs.
"$BUILD_DIR/tests/integration/call-latency" "$BUS_ADDRESS" 30 50 >"$SCRATCH/latency" 2>&1
read -r samples slow worst < <(awk '{ n++; if ($1 >= 100) s++; if ($1 > w) w = $1 } END { print n+0, s+0, w+0 }' "$SCRATCH/latency")
wait "$imp"; rc=$?
[ $rc = 0 ] && ok "the large import succeeds" || { not_ok "the large import succeeds"; diag "$(cat "$SCRATCH/big.out")"; }
# A main loop blocked by the import would stall every call for seconds; on
# a loaded test machine a rare call can still be late by scheduling alone,
# so a few slow answers are tolerated, a stall of 2 s is not.
if [ $samples -ge 3 ] && [ $((slow * 10)) -le $samples ] && [ "${worst%.*}" -lt 2000 ]; then
  ok "GetInfo keeps answering during a 300 MB import ($samples calls, $slow over 100 ms, worst $worst ms)"
else not_ok "GetInfo keeps answering during a 300 MB import ($samples calls, $slow over 100 ms, worst $worst ms)"; fi
bctl rmi big/import >/dev/null

# --- start-up cleanup and repair ---
stop_berthd
mkdir -p "$ROOT/images/staging/layer-0badc0de/diff"
touch "$ROOT/images/blobs/sha256/.deadbeef.tmp-1"
bb_chain=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["diff_id"])' "$ROOT/images/layers/$layer/layer.json" 2>/dev/null)
rm -rf "$ROOT/images/layers/$layer"
start_berthd
assert_match "start-up reports what it cleaned and repaired" "2 leftovers removed, 1 layers repaired" "$(cat "$BERTHD_LOG")"
[ ! -e "$ROOT/images/staging/layer-0badc0de" ] && [ ! -e "$ROOT/images/blobs/sha256/.deadbeef.tmp-1" ] \
  && ok "leftovers of interrupted writes are gone" || not_ok "leftovers of interrupted writes are gone"
[ -x "$ROOT/images/layers/$layer/diff/bin/busybox" ] && ok "a missing layer is unpacked again from its blob" || not_ok "a missing layer is unpacked again from its blob"
assert_match "images still lists busybox after the repair" "^busybox +latest" "$(bctl images)"

# a record whose blobs are gone is dropped, with a report, and berthd runs
stop_berthd
rm -f "$ROOT/images/blobs/sha256/${BB_ID:7}"
start_berthd
assert_match "an image with missing content is reported and dropped" "broken images removed|1 broken" "$(cat "$BERTHD_LOG")"
out=$(bctl images -q)
! grep -q "${BB_ID:7:12}" <<<"$out" && ok "the broken image is gone" || not_ok "the broken image is gone"
check "berthd keeps running" bctl info

finish
