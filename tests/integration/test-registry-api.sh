#!/usr/bin/env bash
# berth-registry at the HTTP level: every endpoint of the OCI distribution
# spec, its error codes, authentication, and bad input, with curl.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry-lib.sh"

setup_scratch
mkdir -p "$SCRATCH/r"; : > "$SCRATCH/empty.conf"
add_user r alice alicepw
add_user r bob bobpw
add_user r boss bosspw --admin
start_registry r 5110 --enable-delete
A=(-u alice:alicepw)
D="$SCRATCH/data"; mkdir -p "$D"

# --- version check and tokens
req GET "$REG/v2/"
expect "/v2/ without credentials asks for them" 401 UNAUTHORIZED
expect_header "/v2/ challenge names the token realm" WWW-Authenticate '^Bearer realm="http://127.0.0.1:5110/token",service="berth-registry"'
expect_header "/v2/ 401 carries the API version" Docker-Distribution-API-Version '^registry/2.0$'
req GET "$REG/v2/" "${A[@]}"
expect "/v2/ with Basic credentials" 200
expect_header "/v2/ 200 carries the API version" Docker-Distribution-API-Version '^registry/2.0$'
req GET "$REG/v2/" -u alice:wrong
expect "/v2/ with a wrong password" 401 UNAUTHORIZED
req GET "$REG/v2/" -u nobody:x
expect "/v2/ with an unknown user" 401 UNAUTHORIZED

req GET "$REG/token?service=berth-registry&scope=repository:alice/x:pull,push" "${A[@]}"
expect "token for alice" 200
TOKEN=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["token"]==d["access_token"] and d["expires_in"]>=60 and d["issued_at"]; print(d["token"])' "$B")
[ -n "$TOKEN" ] && ok "token response has token, access_token, expires_in, issued_at" || not_ok "token response shape"
req GET "$REG/v2/" -H "Authorization: Bearer $TOKEN"
expect "/v2/ with alice's token" 200
# Change the signature's last character to a different one.
case "$TOKEN" in *0) forged="${TOKEN%?}1" ;; *) forged="${TOKEN%?}0" ;; esac
req GET "$REG/v2/" -H "Authorization: Bearer $forged"
expect "a token with a forged signature is refused" 401 UNAUTHORIZED
req GET "$REG/token?service=berth-registry" -u alice:wrong
expect "no token for a wrong password" 401
req GET "$REG/token?service=berth-registry&scope=repository:alice/x:pull"
expect "anonymous token when anonymous pulls are allowed" 200
ANON=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$B")
req GET "$REG/v2/" -H "Authorization: Bearer $ANON"
expect "/v2/ with an anonymous token" 200

# --- monolithic push: POST then PUT
printf 'config {"a":1}' > "$D/config"; CFG=$(sha256 "$D/config"); CFG_SIZE=$(stat -c %s "$D/config")
head -c 300000 /dev/urandom > "$D/layer"; LAYER=$(sha256 "$D/layer"); LAYER_SIZE=$(stat -c %s "$D/layer")
req POST "$REG/v2/alice/app/blobs/uploads/" "${A[@]}"
expect "POST starts an upload" 202
LOC=$(header Location)
expect_header "upload Location" Location '^/v2/alice/app/blobs/uploads/[0-9a-f-]{36}$'
expect_header "upload Range 0-0" Range '^0-0$'
expect_header "upload has Docker-Upload-UUID" Docker-Upload-UUID '^[0-9a-f-]{36}$'
req PUT "$REG$LOC?digest=$CFG" "${A[@]}" -H 'Content-Type: application/octet-stream' --data-binary @"$D/config"
expect "PUT with the digest completes the upload" 201
expect_header "completed upload Location is the blob" Location "^/v2/alice/app/blobs/$CFG\$"
expect_header "completed upload has Docker-Content-Digest" Docker-Content-Digest "^$CFG\$"
req GET "$REG$LOC" "${A[@]}"
expect "a completed upload is gone" 404 BLOB_UPLOAD_UNKNOWN

# --- single POST with ?digest=
req POST "$REG/v2/alice/app/blobs/uploads/?digest=$LAYER" "${A[@]}" -H 'Content-Type: application/octet-stream' --data-binary @"$D/layer"
expect "POST ?digest= uploads in one request" 201
expect_header "POST ?digest= has Docker-Content-Digest" Docker-Content-Digest "^$LAYER\$"

# --- blob pull
req HEAD "$REG/v2/alice/app/blobs/$LAYER"
expect "HEAD blob" 200
expect_header "HEAD blob Content-Length" Content-Length "^$LAYER_SIZE\$"
expect_header "HEAD blob Docker-Content-Digest" Docker-Content-Digest "^$LAYER\$"
req GET "$REG/v2/alice/app/blobs/$LAYER"
expect "GET blob (anonymous pull)" 200
[ "$(sha256 "$B")" = "$LAYER" ] && ok "GET blob returns the exact bytes" || not_ok "GET blob bytes"
req GET "$REG/v2/alice/app/blobs/$LAYER" -H 'Range: bytes=1000-'
expect "Range bytes=N- gives 206" 206
expect_header "206 Content-Range" Content-Range "^bytes 1000-$((LAYER_SIZE - 1))/$LAYER_SIZE\$"
cmp -s "$B" <(tail -c +1001 "$D/layer") && ok "206 body is the tail" || not_ok "206 body is the tail"
req GET "$REG/v2/alice/app/blobs/$LAYER" -H 'Range: bytes=10-19'
expect "Range bytes=10-19 gives 206" 206
cmp -s "$B" <(head -c 20 "$D/layer" | tail -c 10) && ok "206 body is the 10 bytes asked" || not_ok "206 body range"
req GET "$REG/v2/alice/app/blobs/$LAYER" -H "Range: bytes=$LAYER_SIZE-"
expect "Range past the end gives 416" 416
expect_header "416 Content-Range names the size" Content-Range "^bytes \\*/$LAYER_SIZE\$"
req GET "$REG/v2/alice/app/blobs/sha256:$(printf '%064d' 0)"
expect "unknown blob" 404 BLOB_UNKNOWN
req GET "$REG/v2/alice/app/blobs/sha256:abc"
expect "malformed digest" 400 DIGEST_INVALID
req GET "$REG/v2/alice/app/blobs/md5:d41d8cd98f00b204e9800998ecf8427e"
expect "unsupported digest algorithm" 400 DIGEST_INVALID
req GET "$REG/v2/alice/app/blobs/sha256:$(printf '%064d' 0 | tr 0 A)"
expect "uppercase hex digest" 400 DIGEST_INVALID
req GET "$REG/v2/bob/other/blobs/$LAYER"
expect "a blob is only served from repositories that have it" 404 BLOB_UNKNOWN

# --- chunked upload
head -c 250000 /dev/urandom > "$D/big"; BIG=$(sha256 "$D/big")
split -b 100000 -d "$D/big" "$D/chunk."
req POST "$REG/v2/alice/app/blobs/uploads/" "${A[@]}" -H 'Content-Length: 0'
LOC=$(header Location)
req PATCH "$REG$LOC" "${A[@]}" -H 'Content-Type: application/octet-stream' -H 'Content-Range: 0-99999' --data-binary @"$D/chunk.00"
expect "first chunk" 202
expect_header "Range after the first chunk" Range '^0-99999$'
req PATCH "$REG$LOC" "${A[@]}" -H 'Content-Type: application/octet-stream' -H 'Content-Range: 200000-249999' --data-binary @"$D/chunk.02"
expect "out-of-order chunk gives 416" 416
expect_header "416 tells where the upload stands" Range '^0-99999$'
req PATCH "$REG$LOC" "${A[@]}" -H 'Content-Type: application/octet-stream' -H 'Content-Range: 100000-199999' -H 'Content-Length: 5' --data-binary @"$D/chunk.01"
expect "Content-Length that disagrees with Content-Range" 400 SIZE_INVALID
req GET "$REG$LOC" "${A[@]}"
expect "upload status" 204
expect_header "upload status Range" Range '^0-99999$'
expect_header "upload status Location" Location "^$LOC\$"
req PATCH "$REG$LOC" "${A[@]}" -H 'Content-Type: application/octet-stream' -H 'Content-Range: 100000-199999' --data-binary @"$D/chunk.01"
expect "second chunk" 202
req PUT "$REG$LOC?digest=$BIG" "${A[@]}" -H 'Content-Type: application/octet-stream' -H 'Content-Range: 200000-249999' --data-binary @"$D/chunk.02"
expect "PUT with the last chunk completes" 201
req GET "$REG/v2/alice/app/blobs/$BIG"
[ "$(sha256 "$B")" = "$BIG" ] && ok "chunked blob reads back intact" || not_ok "chunked blob reads back intact"

# streamed PATCH without Content-Range (what docker does), then empty PUT
req POST "$REG/v2/alice/app/blobs/uploads/" "${A[@]}"
LOC=$(header Location)
req PATCH "$REG$LOC" "${A[@]}" -H 'Content-Type: application/octet-stream' -H 'Transfer-Encoding: chunked' --data-binary @"$D/big"
expect "streamed PATCH" 202
expect_header "streamed PATCH Range" Range '^0-249999$'
req PUT "$REG$LOC?digest=$BIG" "${A[@]}"
expect "empty PUT completes a streamed upload" 201

# sha512 digests are accepted too
S512="sha512:$(sha512sum "$D/big" | cut -d' ' -f1)"
req POST "$REG/v2/alice/app/blobs/uploads/" "${A[@]}"
LOC=$(header Location)
req PATCH "$REG$LOC" "${A[@]}" -H 'Content-Type: application/octet-stream' --data-binary @"$D/big"
req PUT "$REG$LOC?digest=$S512" "${A[@]}"
expect "a chunked upload checked against a sha512 digest" 201
req GET "$REG/v2/alice/app/blobs/$S512"
cmp -s "$B" "$D/big" && ok "the sha512 blob reads back" || not_ok "sha512 blob"
req POST "$REG/v2/alice/app/blobs/uploads/?digest=$S512" "${A[@]}" --data-binary @"$D/layer"
expect "a sha512 digest that does not match" 400 DIGEST_INVALID

# wrong digest, cancel
req POST "$REG/v2/alice/app/blobs/uploads/" "${A[@]}"
LOC=$(header Location)
req PUT "$REG$LOC?digest=sha256:$(printf '%064d' 0)" "${A[@]}" --data-binary @"$D/layer"
expect "digest mismatch" 400 DIGEST_INVALID
req GET "$REG/v2/alice/app/blobs/sha256:$(printf '%064d' 0)"
expect "nothing stored after a digest mismatch" 404 BLOB_UNKNOWN
req POST "$REG/v2/alice/app/blobs/uploads/" "${A[@]}"
LOC=$(header Location)
req PUT "$REG$LOC?digest=nonsense" "${A[@]}" --data-binary x
expect "garbage digest on PUT" 400 DIGEST_INVALID
req PUT "$REG$LOC" "${A[@]}" --data-binary x
expect "PUT without digest" 400 DIGEST_INVALID
req DELETE "$REG$LOC" "${A[@]}"
expect "cancel an upload" 204
req GET "$REG$LOC" "${A[@]}"
expect "a cancelled upload is gone" 404 BLOB_UPLOAD_UNKNOWN
req PATCH "$REG/v2/alice/app/blobs/uploads/00000000-0000-0000-0000-000000000000" "${A[@]}" --data-binary x
expect "PATCH of an unknown upload" 404 BLOB_UPLOAD_UNKNOWN
[ -z "$(ls "$SCRATCH/r/uploads")" ] && ok "no staging files remain" || not_ok "staging files remain: $(ls "$SCRATCH/r/uploads")"

# --- manifests
MANIFEST=$(image_manifest "$CFG" "$CFG_SIZE" "$LAYER" "$LAYER_SIZE" ',"annotations":{"org.opencontainers.image.description":"alice app"}')
printf '%s' "$MANIFEST" > "$D/manifest"; MD=$(sha256 "$D/manifest")
req PUT "$REG/v2/alice/app/manifests/v1" "${A[@]}" -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$D/manifest"
expect "push a manifest by tag" 201
expect_header "manifest Location" Location "^/v2/alice/app/manifests/$MD\$"
expect_header "manifest Docker-Content-Digest" Docker-Content-Digest "^$MD\$"
req GET "$REG/v2/alice/app/manifests/v1"
expect "GET manifest by tag" 200
cmp -s "$B" "$D/manifest" && ok "the exact bytes come back" || not_ok "manifest bytes differ"
expect_header "manifest Content-Type is its media type" Content-Type '^application/vnd.oci.image.manifest.v1\+json$'
expect_header "manifest GET Docker-Content-Digest" Docker-Content-Digest "^$MD\$"
req HEAD "$REG/v2/alice/app/manifests/$MD"
expect "HEAD manifest by digest" 200
expect_header "HEAD manifest Content-Length" Content-Length "^$(stat -c %s "$D/manifest")\$"
req GET "$REG/v2/alice/app/manifests/v1" -H "If-None-Match: \"$MD\""
expect "If-None-Match with the digest gives 304" 304
req GET "$REG/v2/alice/app/manifests/nope"
expect "unknown tag" 404 MANIFEST_UNKNOWN
req GET "$REG/v2/alice/nothing/manifests/v1"
expect "unknown repository" 404 NAME_UNKNOWN
req GET "$REG/v2/alice/app/manifests/.bad"
expect "invalid tag" 400 TAG_INVALID
req PUT "$REG/v2/alice/app/manifests/$MD" "${A[@]}" -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$D/manifest"
expect "push by matching digest" 201
req PUT "$REG/v2/alice/app/manifests/$MD?tag=t1&tag=t2" "${A[@]}" -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$D/manifest"
expect "push by digest with ?tag= parameters" 201
expect_header "OCI-Tag lists the tags made" OCI-Tag '^t1, t2$'
req GET "$REG/v2/alice/app/manifests/t2"
expect "the ?tag= tags resolve" 200
req PUT "$REG/v2/alice/app/manifests/$MD?tag=.bad" "${A[@]}" -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$D/manifest"
expect "an invalid ?tag= is refused" 400 TAG_INVALID
req PUT "$REG/v2/alice/app/manifests/sha256:$(printf '%064d' 1)" "${A[@]}" -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$D/manifest"
expect "push by a digest that does not match" 400 DIGEST_INVALID
image_manifest "$CFG" "$CFG_SIZE" "sha256:$(printf '%064d' 7)" 5 > "$D/dangling"
req PUT "$REG/v2/alice/app/manifests/dangling" "${A[@]}" -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$D/dangling"
expect "manifest referencing an unknown blob" 400 MANIFEST_BLOB_UNKNOWN
req GET "$REG/v2/alice/app/manifests/dangling"
expect "the refused manifest was not stored" 404 MANIFEST_UNKNOWN
req PUT "$REG/v2/alice/app/manifests/bad" "${A[@]}" -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary '{"schemaVersion":2,"config":{}}'
expect "invalid manifest" 400 MANIFEST_INVALID
req PUT "$REG/v2/alice/app/manifests/bad" "${A[@]}" -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary 'not json'
expect "manifest that is not JSON" 400 MANIFEST_INVALID
req PUT "$REG/v2/alice/app/manifests/bad" "${A[@]}" -H 'Content-Type: application/vnd.docker.distribution.manifest.v2+json' --data-binary @"$D/manifest"
expect "Content-Type that contradicts mediaType" 400 MANIFEST_INVALID
python3 -c 'import sys; sys.stdout.write("{\"schemaVersion\":2,\"manifests\":[],\"annotations\":{\"x\":\"" + "a" * (4 * 1024 * 1024) + "\"}}")' > "$D/huge"
req PUT "$REG/v2/alice/app/manifests/huge" "${A[@]}" -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary @"$D/huge"
expect "manifest over 4 MiB" 413 SIZE_INVALID
req GET "$REG/v2/alice/app/manifests/huge"
expect "the huge manifest was not stored" 404 MANIFEST_UNKNOWN

# Docker schema 2 manifest and an index over both
DOCKER=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"%s","size":%s}]}' "$CFG" "$CFG_SIZE" "$LAYER" "$LAYER_SIZE")
printf '%s' "$DOCKER" > "$D/docker"; DD=$(sha256 "$D/docker")
req PUT "$REG/v2/alice/app/manifests/docker" "${A[@]}" -H 'Content-Type: application/vnd.docker.distribution.manifest.v2+json' --data-binary @"$D/docker"
expect "push a Docker schema 2 manifest" 201
req GET "$REG/v2/alice/app/manifests/docker"
expect_header "Docker manifest served with its media type" Content-Type '^application/vnd.docker.distribution.manifest.v2\+json$'
printf '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"%s","size":%s,"platform":{"architecture":"amd64","os":"linux"}}]}' "$DD" "$(stat -c %s "$D/docker")" > "$D/list"
req PUT "$REG/v2/alice/app/manifests/multi" "${A[@]}" -H 'Content-Type: application/vnd.docker.distribution.manifest.list.v2+json' --data-binary @"$D/list"
expect "push a Docker manifest list" 201
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%064d","size":3}]}' 9 > "$D/badindex"
req PUT "$REG/v2/alice/app/manifests/badindex" "${A[@]}" -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary @"$D/badindex"
expect "index referencing an unknown manifest" 400 MANIFEST_BLOB_UNKNOWN

# --- referrers
printf '{}' > "$D/empty"; EMPTY=$(push_blob "$REG" alice/app "$D/empty" "${A[@]}")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.example.sbom","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2}],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s},"annotations":{"kind":"sbom"}}' "$EMPTY" "$EMPTY" "$MD" "$(stat -c %s "$D/manifest")" > "$D/sbom"
SBOM=$(sha256 "$D/sbom")
req PUT "$REG/v2/alice/app/manifests/$SBOM" "${A[@]}" -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$D/sbom"
expect "push an artifact with a subject" 201
expect_header "OCI-Subject header" OCI-Subject "^$MD\$"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.example.sig","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%064d","size":1}}' "$EMPTY" 4 > "$D/sig"
req PUT "$REG/v2/alice/app/manifests/$(sha256 "$D/sig")" "${A[@]}" -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$D/sig"
expect "a missing subject is accepted" 201
req GET "$REG/v2/alice/app/referrers/$MD"
expect "referrers" 200
expect_header "referrers are an OCI index" Content-Type '^application/vnd.oci.image.index.v1\+json$'
if python3 - "$B" "$SBOM" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schemaVersion"] == 2 and d["mediaType"] == "application/vnd.oci.image.index.v1+json", d
m = d["manifests"]
assert len(m) == 1 and m[0]["digest"] == sys.argv[2], m
assert m[0]["artifactType"] == "application/vnd.example.sbom" and m[0]["annotations"] == {"kind": "sbom"}, m
PY
then ok "referrers list the artifact with its type and annotations"; else not_ok "referrers content"; diag "$(cat "$B")"; fi
req GET "$REG/v2/alice/app/referrers/$MD?artifactType=application/vnd.example.sig"
expect_header "artifactType filter is announced" OCI-Filters-Applied '^artifactType$'
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["manifests"] == []' "$B" && ok "filtered referrers are empty" || not_ok "filtered referrers"
req GET "$REG/v2/alice/app/referrers/sha256:$(printf '%064d' 5)"
expect "referrers of an unknown digest: empty, not 404" 200
req GET "$REG/v2/alice/app/referrers/sha256:nothex"
expect "referrers with a malformed digest" 400 DIGEST_INVALID

# --- tags and catalog
for t in a b c d e; do
  req PUT "$REG/v2/alice/tags/manifests/$t" "${A[@]}" -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$D/manifest"
done
expect "tag five manifests (blobs mounted below first)" 400 MANIFEST_BLOB_UNKNOWN
req POST "$REG/v2/alice/tags/blobs/uploads/?mount=$LAYER&from=alice/app" "${A[@]}"
expect "cross-repository mount" 201
expect_header "mount Location" Location "^/v2/alice/tags/blobs/$LAYER\$"
req POST "$REG/v2/alice/tags/blobs/uploads/?mount=$CFG&from=alice/app" "${A[@]}"
expect "mount the config" 201
req POST "$REG/v2/alice/tags/blobs/uploads/?mount=sha256:$(printf '%064d' 3)&from=alice/app" "${A[@]}"
expect "mount of an unknown blob falls back to an upload" 202
for t in e d c b a; do
  curl -s -o /dev/null "${A[@]}" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$D/manifest" "$REG/v2/alice/tags/manifests/$t"
done
req GET "$REG/v2/alice/tags/tags/list"
expect "tag list" 200
[ "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["name"], ",".join(d["tags"]))' "$B")" = "alice/tags a,b,c,d,e" ] && ok "tags sorted" || not_ok "tags sorted: $(cat "$B")"
req GET "$REG/v2/alice/tags/tags/list?n=2"
expect_header "Link to the next page" Link '^</v2/alice/tags/tags/list\?n=2&last=b>; rel="next"$'
[ "$(python3 -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["tags"]))' "$B")" = "a,b" ] && ok "first page" || not_ok "first page"
req GET "$REG/v2/alice/tags/tags/list?n=2&last=b"
[ "$(python3 -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["tags"]))' "$B")" = "c,d" ] && ok "second page after last=b" || not_ok "second page"
req GET "$REG/v2/alice/tags/tags/list?n=2&last=d"
[ -z "$(header Link)" ] && ok "no Link on the last page" || not_ok "Link on the last page"
req GET "$REG/v2/alice/tags/tags/list?n=0"
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["tags"]))' "$B")" = 0 ] && [ -z "$(header Link)" ] && ok "n=0: empty list, no Link" || not_ok "n=0"
req GET "$REG/v2/alice/tags/tags/list?n=x"
expect "n that is not a number" 400 PAGINATION_NUMBER_INVALID
req GET "$REG/v2/alice/none/tags/list"
expect "tags of an unknown repository" 404 NAME_UNKNOWN
req GET "$REG/v2/_catalog"
[ "$(python3 -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["repositories"]))' "$B")" = "alice/app,alice/tags" ] && ok "catalog" || not_ok "catalog: $(cat "$B")"
req GET "$REG/v2/_catalog?n=1"
expect_header "catalog Link" Link '^</v2/_catalog\?n=1&last=alice/app>; rel="next"$'

# --- names
req GET "$REG/v2/Alice/app/manifests/v1"
expect "uppercase name" 400 NAME_INVALID
req GET "$REG/v2/alice/../app/manifests/v1"
expect "name with .." 400 NAME_INVALID
req GET "$REG/v2/alice//app/manifests/v1"
expect "name with an empty component" 400 NAME_INVALID
req GET "$REG/v2/-alice/app/tags/list"
expect "name starting with a separator" 400 NAME_INVALID
req GET "$REG/v2/alice/app/frobnicate"
expect "unknown endpoint" 404

# --- authorization
req POST "$REG/v2/alice/app/blobs/uploads/"
expect "anonymous push asks for credentials" 401 UNAUTHORIZED
expect_header "push challenge has the push scope" WWW-Authenticate 'scope="repository:alice/app:pull,push"'
req POST "$REG/v2/alice/app/blobs/uploads/" -H "Authorization: Bearer $ANON"
expect "anonymous token cannot push" 401 UNAUTHORIZED
req POST "$REG/v2/alice/app/blobs/uploads/" -u bob:bobpw
expect "bob cannot push to alice's namespace" 403 DENIED
req PUT "$REG/v2/alice/app/manifests/evil" -u bob:bobpw -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$D/manifest"
expect "bob cannot push a manifest to alice's namespace" 403 DENIED
req GET "$REG/v2/alice/app/manifests/evil"
expect "nothing stored by the refused push" 404 MANIFEST_UNKNOWN
req POST "$REG/v2/app/blobs/uploads/" "${A[@]}"
expect "a user cannot push outside a namespace" 403 DENIED
req POST "$REG/v2/library/base/blobs/uploads/" -u boss:bosspw
expect "an admin pushes anywhere" 202
req POST "$REG/v2/alice/app/blobs/uploads/" -H "Authorization: Bearer $TOKEN"
expect "alice's token for alice/x cannot push to alice/app" 401 UNAUTHORIZED
expect_header "the new challenge names the scope to ask for" WWW-Authenticate 'scope="repository:alice/app:pull,push"'

# --- tokens carry their scope
token_for() { # SCOPE... (with the curl arguments in TOKEN_ARGS)
  local q="service=berth-registry" sc
  for sc in "$@"; do q="$q&scope=$sc"; done
  curl -s "${TOKEN_ARGS[@]}" "$REG/token?$q" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
TOKEN_ARGS=("${A[@]}")
T_APP=$(token_for repository:alice/app:pull,push)
req POST "$REG/v2/alice/app/blobs/uploads/" -H "Authorization: Bearer $T_APP"
expect "a token for repository:alice/app:pull,push can push there" 202
req GET "$REG/v2/alice/tags/tags/list" -H "Authorization: Bearer $T_APP"
expect "but cannot pull another repository" 401 UNAUTHORIZED
T_PULL=$(token_for repository:alice/app:pull)
req POST "$REG/v2/alice/app/blobs/uploads/" -H "Authorization: Bearer $T_PULL"
expect "a pull-only token cannot push" 401 UNAUTHORIZED
req GET "$REG/v2/alice/app/blobs/$LAYER" -H "Authorization: Bearer $T_PULL"
expect "a pull-only token pulls" 200
T_NONE=$(token_for)
req GET "$REG/v2/alice/app/blobs/$LAYER" -H "Authorization: Bearer $T_NONE"
expect "a token without scope pulls nothing" 401 UNAUTHORIZED
TOKEN_ARGS=(-u bob:bobpw)
T_BOB=$(token_for repository:alice/app:pull,push)
req GET "$REG/v2/alice/app/blobs/$LAYER" -H "Authorization: Bearer $T_BOB"
expect "bob asking for push on alice/app gets pull only (pull works)" 200
req POST "$REG/v2/alice/app/blobs/uploads/" -H "Authorization: Bearer $T_BOB"
expect "bob's token does not grant push on alice/app" 403 DENIED
TOKEN_ARGS=()
T_ANON=$(token_for "repository:alice/app:pull,push,delete")
req GET "$REG/v2/alice/app/blobs/$LAYER" -H "Authorization: Bearer $T_ANON"
expect "an anonymous token pulls what it was granted" 200
req DELETE "$REG/v2/alice/app/blobs/$LAYER" -H "Authorization: Bearer $T_ANON"
expect "an anonymous token was granted no delete" 401 UNAUTHORIZED
req GET "$REG/v2/_catalog" -H "Authorization: Bearer $T_PULL"
expect "the catalog needs registry:catalog:*" 401 UNAUTHORIZED
TOKEN_ARGS=("${A[@]}")
T_CAT=$(token_for 'registry:catalog:*')
req GET "$REG/v2/_catalog" -H "Authorization: Bearer $T_CAT"
expect "a registry:catalog:* token lists the catalog" 200
# A mount needs pull on the source repository in the token too.
T_M1=$(token_for repository:alice/mounted:pull,push)
req POST "$REG/v2/alice/mounted/blobs/uploads/?mount=$LAYER&from=alice/app" -H "Authorization: Bearer $T_M1"
expect "no mount when the token does not cover the source (an upload starts instead)" 202
T_M2=$(token_for repository:alice/mounted:pull,push repository:alice/app:pull)
req POST "$REG/v2/alice/mounted/blobs/uploads/?mount=$LAYER&from=alice/app" -H "Authorization: Bearer $T_M2"
expect "a token covering both repositories mounts" 201

# --- deletes
req DELETE "$REG/v2/alice/app/manifests/docker" -u bob:bobpw
expect "bob cannot delete in alice's namespace" 403 DENIED
req DELETE "$REG/v2/alice/app/manifests/docker" "${A[@]}"
expect "delete a tag" 202
req GET "$REG/v2/alice/app/manifests/docker"
expect "deleted tag is gone" 404 MANIFEST_UNKNOWN
req GET "$REG/v2/alice/app/manifests/$DD"
expect "the manifest stays after its tag is deleted" 200
req DELETE "$REG/v2/alice/app/manifests/$MD" "${A[@]}"
expect "delete a manifest by digest" 202
req GET "$REG/v2/alice/app/manifests/v1"
expect "tags of a deleted manifest are gone" 404 MANIFEST_UNKNOWN
req DELETE "$REG/v2/alice/app/manifests/$MD" "${A[@]}"
expect "delete it again" 404 MANIFEST_UNKNOWN
req DELETE "$REG/v2/alice/app/blobs/$BIG" "${A[@]}"
expect "delete a blob" 202
req GET "$REG/v2/alice/app/blobs/$BIG"
expect "deleted blob is gone from the repository" 404 BLOB_UNKNOWN

# deletes disabled
start_registry nodel 5111
req DELETE "$REG/v2/alice/app/manifests/v1" -u x:y
expect "bad credentials on delete" 401 UNAUTHORIZED
add_user nodel carol carolpw
req DELETE "$REG/v2/carol/app/manifests/v1" -u carol:carolpw
expect "delete disabled" 405 UNSUPPORTED

# anonymous pulls disabled
start_registry private 5112 --no-anonymous-pull
req GET "$REG/v2/alice/app/tags/list"
expect "anonymous pull refused when disabled" 401 UNAUTHORIZED
req GET "$REG/token?service=berth-registry"
expect "no anonymous token when anonymous pulls are disabled" 401

# private namespaces: a user pulls, and sees in the catalog, only what they
# may push to (their namespace, grants), admins everything.
printf '[auth]\nprivate-namespaces=true\n' > "$SCRATCH/priv.conf"
mkdir -p "$SCRATCH/pn"
add_user pn alice alicepw; add_user pn bob bobpw; add_user pn boss bosspw --admin
"$BERTH_REGISTRY" --config "$SCRATCH/priv.conf" --root "$SCRATCH/pn" user grant bob alice/shared >/dev/null
"$BERTH_REGISTRY" --config "$SCRATCH/priv.conf" --root "$SCRATCH/pn" --listen 127.0.0.1:5210 >>"$SCRATCH/pn.log" 2>&1 &
_pids+=($!); _reg_pids+=($!); REG=http://127.0.0.1:5210
for _ in $(seq 100); do curl -s -o /dev/null "$REG/v1/_ping" && break; sleep 0.05; done
for who in alice/secret:alice:alicepw alice/shared:alice:alicepw bob/own:bob:bobpw; do
  repo=${who%%:*}; cred=${who#*:}
  push_blob "$REG" "$repo" "$D/config" -u "$cred" >/dev/null; push_blob "$REG" "$repo" "$D/layer" -u "$cred" >/dev/null
  curl -s -o /dev/null -X PUT -u "$cred" -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary @"$D/manifest" "$REG/v2/$repo/manifests/v1"
done
catalog() { curl -s "$@" "$REG/v2/_catalog" | python3 -c 'import json,sys; print(",".join(json.load(sys.stdin)["repositories"]))'; }
[ "$(catalog -u alice:alicepw)" = "alice/secret,alice/shared" ] && ok "alice's catalog lists her repositories only" || not_ok "alice's catalog: $(catalog -u alice:alicepw)"
[ "$(catalog -u bob:bobpw)" = "alice/shared,bob/own" ] && ok "bob's catalog lists his and the granted one" || not_ok "bob's catalog: $(catalog -u bob:bobpw)"
[ "$(catalog -u boss:bosspw)" = "alice/secret,alice/shared,bob/own" ] && ok "an admin's catalog lists all" || not_ok "admin's catalog: $(catalog -u boss:bosspw)"
[ "$(curl -s "$REG/v2/_catalog?n=1" -u bob:bobpw | python3 -c 'import json,sys; print(",".join(json.load(sys.stdin)["repositories"]))')" = "alice/shared" ] \
  && ok "a filtered catalog paginates" || not_ok "bob's first page"
req GET "$REG/v2/alice/secret/manifests/v1" -u bob:bobpw
expect "bob cannot pull from alice's private namespace" 403 DENIED
req GET "$REG/v2/alice/shared/manifests/v1" -u bob:bobpw
expect "bob pulls what he was granted" 200
req GET "$REG/v2/alice/secret/manifests/v1"
expect "no anonymous pull of a private namespace" 401 UNAUTHORIZED
TOKEN_ARGS=(-u bob:bobpw)
T_BOB=$(token_for repository:alice/secret:pull)
req GET "$REG/v2/alice/secret/manifests/v1" -H "Authorization: Bearer $T_BOB"
expect "bob's token for alice/secret grants nothing" 403 DENIED
assert_match "the refusal says who may pull" 'may not pull from alice/secret: users pull only under \\"bob/\\"' "$(cat "$B")"

finish_registries
