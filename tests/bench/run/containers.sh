#!/usr/bin/env bash
# Benchmark: containers end to end through berthd, side by side with podman
# in one run (runtime.sh beside this covers berth-runtime, runc and crun on
# one bundle, and is run at the end).
#   1. `berthctl run --rm busybox true`, median of N (default 20), against
#      `podman run --rm --network none` of the same image (imported from the
#      same tarball);
#   2. 100 detached `sleep` containers: start time per container (median),
#      `ps` latency with 100 running (median of N), berthd's RSS, and the
#      host processes berth adds per container (besides the container's own).
# Not run by tools/run-tests. Needs root, busybox-static, podman, runc.
# Storage roots on a tmpfs. A release build (no sanitizers) is made in
# build-bench/ unless BERTH_BUILD names a build directory.
#   tests/bench/run/containers.sh [N]
set -euo pipefail

n=${1:-20}
top=$(cd "$(dirname "$0")/../../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "containers.sh: needs root" >&2; exit 1; }

if [ -z "${BERTH_BUILD:-}" ]; then
  [ -f "$top/build-bench/build.ninja" ] || meson setup "$top/build-bench" --buildtype=release >/dev/null
  ninja -C "$top/build-bench" -j2 >/dev/null
  BERTH_BUILD=$top/build-bench
fi

export BUILD_DIR=$BERTH_BUILD SOURCE_DIR=$top
. "$top/tests/integration/lib.sh"
setup_scratch
podman_ids=()
bench_cleanup() {
  local d f
  for d in "$SCRATCH"/root/containers/*/; do
    f=/sys/fs/cgroup/unified/berth/$(basename "$d")/cgroup.procs
    [ -e "$f" ] && xargs -r kill -9 <"$f" 2>/dev/null
  done
  [ ${#podman_ids[@]} -gt 0 ] && podman rm -f "${podman_ids[@]}" >/dev/null 2>&1
  podman rmi -f localhost/berth-bench-busybox >/dev/null 2>&1
  cleanup
}
trap bench_cleanup EXIT
start_bus
printf '[runtime]\npath=%s\ninit=%s\n' "$BUILD_DIR/src/runtime/berth-runtime" \
  "$BUILD_DIR/src/runtime/berth-init" >"$SCRATCH/berth.conf"
start_berthd

"$top/tests/lib/make-busybox-image" tar "$SCRATCH/busybox.tar.gz"
bctl import "$SCRATCH/busybox.tar.gz" busybox >/dev/null
have_podman=0
if command -v podman >/dev/null && podman import "$SCRATCH/busybox.tar.gz" localhost/berth-bench-busybox >/dev/null 2>&1; then
  have_podman=1
fi

# Podman as the peer notes set it up on these machines: runc (crun refuses
# the hybrid cgroup layout) and ulimits within the caller's hard limits.
podman_run() { podman --runtime runc run --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 "$@"; }
median() { python3 -c 'import statistics,sys; v=[float(x) for x in sys.stdin.read().split()]; print("%.1f" % statistics.median(v))'; }
# time_ms COMMAND...: wall time of one run, in ms.
time_ms() { local t0=$EPOCHREALTIME; "$@" >/dev/null 2>&1; echo "$EPOCHREALTIME $t0" | awk '{printf "%.2f\n", ($1-$2)*1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a/b; else print "n/a" }'; }

echo "== run --rm busybox true, median of $n (tmpfs roots)"
bctl run --rm busybox true >/dev/null # warm up
berth_run=$(for _ in $(seq 1 "$n"); do time_ms "$BERTHCTL" run --rm busybox true; done | median)
echo "berthctl run --rm:                  $berth_run ms"
if [ $have_podman = 1 ]; then
  podman_run --rm --network none localhost/berth-bench-busybox true >/dev/null 2>&1 || true
  podman_run=$(for _ in $(seq 1 "$n"); do time_ms podman_run --rm --network none localhost/berth-bench-busybox true; done | median)
  echo "podman run --rm --network none:     $podman_run ms (berth/podman $(ratio "$berth_run" "$podman_run"))"
else
  echo "podman: not installed or cannot import; skipped"
fi

echo "== 100 detached sleep containers"
starts=()
for i in $(seq 1 100); do
  starts+=("$(time_ms "$BERTHCTL" run -d --name bench$i busybox sleep 600)")
done
berth_start=$(printf '%s\n' "${starts[@]}" | median)
running=$(bctl ps -q | wc -l)
berth_ps=$(for _ in $(seq 1 "$n"); do time_ms "$BERTHCTL" ps; done | median)
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$BERTHD_PID/status")
# Every process of a container lives in its cgroup; anything else berthd
# keeps per container would be its child outside them.
extra=0
for p in $(pgrep -P "$BERTHD_PID" || true); do
  grep -q '/berth/' "/proc/$p/cgroup" 2>/dev/null || extra=$((extra + 1))
done
in_cgroups=0
for d in /sys/fs/cgroup/unified/berth/*/; do
  [ -e "$SCRATCH/root/containers/$(basename "$d")" ] || continue
  in_cgroups=$((in_cgroups + $(wc -l <"$d/cgroup.procs")))
done
echo "running:                            $running"
echo "start per container (run -d):       $berth_start ms (median)"
echo "berthctl ps with $running running:      $berth_ps ms (median of $n)"
echo "berthd RSS with $running containers:    $((rss / 1024)) MB"
echo "processes in the containers' cgroups: $in_cgroups (berth-init + sleep each)"
echo "host processes berth adds per container: $extra in total outside the containers"
bctl rm -f $(bctl ps -aq) >/dev/null

if [ $have_podman = 1 ]; then
  pstarts=()
  for i in $(seq 1 100); do
    t0=$EPOCHREALTIME
    id=$(podman_run -d --network none localhost/berth-bench-busybox sleep 600 2>/dev/null) || continue
    pstarts+=("$(echo "$EPOCHREALTIME $t0" | awk '{printf "%.2f\n", ($1-$2)*1000}')")
    podman_ids+=("$id")
  done
  podman_start=$(printf '%s\n' "${pstarts[@]}" | median)
  podman_ps=$(for _ in $(seq 1 "$n"); do time_ms podman ps; done | median)
  conmons=$(pgrep -x conmon | wc -l)
  echo "podman start per container:         $podman_start ms (berth/podman $(ratio "$berth_start" "$podman_start"))"
  echo "podman ps with ${#podman_ids[@]} running:          $podman_ps ms (berth/podman $(ratio "$berth_ps" "$podman_ps"))"
  echo "podman conmon processes:            $conmons"
  podman rm -f "${podman_ids[@]}" >/dev/null 2>&1 || true
  podman_ids=()
fi
stop_berthd

echo "== berth-runtime, runc and crun on one bundle (runtime.sh)"
BERTH_RUNTIME=$BUILD_DIR/src/runtime/berth-runtime "$top/tests/bench/run/runtime.sh" "$n"
