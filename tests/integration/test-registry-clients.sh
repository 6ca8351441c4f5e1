#!/usr/bin/env bash
# berth-registry with real clients: skopeo copy and inspect both ways with a
# busybox image and a multi-layer image (OCI and Docker schema 2), podman
# push and pull, 50 concurrent pulls and 10 concurrent pushes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry-lib.sh"

command -v skopeo >/dev/null || skip_all "skopeo is not installed (tools/install-deps)"
setup_scratch
mkdir -p "$SCRATCH/r"; : > "$SCRATCH/empty.conf"
add_user r alice alicepw
start_registry r 5120
HOSTPORT=127.0.0.1:5120
SK=(--dest-tls-verify=false --dest-creds alice:alicepw)
cd "$SCRATCH" || exit 1

BB_DIGEST=$(python3 "$MAKE_IMAGE" "$SCRATCH/bb" --busybox --description "busybox for tests")
MULTI_DIGEST=$(python3 "$MAKE_IMAGE" "$SCRATCH/multi" --busybox --random-layer 2000000 --random-layer 300000 --random-layer 1000 --seed 7)

check "skopeo copy busybox to the registry" skopeo copy -q "${SK[@]}" oci:bb:latest docker://$HOSTPORT/alice/busybox:latest
out=$(skopeo inspect --tls-verify=false docker://$HOSTPORT/alice/busybox:latest 2>&1)
assert_match "skopeo inspect shows the pushed digest" "\"Digest\": \"$BB_DIGEST\"" "$out"
assert_match "skopeo inspect shows the label" '"org.opencontainers.image.description": "busybox for tests"' "$out"
check "skopeo copy the multi-layer image" skopeo copy -q "${SK[@]}" oci:multi:latest docker://$HOSTPORT/alice/multi:v1
out=$(skopeo inspect --tls-verify=false docker://$HOSTPORT/alice/multi:v1 2>&1)
assert_match "skopeo inspect shows the multi-layer digest" "\"Digest\": \"$MULTI_DIGEST\"" "$out"
n=$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["Layers"]))' "$out" 2>/dev/null)
[ "$n" = 4 ] && ok "inspect lists the 4 layers" || not_ok "inspect lists the 4 layers (got $n)"

check "skopeo copy back from the registry" skopeo copy -q --src-tls-verify=false docker://$HOSTPORT/alice/multi:v1 oci:$SCRATCH/back:v1
back=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$SCRATCH/back/index.json")
[ "$back" = "$MULTI_DIGEST" ] && ok "the copy back has the same manifest digest" || not_ok "copy back digest $back != $MULTI_DIGEST"
for f in "$SCRATCH"/multi/blobs/sha256/*; do
  cmp -s "$f" "$SCRATCH/back/blobs/sha256/$(basename "$f")" || { not_ok "blob $(basename "$f") differs after the round trip"; break; }
done && ok "every blob is identical after the round trip"

check "skopeo copy as Docker schema 2" skopeo copy -q --format v2s2 "${SK[@]}" oci:multi:latest docker://$HOSTPORT/alice/multi:docker
out=$(curl -s -D - -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' http://$HOSTPORT/v2/alice/multi/manifests/docker)
assert_match "Docker manifest served as such" 'Content-Type: application/vnd.docker.distribution.manifest.v2\+json' "$out"
check "skopeo copy the Docker manifest back" skopeo copy -q --src-tls-verify=false docker://$HOSTPORT/alice/multi:docker dir:$SCRATCH/dockerback
out=$(skopeo inspect --tls-verify=false --raw docker://$HOSTPORT/alice/multi:docker)
assert_match "raw Docker manifest" '"mediaType": ?"application/vnd.docker.distribution.manifest.v2\+json"' "$out"

# Layers already there are not sent again (HEAD finds them).
before=$(grep -c '"PATCH ' "$SCRATCH/r.log")
check "push the same image under another tag" skopeo copy -q "${SK[@]}" oci:multi:latest docker://$HOSTPORT/alice/multi:v2
after=$(grep -c '"PATCH ' "$SCRATCH/r.log")
[ "$before" = "$after" ] && ok "no blob uploaded twice" || not_ok "blobs uploaded again ($before -> $after PATCHes)"
check "skopeo copy to another repository (mounts)" skopeo copy -q "${SK[@]}" docker://$HOSTPORT/alice/multi:v1 docker://$HOSTPORT/alice/multi2:v1 --src-tls-verify=false
out=$(skopeo list-tags --tls-verify=false docker://$HOSTPORT/alice/multi)
assert_match "skopeo list-tags" '"docker",\s*"v1",\s*"v2"' "$(tr -d '\n' <<<"$out")"

expect_fail_skopeo() {
  local desc=$1 pattern=$2; shift 2
  local out
  if out=$("$@" 2>&1); then not_ok "$desc (succeeded)"; elif grep -qiE -- "$pattern" <<<"$out"; then ok "$desc"; else not_ok "$desc"; diag "$out"; fi
}
expect_fail_skopeo "skopeo push without credentials is refused" "authentication required|unauthorized" \
  skopeo copy -q --dest-tls-verify=false oci:bb:latest docker://$HOSTPORT/alice/anon:latest
expect_fail_skopeo "skopeo push with a wrong password is refused" "unauthorized|authentication" \
  skopeo copy -q --dest-tls-verify=false --dest-creds alice:nope oci:bb:latest docker://$HOSTPORT/alice/anon:latest
expect_fail_skopeo "skopeo push to a foreign namespace is denied" "denied|not authorized|forbidden" \
  skopeo copy -q "${SK[@]}" oci:bb:latest docker://$HOSTPORT/bob/stolen:latest

# --- podman, with its own configuration and storage under the scratch dir
if command -v podman >/dev/null; then
  mkdir -p "$SCRATCH/podman"
  cat > "$SCRATCH/podman/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
  cat > "$SCRATCH/podman/storage.conf" <<CONF
[storage]
driver = "vfs"
graphroot = "$SCRATCH/podman/graph"
runroot = "$SCRATCH/podman/run"
CONF
  cat > "$SCRATCH/podman/registries.conf" <<CONF
[[registry]]
location = "$HOSTPORT"
insecure = true
CONF
  export CONTAINERS_CONF=$SCRATCH/podman/containers.conf CONTAINERS_STORAGE_CONF=$SCRATCH/podman/storage.conf \
    CONTAINERS_REGISTRIES_CONF=$SCRATCH/podman/registries.conf
  P=(podman --root "$SCRATCH/podman/graph" --runroot "$SCRATCH/podman/run" --storage-driver vfs --cgroup-manager cgroupfs --events-backend none)
  check "podman pull busybox" "${P[@]}" pull -q --tls-verify=false $HOSTPORT/alice/busybox:latest
  check "podman pull the multi-layer image" "${P[@]}" pull -q --tls-verify=false $HOSTPORT/alice/multi:v1
  check "podman tag" "${P[@]}" tag $HOSTPORT/alice/multi:v1 $HOSTPORT/alice/frompodman:v1
  check "podman push" "${P[@]}" push -q --tls-verify=false --creds alice:alicepw $HOSTPORT/alice/frompodman:v1
  out=$(skopeo inspect --tls-verify=false docker://$HOSTPORT/alice/frompodman:v1 2>&1)
  n=$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["Layers"]))' "$out" 2>/dev/null)
  [ "$n" = 4 ] && ok "podman's push is readable with its 4 layers" || not_ok "podman push result: $out"
  "${P[@]}" rmi -a -f >/dev/null 2>&1
  check "podman pull what podman pushed" "${P[@]}" pull -q --tls-verify=false $HOSTPORT/alice/frompodman:v1
  "${P[@]}" rmi -a -f >/dev/null 2>&1
else
  echo "ok - # SKIP podman is not installed"
fi

# --- 50 concurrent pulls and 10 concurrent pushes of overlapping content
pids=()
for i in $(seq 1 50); do
  if [ $((i % 2)) = 0 ]; then
    skopeo copy -q --src-tls-verify=false docker://$HOSTPORT/alice/multi:v1 dir:$SCRATCH/pull$i >"$SCRATCH/pull$i.log" 2>&1 &
  else
    skopeo copy -q --src-tls-verify=false docker://$HOSTPORT/alice/busybox:latest dir:$SCRATCH/pull$i >"$SCRATCH/pull$i.log" 2>&1 &
  fi
  pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
[ "$failed" = 0 ] && ok "50 concurrent pulls succeed" || { not_ok "$failed of 50 concurrent pulls failed"; diag "$(cat "$SCRATCH"/pull*.log | head -20)"; }
bad=0
for i in $(seq 2 2 50); do cmp -s "$SCRATCH/pull$i/manifest.json" "$SCRATCH/pull2/manifest.json" || bad=1; done
[ "$bad" = 0 ] && ok "every concurrent pull got the same manifest" || not_ok "concurrent pulls disagree"

for i in $(seq 1 10); do
  cp -r "$SCRATCH/bb" "$SCRATCH/push$i"
  python3 "$MAKE_IMAGE" "$SCRATCH/push$i" --tag t --busybox --random-layer 200000 --seed $((i % 3)) > "$SCRATCH/push$i.digest"
done
pids=()
for i in $(seq 1 10); do
  skopeo copy -q "${SK[@]}" oci:$SCRATCH/push$i:t docker://$HOSTPORT/alice/concurrent:t$i >"$SCRATCH/push$i.log" 2>&1 &
  pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
[ "$failed" = 0 ] && ok "10 concurrent pushes of overlapping content succeed" || { not_ok "$failed of 10 concurrent pushes failed"; diag "$(cat "$SCRATCH"/push*.log | head -20)"; }
bad=0
for i in $(seq 1 10); do
  d=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' docker://$HOSTPORT/alice/concurrent:t$i 2>&1)
  [ "$d" = "$(cat "$SCRATCH/push$i.digest")" ] || { bad=1; diag "t$i: $d"; }
done
[ "$bad" = 0 ] && ok "each concurrently pushed tag has its own digest" || not_ok "concurrently pushed tags"
check "a concurrently pushed image copies back" skopeo copy -q --src-tls-verify=false docker://$HOSTPORT/alice/concurrent:t4 dir:$SCRATCH/t4
[ -z "$(ls "$SCRATCH/r/uploads")" ] && ok "no staging files remain after the pushes" || not_ok "staging files remain"

finish_registries
