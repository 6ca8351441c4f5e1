#!/usr/bin/env bash
# The details of containers a docker or podman user relies on, through
# berthctl and berthd: shells' exit codes for exec (127, 126, with
# berth-runtime and with runc), users by name from the image's
# /etc/passwd and /etc/group, timestamps in the logs (--since, --until,
# -t) and the output of a detached terminal kept in the log.
# cgroupfs mode; tests/systemd covers the journal.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (namespaces, mounts, cgroups)"
RUNTIME="$BUILD_DIR/src/runtime/berth-runtime"
INIT="$BUILD_DIR/src/runtime/berth-init"

setup_scratch
kill_containers() {
  local d f
  for d in "$SCRATCH"/root/containers/*/; do
    f=/sys/fs/cgroup/unified/berth/$(basename "$d")/cgroup.procs
    [ -e "$f" ] && xargs -r kill -9 <"$f" 2>/dev/null
  done
}
trap 'kill_containers; cleanup' EXIT
start_bus
printf '[runtime]\npath=%s\ninit=%s\n' "$RUNTIME" "$INIT" >"$SCRATCH/berth.conf"
start_berthd

"$SOURCE_DIR/tests/lib/make-busybox-image" rootfs "$SCRATCH/bbroot" \
  || { echo "Bail out! cannot build the busybox root file system"; exit 1; }
tar -C "$SCRATCH/bbroot" -czf "$SCRATCH/busybox.tar.gz" . \
  || { echo "Bail out! cannot pack the busybox image"; exit 1; }
bctl import "$SCRATCH/busybox.tar.gz" busybox >/dev/null \
  || { echo "Bail out! cannot import busybox"; exit 1; }

# --- exec: shells' exit codes, with each runtime -----------------------------------------
exec_codes() {
  local tag=$1 rt=$2 err rc
  local ropt=()
  [ -n "$rt" ] && ropt=(--runtime "$rt")
  bctl run -d "${ropt[@]}" --name "ex-$tag" busybox sleep 1000 >/dev/null
  err=$(bctl exec "ex-$tag" no-such-program 2>&1 </dev/null); rc=$?
  [ $rc = 127 ] && grep -q 'executable file not found in \$PATH\|executable file "no-such-program" not found in \$PATH' <<<"$err" \
    && ok "$tag: exec of a missing command exits 127 and says so" \
    || { not_ok "$tag: exec of a missing command exits 127 and says so (exit $rc)"; diag "$err"; }
  err=$(bctl exec "ex-$tag" /no/such/dir/prog 2>&1 </dev/null); rc=$?
  [ $rc = 127 ] && grep -qi 'no such file or directory' <<<"$err" \
    && ok "$tag: exec of a missing path exits 127" \
    || { not_ok "$tag: exec of a missing path exits 127 (exit $rc)"; diag "$err"; }
  err=$(bctl exec "ex-$tag" /etc/passwd 2>&1 </dev/null); rc=$?
  [ $rc = 126 ] && grep -qi 'permission denied' <<<"$err" \
    && ok "$tag: exec of a file that is not executable exits 126 and says so" \
    || { not_ok "$tag: exec of a non-executable file exits 126 (exit $rc)"; diag "$err"; }
  bctl exec "ex-$tag" sh -c 'exit 255' </dev/null; rc=$?
  [ $rc = 255 ] && ok "$tag: a command's own 255 is passed on unchanged" \
    || not_ok "$tag: a command's own 255 is passed on unchanged (exit $rc)"
  bctl exec "ex-$tag" sh -c 'exit 127' </dev/null; rc=$?
  [ $rc = 127 ] && ok "$tag: a command's own 127 too" || not_ok "$tag: a command's own 127 too (exit $rc)"
  err=$(bctl run --rm "${ropt[@]}" busybox no-such-program 2>&1 </dev/null); rc=$?
  [ $rc = 127 ] && grep -q 'executable file "no-such-program" not found in \$PATH' <<<"$err" \
    && ok "$tag: run of a missing command exits 127 and says so" \
    || { not_ok "$tag: run of a missing command exits 127 and says so (exit $rc)"; diag "$err"; }
  bctl rm -f "ex-$tag" >/dev/null
}
exec_codes berth-runtime ""
if command -v runc >/dev/null; then
  exec_codes runc "$(command -v runc)"
else
  not_ok "runc is installed (tools/install-deps installs it)"
fi

# --- users by name, from the container's own /etc/passwd and /etc/group -----------------
# An image with users and groups of its own, and a symbolic link that must
# not lead berthd out of the container's root.
mkdir -p "$SCRATCH/uroot/etc" "$SCRATCH/uroot/home/app"
cp -a "$SCRATCH/bbroot/." "$SCRATCH/uroot/"
cat >>"$SCRATCH/uroot/etc/passwd" <<'PW'
app:x:1000:1000:App:/home/app:/bin/sh
PW
cat >>"$SCRATCH/uroot/etc/group" <<'GR'
app:x:1000:
staff:x:50:app,other
audio:x:29:app
GR
tar -C "$SCRATCH/uroot" -czf "$SCRATCH/users.tar.gz" . && bctl import "$SCRATCH/users.tar.gz" users >/dev/null \
  || { echo "Bail out! cannot import the users image"; exit 1; }
mkdir -p "$SCRATCH/lroot/etc"
cp -a "$SCRATCH/bbroot/." "$SCRATCH/lroot/"
rm "$SCRATCH/lroot/etc/passwd"
echo "hostuser:x:4711:4711::/host:/bin/sh" >"$SCRATCH/host-passwd"
ln -s "../../../../../../../../..$SCRATCH/host-passwd" "$SCRATCH/lroot/etc/passwd"
tar -C "$SCRATCH/lroot" -czf "$SCRATCH/links.tar.gz" . && bctl import "$SCRATCH/links.tar.gz" links >/dev/null \
  || { echo "Bail out! cannot import the links image"; exit 1; }

users() {
  local tag=$1 rt=$2 out
  local ropt=()
  [ -n "$rt" ] && ropt=(--runtime "$rt")
  out=$(bctl run --rm "${ropt[@]}" -u app users sh -c 'echo "$(id) HOME=$HOME"' 2>&1 </dev/null)
  assert_match "$tag: run -u NAME: uid, gid, supplementary groups and HOME from the image" \
    "^uid=1000\(app\) gid=1000\(app\) groups=(50\(staff\),29\(audio\)|29\(audio\),50\(staff\)) HOME=/home/app$" "$out"
  out=$(bctl run --rm "${ropt[@]}" -u app:staff users sh -c 'echo "$(id -u):$(id -g)"' 2>&1 </dev/null)
  assert_match "$tag: run -u NAME:GROUP takes the group by name" "^1000:50$" "$out"
  out=$(bctl run --rm "${ropt[@]}" -u 1000 users sh -c 'echo "$(id -u):$(id -g) HOME=$HOME"' 2>&1 </dev/null)
  assert_match "$tag: run -u UID finds the user's group and HOME" "^1000:1000 HOME=/home/app$" "$out"
  out=$(bctl run --rm "${ropt[@]}" -u 4242 users sh -c 'echo "$(id -u):$(id -g) HOME=$HOME"' 2>&1 </dev/null)
  assert_match "$tag: run -u UID not in passwd: group 0, HOME=/" "^4242:0 HOME=/$" "$out"
  out=$(bctl run --rm "${ropt[@]}" -u app -e HOME=/given users sh -c 'echo "HOME=$HOME"' 2>&1 </dev/null)
  assert_match "$tag: a HOME given stays" "^HOME=/given$" "$out"
  out=$(bctl run --rm "${ropt[@]}" users sh -c 'echo "$(id -u) HOME=$HOME"' 2>&1 </dev/null)
  assert_match "$tag: the default is root with HOME=/root" "^0 HOME=/root$" "$out"
  expect_fail "$tag: run -u with an unknown user: one error, exit 125" 125 \
    'unable to find user nosuch: no matching entries in the container.s /etc/passwd' \
    bctl run --rm "${ropt[@]}" -u nosuch users true
  expect_fail "$tag: run -u with an unknown group: one error, exit 125" 125 \
    'unable to find group nogroup-here' bctl run --rm "${ropt[@]}" -u app:nogroup-here users true
  [ -z "$(bctl ps -aq)" ] && ok "$tag: --rm leaves nothing after a failed start" \
    || { not_ok "$tag: --rm leaves nothing after a failed start"; diag "$(bctl ps -a)"; }

  # exec: users the container added since it started are found
  bctl run -d "${ropt[@]}" --name "ux-$tag" users sleep 1000 >/dev/null
  bctl exec "ux-$tag" sh -c 'echo "bob:x:1500:1500:Bob:/home/bob:/bin/sh" >>/etc/passwd; echo "bob:x:1500:" >>/etc/group; echo "video:x:44:bob" >>/etc/group'
  out=$(bctl exec -u bob "ux-$tag" sh -c 'echo "$(id) HOME=$HOME"' 2>&1 </dev/null)
  assert_match "$tag: exec -u NAME added inside the running container" \
    "^uid=1500\(bob\) gid=1500\(bob\) groups=44\(video\) HOME=/home/bob$" "$out"
  out=$(bctl exec -u app:audio "ux-$tag" sh -c 'echo "$(id -u):$(id -g)"' 2>&1 </dev/null)
  assert_match "$tag: exec -u NAME:GROUP" "^1000:29$" "$out"
  out=$(bctl exec "ux-$tag" sh -c 'echo "$(id -u) $(id -G) HOME=$HOME"' 2>&1 </dev/null)
  assert_match "$tag: exec without -u runs as the container's user" "^0 0 HOME=/root$" "$out"
  expect_fail "$tag: exec -u with an unknown user: one error" 125 'unable to find user nosuch' \
    bctl exec -u nosuch "ux-$tag" true
  bctl rm -f "ux-$tag" >/dev/null
}
users berth-runtime ""
command -v runc >/dev/null && users runc "$(command -v runc)"

expect_fail "a passwd that links out of the container's root is read inside it" 125 \
  'unable to find user hostuser' bctl run --rm -u hostuser links true
out=$(bctl run --rm -u 4711 links sh -c 'echo "$(id -u):$(id -g) HOME=$HOME"' 2>&1 </dev/null)
assert_match "... and a number still runs, with nothing taken from the host's file" "^4711:0 HOME=/$" "$out"

finish
