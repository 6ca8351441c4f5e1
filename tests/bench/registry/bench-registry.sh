#!/usr/bin/env bash
# berth-registry side by side with Debian's docker-registry (distribution)
# on loopback: manifest GETs per second and p99 (wrk, 10 s, 16 connections),
# the time to GET a 100 MiB blob (and a file:// read of it as the floor), a
# 250 MB image push with skopeo, and idle RSS. Medians of RUNS runs, and
# berth/distribution ratios. Not run by tools/run-tests.
#   tests/bench/registry/bench-registry.sh [--disk] [RUNS]
# --disk keeps both registries' storage under /var/tmp instead of a tmpfs.
# Uses ports 5200-5202. Needs root for the tmpfs; needs wrk, skopeo and
# docker-registry (tools/install-deps --bench).
set -euo pipefail

top=$(cd "$(dirname "$0")/../../.." && pwd)
disk=0
[ "${1:-}" = "--disk" ] && { disk=1; shift; }
runs=${1:-3}
build=${BENCH_BUILD_DIR:-$top/build-bench}
for tool in wrk skopeo docker-registry curl python3; do
  command -v "$tool" >/dev/null || { echo "bench-registry: $tool is missing (tools/install-deps --bench)" >&2; exit 1; }
done

# An optimised build without sanitizers.
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" --buildtype=release -Db_ndebug=true >/dev/null
fi
ninja -C "$build" src/registry/berth-registry >/dev/null
REG="$build/src/registry/berth-registry"

if [ "$disk" = 1 ]; then
  scratch=$(mktemp -d /var/tmp/berth-bench.XXXXXX); mounted=0
else
  scratch=$(mktemp -d /tmp/berth-bench.XXXXXX)
  mount -t tmpfs -o size=4g berth-bench "$scratch"; mounted=1
fi
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ "$mounted" = 1 ] && umount -l "$scratch"
  rm -rf "$scratch"
}
trap cleanup EXIT

wait_port() { for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$1/v2/" && return 0; sleep 0.05; done; echo "port $1 did not open" >&2; exit 1; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# Private memory (anonymous and dirty), which shared libraries do not inflate.
private_kb() { awk '/^(Private_Clean|Private_Dirty):/ { s += $2 } END { print s }' "/proc/$1/smaps_rollup"; }
calc() { awk "BEGIN { print $1 }"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# --- the two registries
: > "$scratch/empty.conf"
mkdir -p "$scratch/berth"
echo benchpw | "$REG" --config "$scratch/empty.conf" --root "$scratch/berth" user add bench --admin >/dev/null
"$REG" --config "$scratch/empty.conf" --root "$scratch/berth" --listen 127.0.0.1:5200 \
  >"$scratch/berth.log" 2>&1 &
berth_pid=$!; pids+=("$berth_pid")
cat > "$scratch/distribution.yml" <<CONF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $scratch/distribution
http:
  addr: 127.0.0.1:5201
CONF
docker-registry serve "$scratch/distribution.yml" >"$scratch/distribution.log" 2>&1 &
dist_pid=$!; pids+=("$dist_pid")
wait_port 5200; wait_port 5201
sleep 1
berth_idle=$(rss_kb "$berth_pid"); dist_idle=$(rss_kb "$dist_pid")
berth_idle_priv=$(private_kb "$berth_pid"); dist_idle_priv=$(private_kb "$dist_pid")

# --- images: busybox (manifest GETs), one 100 MiB layer (blob GET)
python3 "$top/tests/integration/make-oci-image.py" "$scratch/bb" --busybox >/dev/null
python3 "$top/tests/integration/make-oci-image.py" "$scratch/big" --random-layer $((100 * 1024 * 1024 - 300)) >/dev/null
for dest in "127.0.0.1:5200/bench/busybox:latest --dest-creds bench:benchpw" "127.0.0.1:5201/bench/busybox:latest"; do
  set -- $dest
  skopeo copy -q --dest-tls-verify=false "${@:2}" oci:"$scratch/bb":latest "docker://$1"
done
for dest in "127.0.0.1:5200/bench/big:latest --dest-creds bench:benchpw" "127.0.0.1:5201/bench/big:latest"; do
  set -- $dest
  skopeo copy -q --dest-tls-verify=false "${@:2}" oci:"$scratch/big":latest "docker://$1"
done
big_layer=$(python3 -c 'import json,sys; i=json.load(open(sys.argv[1])); m=json.load(open(sys.argv[2] + "/blobs/" + i["manifests"][0]["digest"].replace(":", "/"))); print(m["layers"][0]["digest"])' "$scratch/big/index.json" "$scratch/big")
big_file="$scratch/big/blobs/sha256/${big_layer#sha256:}"
accept='Accept: application/vnd.oci.image.manifest.v1+json'

# --- manifest GETs
wrk_run() {
  wrk -t2 -c16 -d10s --latency -H "$accept" "http://127.0.0.1:$1/v2/bench/busybox/manifests/latest" >"$scratch/wrk.out"
  local rps p99
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$scratch/wrk.out")
  p99=$(awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } print v }' "$scratch/wrk.out")
  echo "$rps $p99"
}
: > "$scratch/berth.rps"; : > "$scratch/dist.rps"; : > "$scratch/berth.p99"; : > "$scratch/dist.p99"
for i in $(seq 1 "$runs"); do
  read -r r p < <(wrk_run 5200); echo "$r" >> "$scratch/berth.rps"; echo "$p" >> "$scratch/berth.p99"
  read -r r p < <(wrk_run 5201); echo "$r" >> "$scratch/dist.rps"; echo "$p" >> "$scratch/dist.p99"
done

# --- 100 MiB blob GETs, with two floors: curl reading the file, and curl
# reading it from a bare server that answers with one sendfile(2) on loopback
python3 - "$big_file" <<'PY' &
import os, socket, sys
path = sys.argv[1]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 5202))
s.listen(8)
while True:
    c, _ = s.accept()
    c.recv(65536)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % os.path.getsize(path))
    with open(path, "rb") as f:
        c.sendfile(f)
    c.close()
PY
pids+=($!)
sleep 0.5
blob_time() { curl -s -o /dev/null -w '%{time_total}\n' "$@"; }
: > "$scratch/berth.blob"; : > "$scratch/dist.blob"; : > "$scratch/file.blob"; : > "$scratch/raw.blob"
for i in $(seq 1 $((runs * 3))); do
  blob_time "http://127.0.0.1:5200/v2/bench/big/blobs/$big_layer" >> "$scratch/berth.blob"
  blob_time -L "http://127.0.0.1:5201/v2/bench/big/blobs/$big_layer" >> "$scratch/dist.blob"
  blob_time "file://$big_file" >> "$scratch/file.blob"
  blob_time "http://127.0.0.1:5202/" >> "$scratch/raw.blob"
done
check=$(curl -s "http://127.0.0.1:5200/v2/bench/big/blobs/$big_layer" | sha256sum | cut -d' ' -f1)
[ "sha256:$check" = "$big_layer" ] || { echo "berth-registry served wrong bytes" >&2; exit 1; }

# --- 250 MB push with skopeo: fresh content each run (skopeo remembers where
# it pushed blobs and would mount them instead of sending them again)
: > "$scratch/berth.push"; : > "$scratch/dist.push"
for i in $(seq 1 "$runs"); do
  rm -rf "$scratch/push"
  python3 "$top/tests/integration/make-oci-image.py" "$scratch/push" --random-layer 125000000 \
    --random-layer 125000000 --seed $((100 + i)) >/dev/null
  s=$(date +%s.%N); skopeo copy -q --dest-tls-verify=false --dest-creds bench:benchpw oci:"$scratch/push":latest docker://127.0.0.1:5200/bench/push$i:latest; e=$(date +%s.%N)
  calc "$e - $s" >> "$scratch/berth.push"
  s=$(date +%s.%N); skopeo copy -q --dest-tls-verify=false oci:"$scratch/push":latest docker://127.0.0.1:5201/bench/push$i:latest; e=$(date +%s.%N)
  calc "$e - $s" >> "$scratch/dist.push"
done
grep -q '"PATCH /v2/bench/push1/' "$scratch/berth.log" || { echo "the push was not an upload" >&2; exit 1; }

berth_busy=$(rss_kb "$berth_pid"); dist_busy=$(rss_kb "$dist_pid")

m() { median < "$scratch/$1"; }
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }
br=$(m berth.rps); dr=$(m dist.rps); bp=$(m berth.p99); dp=$(m dist.p99)
bb=$(m berth.blob); db=$(m dist.blob); fb=$(m file.blob); rb=$(m raw.blob)
bpu=$(m berth.push); dpu=$(m dist.push)
printf 'berth-registry vs docker-registry %s, storage on %s, medians of %s runs\n' \
  "$(dpkg-query -W -f='${Version}' docker-registry 2>/dev/null)" "$([ $disk = 1 ] && echo disk || echo tmpfs)" "$runs"
printf '%-34s %14s %14s %8s\n' "" berth distribution ratio
printf '%-34s %14.0f %14.0f %8s\n' "manifest GET req/s (wrk -c16)" "$br" "$dr" "$(ratio "$br" "$dr")"
printf '%-34s %14.2f %14.2f %8s\n' "manifest GET p99 ms" "$bp" "$dp" "$(ratio "$bp" "$dp")"
printf '%-34s %14.1f %14.1f %8s\n' "100 MiB blob GET ms" "$(calc "$bb * 1000")" "$(calc "$db * 1000")" "$(ratio "$bb" "$db")"
printf '%-34s %14.1f\n' "100 MiB file:// read ms (floor)" "$(calc "$fb * 1000")"
printf '%-34s %14.1f\n' "100 MiB bare sendfile server ms" "$(calc "$rb * 1000")"
printf '%-34s %14.2f %14.2f %8s\n' "250 MB skopeo push s" "$bpu" "$dpu" "$(ratio "$bpu" "$dpu")"
printf '%-34s %14.1f %14.1f %8s\n' "idle RSS MB (after start)" "$(calc "$berth_idle / 1024")" "$(calc "$dist_idle / 1024")" "$(ratio "$berth_idle" "$dist_idle")"
printf '%-34s %14.1f %14.1f %8s\n' "idle private memory MB" "$(calc "$berth_idle_priv / 1024")" "$(calc "$dist_idle_priv / 1024")" "$(ratio "$berth_idle_priv" "$dist_idle_priv")"
printf '%-34s %14.1f %14.1f %8s\n' "RSS MB after the runs" "$(calc "$berth_busy / 1024")" "$(calc "$dist_busy / 1024")" "$(ratio "$berth_busy" "$dist_busy")"
