#!/usr/bin/env bash
# Benchmark: berth-runtime against runc and crun on the same bundle (a
# busybox root file system on a tmpfs, config.json from `berth-runtime
# spec`, running `true`), side by side in one run. Three measures, median
# of N (default 20) each:
#   lifecycle  create + start + delete --force, three invocations
#   run        `run ID`: create, start, wait for the exit, delete in one
#   noseccomp  `run ID` of the same bundle without linux.seccomp (runc and
#              crun compile the profile on every create; berth-runtime
#              keeps the compiled program)
# Not run by tools/run-tests. Needs root, busybox-static, runc and crun.
#   tests/bench/run/runtime.sh [N]
# BERTH_RUNTIME=path uses that berth-runtime; otherwise a release build
# (no sanitizers) is made in build-bench/.
set -euo pipefail

n=${1:-20}
top=$(cd "$(dirname "$0")/../../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "runtime.sh: needs root" >&2; exit 1; }

if [ -z "${BERTH_RUNTIME:-}" ]; then
  if [ ! -f "$top/build-bench/build.ninja" ]; then
    meson setup "$top/build-bench" --buildtype=release >/dev/null
  fi
  ninja -C "$top/build-bench" -j2 src/runtime/berth-runtime src/runtime/berth-runtime-create \
    src/runtime/berth-init >/dev/null
  BERTH_RUNTIME=$top/build-bench/src/runtime/berth-runtime
fi

scratch=$(mktemp -d /tmp/berth-bench-runtime.XXXXXX)
mount -t tmpfs berth-bench "$scratch"
cleanup() { umount -l "$scratch" 2>/dev/null || true; rm -rf "$scratch"; }
trap cleanup EXIT

"$top/tests/lib/make-busybox-image" rootfs "$scratch/bundle/rootfs"
(cd "$scratch/bundle" && "$BERTH_RUNTIME" spec -- /bin/true)
mkdir -p "$scratch/noseccomp"
python3 - "$scratch/bundle/config.json" "$scratch/noseccomp/config.json" "$scratch/bundle/rootfs" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
del c["linux"]["seccomp"]
c["root"]["path"] = sys.argv[3]
json.dump(c, open(sys.argv[2], "w"))
PY
: > "$scratch/empty"

# One runtime's loop, printing one duration in ms per line. Runs inside
# `unshare -m` for crun, which refuses this machine's hybrid cgroup layout
# unless /sys/fs/cgroup/unified/cgroup.controllers looks empty.
cat > "$scratch/loop.sh" <<'LOOP'
#!/usr/bin/env bash
set -u
rt=$1 root=$2 mode=$3 n=$4 bundle=$5 empty=$6
if [ "$(basename "$rt")" = crun ]; then
  mount --bind "$empty" /sys/fs/cgroup/unified/cgroup.controllers
fi
cd "$bundle"
for i in $(seq 1 "$n"); do
  id=bench-$mode-$i
  t0=$EPOCHREALTIME
  if [ "$mode" = noseccomp ]; then cd "$bundle/../noseccomp"; fi
  if [ "$mode" = lifecycle ]; then
    "$rt" --root "$root" create "$id" </dev/null >/dev/null 2>&1
    "$rt" --root "$root" start "$id"
    "$rt" --root "$root" delete --force "$id"
  else
    "$rt" --root "$root" run "$id" </dev/null >/dev/null 2>&1
  fi
  rc=$?
  t1=$EPOCHREALTIME
  # A failed run would be fast and prove nothing.
  [ "$mode" = lifecycle ] || [ "$rc" = 0 ] || { echo "$rt $mode failed (exit $rc)" >&2; exit 1; }
  echo "$(( (${t1/./} - ${t0/./}) ))"
done
LOOP
chmod +x "$scratch/loop.sh"

median() { sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.2f", m / 1000}'; }

declare -A result
for mode in lifecycle run noseccomp; do
  for rt in "$BERTH_RUNTIME" "$(command -v runc)" "$(command -v crun)"; do
    name=$(basename "$rt")
    root=$scratch/state-$name
    # one warm-up round (page cache, berth-runtime's seccomp program cache)
    unshare -m "$scratch/loop.sh" "$rt" "$root" "$mode" 1 "$scratch/bundle" "$scratch/empty" >/dev/null
    result[$mode-$name]=$(unshare -m "$scratch/loop.sh" "$rt" "$root" "$mode" "$n" "$scratch/bundle" \
      "$scratch/empty" | median)
  done
done

printf '%-34s %12s %10s %10s %14s %14s\n' "median of $n, ms (tmpfs)" berth-runtime runc crun \
  "berth/runc" "berth/crun"
for mode in lifecycle run noseccomp; do
  b=${result[$mode-berth-runtime]} r=${result[$mode-runc]} c=${result[$mode-crun]}
  case $mode in
    lifecycle) label="create+start+delete true" ;;
    run) label="run true (start to exit)" ;;
    noseccomp) label="run true, no seccomp profile" ;;
  esac
  printf '%-34s %12s %10s %10s %14s %14s\n' "$label" "$b" "$r" "$c" \
    "$(awk -v a="$b" -v b="$r" 'BEGIN {printf "%.2fx", a / b}')" \
    "$(awk -v a="$b" -v b="$c" 'BEGIN {printf "%.2fx", a / b}')"
done
