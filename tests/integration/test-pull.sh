#!/usr/bin/env bash
# Pull, push, login and search through berthd and berth-pull, against
# berth-registry and the distribution registry on loopback: verification
# against tampering mirrors (directly and through redirects), platform
# selection, interrupted pulls, shared concurrent pulls, and clear errors.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry-lib.sh"

command -v skopeo >/dev/null || skip_all "skopeo is not installed (tools/install-deps)"
setup_scratch
export BERTH_PULL_HELPER="$BUILD_DIR/src/pull/berth-pull"
MIRROR="$SOURCE_DIR/tests/integration/pull-mirror.py"
R=127.0.0.1:5710
SK=(--dest-tls-verify=false --dest-creds alice:alicepw)
cd "$SCRATCH" || exit 1

mkdir -p "$SCRATCH/r"; : > "$SCRATCH/empty.conf"
add_user r alice alicepw
start_registry r 5710
BB_DIGEST=$(python3 "$MAKE_IMAGE" "$SCRATCH/bb" --busybox --description "busybox for pull tests")
MULTI_DIGEST=$(python3 "$MAKE_IMAGE" "$SCRATCH/multi" --busybox --random-layer 3000000 --random-layer 200000 --random-layer 1000 --seed 11)
skopeo copy -q "${SK[@]}" oci:bb:latest docker://$R/alice/busybox:latest || echo "Bail out! cannot push busybox with skopeo"
skopeo copy -q "${SK[@]}" oci:multi:latest docker://$R/alice/multi:v1 || echo "Bail out! cannot push multi with skopeo"
# Images whose layers no other image shares, one per scenario below.
for n in evil:12 redirected:13 shared:14 many:15 resume:16; do
  python3 "$MAKE_IMAGE" "$SCRATCH/${n%%:*}" --busybox --random-layer 1500000 --random-layer 30000 --random-layer 1000 --seed "${n##*:}" >/dev/null
  skopeo copy -q "${SK[@]}" oci:${n%%:*}:latest docker://$R/alice/${n%%:*}:v1 >/dev/null
done

cat > "$SCRATCH/berth.conf" <<EOF
[registries]
unqualified-search=$R
EOF
start_bus
start_berthd

layer_count() { find "$ROOT/images/layers" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# --- pull ---------------------------------------------------------------------
out=$(bctl pull -q $R/alice/busybox:latest 2>&1)
assert_match "pull prints the image name" "^$R/alice/busybox:latest$" "$out"
out=$(bctl images 2>&1)
assert_match "the pulled image is listed" "$R/alice/busybox +latest" "$out"
# Pulls of a stored image end in a few milliseconds, before berthctl can ask
# for the transfer's properties: the name still reaches it.
named=0; for i in $(seq 10); do [ "$(bctl pull -q $R/alice/busybox:latest 2>&1)" = "$R/alice/busybox:latest" ] && named=$((named + 1)); done
[ $named = 10 ] && ok "10 quick pulls of a stored image each print its name" || not_ok "$named of 10 quick pulls printed the name"
out=$(bctl image inspect $R/alice/busybox 2>&1)
assert_match "the image keeps the registry's manifest digest" "$BB_DIGEST" "$out"
out=$(bctl pull -q alice/multi:v1 2>&1)
assert_match "a short name resolves through unqualified-search" "^$R/alice/multi:v1$" "$out"
[ "$(layer_count)" -ge 4 ] && ok "the multi-layer image's layers are unpacked" || not_ok "layers unpacked ($(layer_count))"
[ -z "$(ls -A "$ROOT/images/staging/pull" 2>/dev/null)" ] && ok "a finished pull leaves nothing in staging" || not_ok "staging is clean: $(ls "$ROOT/images/staging/pull")"
spare_pid() { ps -o pid=,args= --ppid "$BERTHD_PID" | awk '/berth-pull.*--wait-for-request/ {print $1}'; }
for _ in $(seq 40); do spare=$(spare_pid); [ -n "$spare" ] && break; sleep 0.05; done
[ -n "$spare" ] && ok "after a pull, a sandboxed helper waits for the next one" || not_ok "no spare helper: $(ps -o pid=,args= --ppid "$BERTHD_PID")"
[ -n "$spare" ] && grep -q "^NoNewPrivs:[[:space:]]*1" /proc/$spare/status && grep -q "^Seccomp:[[:space:]]*2" /proc/$spare/status \
  && ok "the waiting helper already runs with no_new_privs and its filter" || not_ok "spare status: $(grep -E 'NoNewPrivs|Seccomp' /proc/$spare/status 2>&1)"
out=$(bctl pull $R/alice/busybox@$BB_DIGEST 2>&1 </dev/null)
assert_match "pull by digest, plain progress lines off a terminal" "Pulled $R/alice/busybox@$BB_DIGEST" "$out"
[ -n "$spare" ] && ! kill -0 "$spare" 2>/dev/null && ok "the next pull ran in it" || not_ok "the spare $spare is still waiting"

if command -v script >/dev/null; then
  bctl rmi $R/alice/busybox:latest >/dev/null 2>&1
  out=$(script -qec "'$BERTHCTL' pull $R/alice/busybox:latest" /dev/null 2>&1)
  assert_match "on a terminal, progress bars per layer" "[0-9a-f]{12}: (unpacked|verified|cached) +\[=+\]" "$out"
fi

# --- errors -------------------------------------------------------------------
expect_fail "an unknown tag is a clear error" 1 "alice/busybox:nope: not found at $R" bctl pull $R/alice/busybox:nope
expect_fail "a short name not in any registry" 1 "not found" bctl pull nosuch/thing
start=$(date +%s)
expect_fail "an unreachable registry fails at once" 1 "cannot reach 127.0.0.1:5899" bctl pull 127.0.0.1:5899/x/y:z
[ $(( $(date +%s) - start )) -lt 10 ] && ok "no hang on an unreachable registry" || not_ok "unreachable registry took $(( $(date +%s) - start )) s"
expect_fail "an invalid reference is refused" 1 "" bctl pull 'UPPER/case:'
expect_fail "unknown pull options are refused" 1 'unknown option "bogus"' \
  gdbus call --address "$BUS_ADDRESS" --dest org.berth.berth1 --object-path /org/berth/berth1 \
  --method org.berth.berth1.Manager.PullImage "$R/alice/busybox" "{'bogus': <1>}"

# --- login and push -----------------------------------------------------------
expect_fail "login with a wrong password fails" 1 "refused|AuthenticationFailed" \
  sh -c "echo wrong | '$BERTHCTL' login -u alice --password-stdin $R"
[ ! -s "$SCRATCH/auth.json" ] || ! grep -q "$R" "$SCRATCH/auth.json" && ok "wrong credentials are not stored" || not_ok "wrong credentials were stored"
expect_fail "push without credentials is refused" 1 "needs credentials|refused" bctl push $R/alice/busybox:latest
out=$(echo alicepw | bctl login -u alice --password-stdin $R 2>&1)
assert_match "login with the right password" "Login Succeeded" "$out"
[ "$(stat -c %a "$SCRATCH/auth.json")" = 600 ] && ok "auth.json is readable by root only" || not_ok "auth.json mode $(stat -c %a "$SCRATCH/auth.json")"
check "tag for the push" bctl tag $R/alice/busybox:latest $R/alice/copy:v1
out=$(bctl push $R/alice/copy:v1 2>&1)
assert_match "push names what it pushed" "Pushed $R/alice/copy:v1" "$out"
out=$(skopeo inspect --tls-verify=false docker://$R/alice/copy:v1 2>&1)
assert_match "skopeo sees the pushed image with the same digest" "\"Digest\": \"$BB_DIGEST\"" "$out"
out=$(bctl push $R/alice/copy:v1 2>&1)
assert_match "a second push sends no blob again (all known)" "Pushed" "$out"
# A loaded docker archive has uncompressed layers: push compresses them.
"$SOURCE_DIR/tests/lib/make-busybox-image" docker "$SCRATCH/bb-docker.tar" $R/alice/loaded:v1 >/dev/null
check "load a docker archive" bctl load -i "$SCRATCH/bb-docker.tar"
out=$(bctl push $R/alice/loaded:v1 2>&1)
assert_match "push of uncompressed layers" "Pushed $R/alice/loaded:v1" "$out"
out=$(skopeo inspect --tls-verify=false --raw docker://$R/alice/loaded:v1 2>&1)
assert_match "the layers went gzip-compressed" "application/vnd.oci.image.layer.v1.tar\+gzip" "$out"
check "tag for a zstd push" bctl tag $R/alice/loaded:v1 $R/alice/loadedz:v1
out=$(bctl push --compression zstd $R/alice/loadedz:v1 2>&1)
out=$(skopeo inspect --tls-verify=false --raw docker://$R/alice/loadedz:v1 2>&1)
assert_match "--compression zstd pushes zstd layers" "application/vnd.oci.image.layer.v1.tar\+zstd" "$out"
rm -rf "$SCRATCH/zback"
check "skopeo reads the zstd image back" skopeo copy -q --src-tls-verify=false docker://$R/alice/loadedz:v1 oci:$SCRATCH/zback:v1
out=$(bctl logout $R 2>&1)
assert_match "logout" "Removed login credentials for $R" "$out"
expect_fail "logout twice" 1 "not logged in" bctl logout $R

# A registry that lets no one pull without an account.
mkdir -p "$SCRATCH/priv"
add_user priv alice alicepw
start_registry priv 5715 --no-anonymous-pull
skopeo copy -q "${SK[@]}" oci:bb:latest docker://127.0.0.1:5715/alice/private:v1 >/dev/null
expect_fail "a private image needs a login" 1 "needs credentials|refused" bctl pull 127.0.0.1:5715/alice/private:v1
out=$(echo alicepw | bctl login -u alice --password-stdin 127.0.0.1:5715 2>&1)
out=$(bctl pull -q 127.0.0.1:5715/alice/private:v1 2>&1)
assert_match "after login the private image pulls" "^127.0.0.1:5715/alice/private:v1$" "$out"
grep -q '"127.0.0.1:5715"' "$SCRATCH/auth.json" && ok "auth.json holds the registry's entry" || not_ok "no entry in auth.json"

# --- search -------------------------------------------------------------------
out=$(bctl search busybox 2>&1)
assert_match "search lists the image with its description" "$R/alice/busybox +busybox for pull tests" "$out"
assert_match "search prints docker's columns" "^NAME +DESCRIPTION +STARS +OFFICIAL" "$out"
out=$(bctl search --json $R/multi 2>&1)
assert_match "search HOST/TERM asks that registry" "\"Name\" : \"$R/alice/multi\"" "$out"
out=$(bctl search --filter stars=5 busybox 2>&1)
assert_match "the stars filter drops images with fewer" "^NAME[^\n]*$" "$out"
expect_fail "an unknown filter is refused" 2 "unknown filter" bctl search --filter foo=1 busybox

# --- a tampering mirror -------------------------------------------------------
python3 "$MIRROR" 5711 "$SCRATCH/r/blobs" --tamper 2>"$SCRATCH/evil.log" &
_pids+=($!)
cat > "$SCRATCH/berth.conf" <<EOF
[registries]
unqualified-search=$R

[registry $R]
mirrors=http://127.0.0.1:5711
EOF
kill -HUP "$BERTHD_PID"; sleep 0.3
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:5711/ && break; sleep 0.1; done
out=$(bctl pull -q $R/alice/evil:v1 2>&1)
assert_match "a tampering mirror is passed over for the origin" "^$R/alice/evil:v1$" "$out"
grep -q "GET /v2/alice/evil/blobs/" "$SCRATCH/evil.log" && ok "the mirror was asked first" || not_ok "the mirror was not asked"
grep -q "SECURITY: mirror http://127.0.0.1:5711.*does not match its digest" "$BERTHD_LOG" \
  && ok "the mismatch is logged as a security event naming the mirror" || not_ok "no security event in the log"

# Mirror only (the origin cannot be reached): a pull by digest fails.
cat > "$SCRATCH/berth.conf" <<EOF
[registry 127.0.0.1:5898]
mirrors=http://127.0.0.1:5711
EOF
kill -HUP "$BERTHD_PID"; sleep 0.3
before_layers=$(layer_count); before_images=$(bctl images -q | wc -l)
err=$(bctl pull 127.0.0.1:5898/alice/shared@$MULTI_DIGEST 2>&1)
# The manifest is not on the blob mirror, so name the failure either way.
assert_match "a pull with only a broken path fails clearly" "berthctl: .*(cannot reach|not found|does not match)" "$err"

# Through a redirect from the origin to the tampering mirror.
mkdir -p "$SCRATCH/rr"
add_user rr alice alicepw
python3 "$MIRROR" 5714 "$SCRATCH/rr/blobs" --tamper 2>"$SCRATCH/evil2.log" &
_pids+=($!)
start_registry rr 5712 --redirect-blobs-to http://127.0.0.1:5714
skopeo copy -q "${SK[@]}" oci:redirected:latest docker://127.0.0.1:5712/alice/redirected:v1 >/dev/null
skopeo copy -q "${SK[@]}" oci:bb:latest docker://127.0.0.1:5712/alice/busybox:latest >/dev/null
printf '[registries]\nunqualified-search=%s;127.0.0.1:5899;127.0.0.1:5712\n' "$R" > "$SCRATCH/berth.conf"
bctl reload >/dev/null 2>&1 || kill -HUP "$BERTHD_PID"; sleep 0.3
out=$(bctl search busybox 2>&1)
assert_match "search merges the registries of unqualified-search (first)" "^$R/alice/busybox " "$out"
assert_match "search merges the registries of unqualified-search (second)" "^127.0.0.1:5712/alice/busybox " "$out"
: > "$SCRATCH/berth.conf"; kill -HUP "$BERTHD_PID"; sleep 0.3
before_layers=$(layer_count); before_images=$(bctl images -q | wc -l)
expect_fail "a tampered blob behind a redirect fails the pull, naming the digest" 1 \
  "blob sha256:[0-9a-f]{64} does not match its digest \(got sha256:[0-9a-f]{64}\) from 127.0.0.1:5714" \
  bctl pull 127.0.0.1:5712/alice/redirected:v1
[ "$(layer_count)" = "$before_layers" ] && ok "nothing was unpacked" || not_ok "layers changed: $before_layers -> $(layer_count)"
[ "$(bctl images -q | wc -l)" = "$before_images" ] && ok "the store's images are unchanged" || not_ok "images changed"
[ -z "$(find "$ROOT/images/staging/pull" -type f -size +100k 2>/dev/null)" ] \
  && ok "no tampered blob is kept in staging" || not_ok "a large blob was kept: $(ls -la "$ROOT/images/staging/pull")"

# --- an interrupted pull ------------------------------------------------------
python3 "$MIRROR" 5713 "$SCRATCH/r/blobs" --stall-once 1000000 2>"$SCRATCH/stall.log" &
_pids+=($!)
cat > "$SCRATCH/berth.conf" <<EOF
[registry $R]
mirrors=http://127.0.0.1:5713
EOF
kill -HUP "$BERTHD_PID"; sleep 0.3
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:5713/ && break; sleep 0.1; done
"$BERTHCTL" pull $R/alice/shared:v1 >"$SCRATCH/int.out" 2>&1 &
ctl_pid=$!
for _ in $(seq 100); do [ "$(grep -c 'GET /v2/alice/shared/blobs/' "$SCRATCH/stall.log")" -ge 5 ] && break; sleep 0.1; done
sleep 0.5
kill -INT $ctl_pid; wait $ctl_pid; rc=$?
[ $rc = 1 ] && grep -q "canceled" "$SCRATCH/int.out" && ok "Ctrl-C cancels the pull" || not_ok "cancel: rc $rc, $(cat "$SCRATCH/int.out")"
kept=$(ls "$ROOT/images/staging/pull" 2>/dev/null | wc -l)
[ "$kept" -ge 3 ] && ok "the canceled pull kept its verified blobs ($kept)" || not_ok "verified blobs kept: $kept"
requests_before=$(grep -c 'GET /v2/alice/shared/blobs/' "$SCRATCH/stall.log")
out=$(bctl pull -q $R/alice/shared:v1 2>&1)
assert_match "the retried pull succeeds" "^$R/alice/shared:v1$" "$out"
requests_after=$(grep -c 'GET /v2/alice/shared/blobs/' "$SCRATCH/stall.log")
[ $((requests_after - requests_before)) = 1 ] && ok "the retry downloaded only the missing blob" \
  || not_ok "the retry made $((requests_after - requests_before)) blob requests"

# --- an interrupted pull across a berthd restart: reuse and Range resume ------
# The helper and berthd are killed while a large blob is half downloaded;
# the restarted berthd keeps the verified blobs and the cut download, and
# removes every other leftover; the retry hashes the kept blobs again (one
# was altered meanwhile and is downloaded again), asks only for the rest of
# the cut blob, and verifies the whole before anything is unpacked.
python3 "$MIRROR" 5230 "$SCRATCH/r/blobs" --stall-once 1000000 2>"$SCRATCH/resume.log" &
_pids+=($!)
printf '[registry %s]\nmirrors=http://127.0.0.1:5230\n' "$R" > "$SCRATCH/berth.conf"
kill -HUP "$BERTHD_PID"; sleep 0.3
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:5230/ && break; sleep 0.1; done
"$BERTHCTL" pull $R/alice/resume:v1 >"$SCRATCH/resume.out" 2>&1 &
ctl_pid=$!
P="$ROOT/images/staging/pull"
partial=""
for _ in $(seq 150); do
  stalled=$(sed -n 's|^stall /v2/alice/resume/blobs/sha256:||p' "$SCRATCH/resume.log")
  [ -n "$stalled" ] && [ -s "$P/$stalled.partial" ] \
    && [ "$(find "$P" -maxdepth 1 -regex '.*/[0-9a-f]*' -type f | wc -l)" -ge 4 ] && break
  sleep 0.1
done
partial="$P/$stalled.partial"
# berthd's children: the helper of this pull (and a spare one, if started).
helpers=$(ps -o pid= --ppid "$BERTHD_PID")
[ -n "$helpers" ] && kill -9 $helpers
kill -9 "$BERTHD_PID"; wait "$BERTHD_PID" 2>/dev/null
for _ in $(seq 50); do kill -0 $ctl_pid 2>/dev/null || break; sleep 0.1; done
kill -0 $ctl_pid 2>/dev/null && { kill -9 $ctl_pid; not_ok "berthctl pull still waits for a berthd that is gone"; } || {
  wait $ctl_pid; rc=$?
  [ $rc = 1 ] && grep -q "berthd stopped before the pull ended; run it again" "$SCRATCH/resume.out" \
    && ok "berthctl pull says berthd stopped, and exits" || not_ok "berthctl: rc $rc, $(cat "$SCRATCH/resume.out")"; }
diag "stalled: $stalled; staging: $(ls -l "$P")"
verified=$(find "$P" -maxdepth 1 -regex '.*/[0-9a-f]*' -type f | wc -l)
kept_bytes=$(stat -c %s "$partial" 2>/dev/null || echo 0)
[ "$verified" -ge 4 ] && [ "$kept_bytes" -gt 0 ] \
  && ok "the killed pull left $verified verified blobs and $kept_bytes bytes of the cut one" \
  || not_ok "after the kill: $verified verified blobs, $kept_bytes bytes kept ($(ls "$P"))"
# One verified blob is altered while berthd is down; junk is left around.
altered=$(find "$P" -maxdepth 1 -regex '.*/[0-9a-f]*' -type f -size -100k | head -1)
printf 'X' | dd of="$altered" bs=1 seek=10 conv=notrunc status=none
: > "$P/$(basename "$altered").tmp"; : > "$P/junk"; mkdir -p "$ROOT/images/staging/layer-0badc0de"
start_berthd
[ -s "$partial" ] && [ -f "$altered" ] && [ "$(find "$P" -maxdepth 1 -regex '.*/[0-9a-f]*' -type f | wc -l)" = "$verified" ] \
  && ok "a restarted berthd keeps the verified blobs and the cut download" || not_ok "after the restart: $(ls "$P")"
[ ! -e "$P/junk" ] && [ ! -e "$P/$(basename "$altered").tmp" ] && [ ! -e "$ROOT/images/staging/layer-0badc0de" ] \
  && ok "a restarted berthd removes the other leftovers in staging" || not_ok "leftovers: $(ls -R "$ROOT/images/staging")"
gets_before=$(grep -c '^GET /v2/alice/resume/blobs/' "$SCRATCH/resume.log")
out=$(bctl pull -q $R/alice/resume:v1 2>&1)
assert_match "the retried pull succeeds after the restart" "^$R/alice/resume:v1$" "$out"
new_gets=$(grep '^GET /v2/alice/resume/blobs/' "$SCRATCH/resume.log" | tail -n +$((gets_before + 1)))
grep -q "^GET /v2/alice/resume/blobs/sha256:$stalled range=$kept_bytes-$" <<<"$new_gets" \
  && ok "the cut blob was resumed with a Range request from byte $kept_bytes" || not_ok "requests: $new_gets"
grep -q "^GET /v2/alice/resume/blobs/sha256:$(basename "$altered")$" <<<"$new_gets" \
  && grep -q "blob sha256:$(basename "$altered") in the staging area does not match" "$BERTHD_LOG" \
  && ok "the altered staged blob was hashed again, refused, and downloaded again" || not_ok "requests: $new_gets"
[ "$(wc -l <<<"$new_gets")" = 2 ] && ok "no other blob was downloaded again" \
  || { not_ok "requests: $new_gets"; diag "$(grep berth-pull "$BERTHD_LOG" | tail)"; }
bctl image inspect $R/alice/resume:v1 >/dev/null 2>&1 && [ ! -e "$P/$stalled" ] && [ ! -e "$partial" ] \
  && [ ! -e "$altered" ] && ok "the image is whole and its blobs left staging" || not_ok "staging: $(ls "$P")"

# --- concurrent pulls of one image share one download -------------------------
: > "$SCRATCH/berth.conf"; kill -HUP "$BERTHD_PID"; sleep 0.3
gets_before=$(grep -c "GET /v2/alice/many/blobs/" "$SCRATCH/r.log")
pids=()
skopeo copy -q "${SK[@]}" oci:many:latest docker://$R/alice/many:latest >/dev/null
# With and without the tag written: the same image, one download.
for i in $(seq 10); do
  ref=$R/alice/many; [ $((i % 2)) = 0 ] && ref=$R/alice/many:latest
  "$BERTHCTL" pull -q $ref >"$SCRATCH/c$i.out" 2>&1 & pids+=($!)
done
fails=0; for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
[ $fails = 0 ] && ok "10 concurrent pulls of one image succeed" || not_ok "$fails of 10 concurrent pulls failed: $(cat "$SCRATCH"/c*.out | sort | uniq -c)"
gets=$(( $(grep -c "GET /v2/alice/many/blobs/" "$SCRATCH/r.log") - gets_before ))
[ "$gets" -ge 1 ] && [ "$gets" -le 5 ] && ok "they share one download ($gets blob GETs)" || not_ok "$gets blob GETs for 10 pulls"

# --- platform selection and the distribution registry --------------------------
if command -v docker-registry >/dev/null; then
  mkdir -p "$SCRATCH/dist"
  cat > "$SCRATCH/dist.yml" <<EOF
version: 0.1
storage:
  filesystem:
    rootdirectory: $SCRATCH/dist
http:
  addr: 127.0.0.1:5720
log:
  level: error
EOF
  docker-registry serve "$SCRATCH/dist.yml" >"$SCRATCH/dist.log" 2>&1 &
  _pids+=($!)
  for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:5720/v2/ && break; sleep 0.05; done
  python3 "$SOURCE_DIR/tests/integration/pull-index.py" "$SCRATCH/idx" "$SCRATCH/multi" "$SCRATCH/bb" >/dev/null
  skopeo copy -q --all --dest-tls-verify=false oci:idx:latest docker://127.0.0.1:5720/test/idx:latest \
    || not_ok "skopeo copy of the index"
  out=$(bctl pull -q 127.0.0.1:5720/test/idx:latest 2>&1)
  assert_match "pull of an index from the distribution registry" "^127.0.0.1:5720/test/idx:latest$" "$out"
  out=$(bctl image inspect 127.0.0.1:5720/test/idx 2>&1)
  assert_match "the host's platform was chosen (busybox, not the arm64 image)" "$BB_DIGEST" "$out"
  skopeo copy -q --format v2s2 --dest-tls-verify=false oci:multi:latest docker://127.0.0.1:5720/test/schema2:v1 \
    || not_ok "skopeo copy of a Docker schema 2 image"
  out=$(bctl pull -q 127.0.0.1:5720/test/schema2:v1 2>&1)
  assert_match "pull of a Docker schema 2 image (gzip layers)" "^127.0.0.1:5720/test/schema2:v1$" "$out"
  check "tag for the distribution registry" bctl tag 127.0.0.1:5720/test/idx:latest 127.0.0.1:5720/test/pushed:v1
  out=$(bctl push 127.0.0.1:5720/test/pushed:v1 2>&1)
  assert_match "push to the distribution registry" "Pushed" "$out"
  assert_match "blobs are mounted from the image's other repository" ": mounted" "$out"
  out=$(skopeo inspect --tls-verify=false docker://127.0.0.1:5720/test/pushed:v1 2>&1)
  assert_match "skopeo reads the image berth pushed there" "\"Digest\": \"$BB_DIGEST\"" "$out"
else
  not_ok "docker-registry is not installed (tools/install-deps)"
fi

stop_berthd
if grep -qE "CRITICAL|GLib-WARNING" "$BERTHD_LOG"; then
  not_ok "no GLib criticals from berthd"; diag "$(grep -E 'CRITICAL|GLib-WARNING' "$BERTHD_LOG" | head)"
else
  ok "no GLib criticals from berthd"
fi
if grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$BERTHD_LOG"; then
  not_ok "no sanitizer reports from berthd and berth-pull"; diag "$(grep -A20 -E 'ERROR: |runtime error:' "$BERTHD_LOG" | head -40)"
else
  ok "no sanitizer reports from berthd and berth-pull"
fi
finish_registries
