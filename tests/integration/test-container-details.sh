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

finish
