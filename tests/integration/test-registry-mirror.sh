#!/usr/bin/env bash
# Mirrors: berth-registry as a pull-through cache of another registry
# (digest checks, tag TTL, upstream down, upstream credentials), and blob
# downloads redirected to third-party mirrors, including a tampering one
# whose bytes skopeo must refuse.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry-lib.sh"

setup_scratch
: > "$SCRATCH/empty.conf"
mkdir -p "$SCRATCH/up"
add_user up alice alicepw
start_registry up 5150
UP=$REG
cd "$SCRATCH" || exit 1
SK=(--dest-tls-verify=false --dest-creds alice:alicepw)
V1=$(python3 "$MAKE_IMAGE" "$SCRATCH/img" --tag v1 --busybox --description "first")
V2=$(python3 "$MAKE_IMAGE" "$SCRATCH/img" --tag v2 --busybox --random-layer 50000 --description "second")
skopeo copy -q "${SK[@]}" oci:img:v1 docker://127.0.0.1:5150/alice/app:latest

# --- pull-through
start_registry mirror 5151 --proxy-upstream "$UP" --proxy-ttl 0
start_registry stale 5152 --proxy-upstream "$UP" --proxy-ttl 3600
check "skopeo copy through the mirror" skopeo copy -q --src-tls-verify=false docker://127.0.0.1:5151/alice/app:latest dir:$SCRATCH/m1
d=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' docker://127.0.0.1:5151/alice/app:latest)
[ "$d" = "$V1" ] && ok "the mirror serves the upstream's manifest" || not_ok "mirror digest $d"
assert_match "the mirror cached what it served" "mirror: cached alice/app:latest" "$(cat "$SCRATCH/mirror.log")"
n=$(find "$SCRATCH/mirror/blobs" -type f | wc -l)
[ "$n" = 3 ] && ok "the mirror stored the manifest, config and layer" || not_ok "mirror store has $n files"
d=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' docker://127.0.0.1:5152/alice/app:latest)
[ "$d" = "$V1" ] && ok "the second mirror caches v1 too" || not_ok "stale mirror digest $d"

skopeo copy -q "${SK[@]}" oci:img:v2 docker://127.0.0.1:5150/alice/app:latest
d=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' docker://127.0.0.1:5151/alice/app:latest)
[ "$d" = "$V2" ] && ok "after the TTL the tag is revalidated with the upstream" || not_ok "ttl 0 mirror digest $d"
d=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' docker://127.0.0.1:5152/alice/app:latest)
[ "$d" = "$V1" ] && ok "within the TTL the cached tag is served" || not_ok "ttl 3600 mirror digest $d"
check "the new layers come through the mirror" skopeo copy -q --src-tls-verify=false docker://127.0.0.1:5151/alice/app:latest dir:$SCRATCH/m2
req GET "http://127.0.0.1:5151/v2/alice/app/manifests/nope"
expect "unknown upstream tag" 404 MANIFEST_UNKNOWN
req POST "http://127.0.0.1:5151/v2/alice/app/blobs/uploads/" -u alice:alicepw
[ "$STATUS" = 401 ] || [ "$STATUS" = 405 ] && ok "pushes to a mirror are refused" || not_ok "push to mirror answered $STATUS"

skopeo copy -q "${SK[@]}" oci:img:v1 docker://127.0.0.1:5150/alice/app:old
out=$(skopeo list-tags --tls-verify=false docker://127.0.0.1:5151/alice/app 2>&1)
assert_match "the mirror lists the upstream's tags, even those not pulled yet" '"latest",\s*"old"' "$(tr -d '\n' <<<"$out")"

# Ten clients asking a cold mirror for the same blob cause one download.
start_registry cold 5162 --proxy-upstream "$UP"
LAYER2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][-1]["digest"])' "$SCRATCH/m2/manifest.json")
curl -s -o /dev/null "http://127.0.0.1:5162/v2/alice/app/manifests/latest"
before=$(grep -c "\"GET /v2/alice/app/blobs/$LAYER2\" 200" "$SCRATCH/up.log")
pids=()
for i in $(seq 1 10); do curl -s -o "$SCRATCH/cold$i" "http://127.0.0.1:5162/v2/alice/app/blobs/$LAYER2" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done
bad=0; for i in $(seq 1 10); do [ "$(sha256 "$SCRATCH/cold$i")" = "$LAYER2" ] || bad=1; done
[ "$bad" = 0 ] && ok "ten concurrent GETs of a blob the mirror lacks all get it" || not_ok "concurrent cold GETs"
n=$(( $(grep -c "\"GET /v2/alice/app/blobs/$LAYER2\" 200" "$SCRATCH/up.log") - before ))
[ "$n" = 1 ] && ok "...and the upstream served it once" || not_ok "the upstream served it $n times"

kill "$REG_PID_up"; wait "$REG_PID_up" 2>/dev/null
check "upstream down: the mirror still serves the cached image" skopeo copy -q --src-tls-verify=false docker://127.0.0.1:5151/alice/app:latest dir:$SCRATCH/m3
cmp -s "$SCRATCH/m2/manifest.json" "$SCRATCH/m3/manifest.json" && ok "the cached copy is the latest one seen" || not_ok "cached copy differs"
assert_match "the mirror logs that it served its cache" "serving the cached copy" "$(cat "$SCRATCH/mirror.log")"
out=$(skopeo list-tags --tls-verify=false docker://127.0.0.1:5151/alice/app 2>&1)
assert_match "upstream down: the mirror lists the tags it has" '"Tags": \[\s*"latest"\s*\]' "$(tr -d '\n' <<<"$out")"
req GET "http://127.0.0.1:5151/v2/alice/other/manifests/latest"
expect "upstream down and nothing cached" 404 NAME_UNKNOWN

# A tampering upstream: what it sends does not match the digest, so the
# mirror neither stores nor serves it.
python3 "$SOURCE_DIR/tests/integration/blob-mirror.py" 5153 "$SCRATCH/up/blobs" --tamper 2>"$SCRATCH/evil.log" &
_pids+=($!)
start_registry tampered 5154 --proxy-upstream http://127.0.0.1:5153
for _ in $(seq 1 50); do curl -s -o /dev/null http://127.0.0.1:5153/ && break; sleep 0.05; done
LAYER=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][0]["digest"])' "$SCRATCH/m1/manifest.json")
req GET "http://127.0.0.1:5154/v2/alice/app/blobs/$LAYER"
expect "a blob with the wrong bytes upstream is refused" 404 BLOB_UNKNOWN
assert_match "the mirror says why" "blob $LAYER does not match its digest \(got sha256:[0-9a-f]+\) from 127.0.0.1:5153" "$(cat "$SCRATCH/tampered.log")"
[ -z "$(find "$SCRATCH/tampered/blobs" -type f)" ] && ok "nothing was stored from the tampering upstream" || not_ok "tampered bytes stored"

# An upstream that needs credentials: the mirror does the token flow.
start_registry up 5150 --no-anonymous-pull
start_registry auth 5155 --proxy-upstream "$UP" --proxy-credentials alice:alicepw
start_registry noauth 5156 --proxy-upstream "$UP"
check "the mirror signs in to a private upstream" skopeo copy -q --src-tls-verify=false docker://127.0.0.1:5155/alice/app:latest dir:$SCRATCH/m4
req GET "http://127.0.0.1:5156/v2/alice/app/manifests/latest"
expect "without credentials the private upstream gives nothing" 404

# --- redirects to blob mirrors
mkdir -p "$SCRATCH/src"
add_user src alice alicepw
python3 "$SOURCE_DIR/tests/integration/blob-mirror.py" 5157 "$SCRATCH/src/blobs" 2>"$SCRATCH/honest.log" &
_pids+=($!)
python3 "$SOURCE_DIR/tests/integration/blob-mirror.py" 5158 "$SCRATCH/src/blobs" --tamper 2>"$SCRATCH/evil2.log" &
_pids+=($!)
for port in 5157 5158; do
  for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:$port/ && break; sleep 0.05; done
done
start_registry src 5159 --redirect-blobs-to http://127.0.0.1:5157/
skopeo copy -q "${SK[@]}" oci:img:v1 docker://127.0.0.1:5159/alice/app:latest
req GET "http://127.0.0.1:5159/v2/alice/app/blobs/$LAYER"
expect "blob GET is redirected" 307
expect_header "to the mirror, same path" Location "^http://127.0.0.1:5157/v2/alice/app/blobs/$LAYER\$"
req GET "http://127.0.0.1:5159/v2/alice/app/manifests/latest"
expect "manifests are served by the registry itself" 200
check "skopeo copy follows the redirect to an honest mirror" skopeo copy -q --src-tls-verify=false docker://127.0.0.1:5159/alice/app:latest dir:$SCRATCH/r1
assert_match "the honest mirror served the layer" "GET /v2/alice/app/blobs/$LAYER" "$(cat "$SCRATCH/honest.log")"
kill "$REG_PID_src"; wait "$REG_PID_src" 2>/dev/null
start_registry src 5159 --redirect-blobs-to http://127.0.0.1:5158
out=$(skopeo copy -q --src-tls-verify=false docker://127.0.0.1:5159/alice/app:latest dir:$SCRATCH/r2 2>&1); rc=$?
[ $rc != 0 ] && grep -qiE "digest did not match|digest mismatch" <<<"$out" && ok "skopeo refuses the tampered blob (digest mismatch)" \
  || { not_ok "skopeo accepted a tampered blob (exit $rc)"; diag "$out"; }
assert_match "the tampering mirror was asked" "GET /v2/alice/app/blobs/" "$(cat "$SCRATCH/evil2.log")"
# Mirrors are tried in order: a dead one and one without the blob are passed over.
mkdir -p "$SCRATCH/emptystore"
python3 "$SOURCE_DIR/tests/integration/blob-mirror.py" 5161 "$SCRATCH/emptystore" 2>"$SCRATCH/empty-mirror.log" &
_pids+=($!)
for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:5161/ && break; sleep 0.05; done
kill "$REG_PID_src"; wait "$REG_PID_src" 2>/dev/null
start_registry src 5159 --redirect-blobs-to http://127.0.0.1:5160 --redirect-blobs-to http://127.0.0.1:5161 \
  --redirect-blobs-to http://127.0.0.1:5157
req GET "http://127.0.0.1:5159/v2/alice/app/blobs/$LAYER"
expect "with a dead mirror and one lacking the blob first" 307
expect_header "the first mirror that has the blob gets the client" Location "^http://127.0.0.1:5157/v2/alice/app/blobs/$LAYER\$"
assert_match "the dead mirror is reported" "blob mirror http://127.0.0.1:5160 cannot be reached" "$(cat "$SCRATCH/src.log")"
check "skopeo copy through the third mirror" skopeo copy -q --src-tls-verify=false docker://127.0.0.1:5159/alice/app:latest dir:$SCRATCH/r3
kill "$REG_PID_src"; wait "$REG_PID_src" 2>/dev/null
start_registry src 5159 --redirect-blobs-to http://127.0.0.1:5160 --redirect-blobs-to http://127.0.0.1:5161
req GET "http://127.0.0.1:5159/v2/alice/app/blobs/$LAYER"
expect "no mirror has the blob: the registry serves it" 200
[ "$(sha256 "$B")" = "$LAYER" ] && ok "...with the right bytes" || not_ok "served bytes"

expect_fail "a redirect target must be a URL" 1 'invalid mirror "ftp://x"' \
  "$BERTH_REGISTRY" --config "$SCRATCH/empty.conf" --root "$SCRATCH/x" --redirect-blobs-to ftp://x gc

finish_registries
