#!/usr/bin/env bash
# Running berth-registry: kill -9 during an upload and a restart, gc,
# accounts on the command line, the configuration file, TLS and systemd
# socket activation.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry-lib.sh"

setup_scratch
mkdir -p "$SCRATCH/r"; : > "$SCRATCH/empty.conf"
add_user r alice alicepw
start_registry r 5130 --enable-delete
A=(-u alice:alicepw)
D="$SCRATCH/data"; mkdir -p "$D"
cd "$SCRATCH" || exit 1

# --- kill -9 in the middle of a large chunked upload
head -c $((24 * 1024 * 1024)) /dev/urandom > "$D/big"; BIG=$(sha256 "$D/big")
head -c $((8 * 1024 * 1024)) "$D/big" > "$D/first"
req POST "$REG/v2/alice/big/blobs/uploads/" "${A[@]}"
LOC=$(header Location)
req PATCH "$REG$LOC" "${A[@]}" -H 'Content-Type: application/octet-stream' -H "Content-Range: 0-$((8 * 1024 * 1024 - 1))" --data-binary @"$D/first"
expect "first 8 MiB chunk" 202
tail -c +$((8 * 1024 * 1024 + 1)) "$D/big" > "$D/rest"
curl -s -o /dev/null "${A[@]}" -X PUT -H 'Content-Type: application/octet-stream' --limit-rate 2M \
  --data-binary @"$D/rest" "$REG$LOC?digest=$BIG" &
curl_pid=$!
sleep 1.5
kill -9 "$REG_PID_r"
wait "$REG_PID_r" 2>/dev/null
wait "$curl_pid" 2>/dev/null
staged=$(find "$SCRATCH/r/uploads" -type f | wc -l)
[ "$staged" -ge 1 ] && ok "the interrupted upload left only a staging file" || not_ok "no staging file after the kill ($staged)"
[ ! -e "$SCRATCH/r/blobs/sha256/${BIG:7:2}/${BIG#sha256:}" ] && ok "no partial blob is visible in the store" || not_ok "a partial blob is in the store"
start_registry r 5130 --enable-delete
[ -z "$(ls "$SCRATCH/r/uploads")" ] && ok "restart removes the leftovers" || not_ok "leftovers after restart: $(ls "$SCRATCH/r/uploads")"
req GET "$REG/v2/alice/big/blobs/$BIG"
expect "the interrupted blob does not exist" 404 BLOB_UNKNOWN
req GET "$REG$LOC" "${A[@]}"
expect "the old upload session is gone" 404 BLOB_UPLOAD_UNKNOWN
# The retry, in chunks.
split -b $((8 * 1024 * 1024)) -d "$D/big" "$D/part."
req POST "$REG/v2/alice/big/blobs/uploads/" "${A[@]}"
LOC=$(header Location); off=0; good=1
for part in "$D"/part.*; do
  size=$(stat -c %s "$part")
  req PATCH "$REG$LOC" "${A[@]}" -H 'Content-Type: application/octet-stream' -H "Content-Range: $off-$((off + size - 1))" --data-binary @"$part"
  [ "$STATUS" = 202 ] || good=0
  off=$((off + size))
done
req PUT "$REG$LOC?digest=$BIG" "${A[@]}"
[ "$good" = 1 ] && expect "the retried chunked upload completes" 201 || not_ok "retried chunks"
req GET "$REG/v2/alice/big/blobs/$BIG"
[ "$(sha256 "$B")" = "$BIG" ] && ok "the blob reads back intact after the restart" || not_ok "blob after restart"
python3 "$MAKE_IMAGE" "$SCRATCH/bb" --busybox >/dev/null
check "skopeo push works after the restart" skopeo copy -q --dest-tls-verify=false --dest-creds alice:alicepw oci:bb:latest docker://127.0.0.1:5130/alice/busybox:latest

# --- gc
python3 "$MAKE_IMAGE" "$SCRATCH/gone" --busybox --random-layer 100000 --seed 3 >/dev/null
skopeo copy -q --dest-tls-verify=false --dest-creds alice:alicepw oci:gone:latest docker://127.0.0.1:5130/alice/gone:latest
GONE=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' docker://127.0.0.1:5130/alice/gone:latest)
req DELETE "$REG/v2/alice/gone/manifests/$GONE" "${A[@]}"
expect "delete the image to collect" 202
count_blobs() { find "$SCRATCH/r/blobs" -type f | wc -l; }
before=$(count_blobs)
# gc while the server runs.
out=$("$BERTH_REGISTRY" --config "$SCRATCH/empty.conf" --root "$SCRATCH/r" gc 2>&1)
assert_match "gc spares unreferenced blobs younger than the grace period" "^Removed 0 blobs.*Kept 4 unreferenced blobs younger than the grace period \(3600 s\)" "$(tr '\n' ' ' <<<"$out")"
out=$("$BERTH_REGISTRY" --config "$SCRATCH/empty.conf" --root "$SCRATCH/r" gc --dry-run --grace 0 2>&1)
# The manifest, the config and the random layer of "gone", the 24 MiB blob no manifest uses.
assert_match "gc --dry-run names what it would remove" "^Would remove 4 blobs, [0-9]+ bytes\.$" "$out"
assert_match "gc --dry-run lists the unreferenced blob" "would remove $BIG" "$out"
[ "$(count_blobs)" = "$before" ] && ok "gc --dry-run removes nothing" || not_ok "gc --dry-run removed blobs"
out=$("$BERTH_REGISTRY" --config "$SCRATCH/empty.conf" --root "$SCRATCH/r" gc --grace 0 2>&1)
assert_match "gc removes the unreferenced blobs while the server runs" "^Removed 4 blobs" "$out"
[ "$(count_blobs)" = "$((before - 4))" ] && ok "four files fewer in the store" || not_ok "store has $(count_blobs) files, wanted $((before - 4))"
expect_fail "gc refuses a negative grace" 2 "unexpected arguments" "$BERTH_REGISTRY" --root "$SCRATCH/r" gc --grace -5
# A blob collected between its upload and the manifest: the push fails
# cleanly and succeeds when repeated; nothing half-stored.
head -c 5000 /dev/urandom > "$SCRATCH/late"; LATE=$(push_blob "$REG" alice/late "$SCRATCH/late" "${A[@]}")
printf 'cfg' > "$SCRATCH/late.cfg"; LCFG=$(push_blob "$REG" alice/late "$SCRATCH/late.cfg" "${A[@]}")
"$BERTH_REGISTRY" --config "$SCRATCH/empty.conf" --root "$SCRATCH/r" gc --grace 0 >/dev/null
image_manifest "$LCFG" 3 "$LATE" 5000 > "$SCRATCH/late.json"
req PUT "$REG/v2/alice/late/manifests/v1" "${A[@]}" -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$SCRATCH/late.json"
expect "a manifest whose blobs gc collected is refused" 400 MANIFEST_BLOB_UNKNOWN
req GET "$REG/v2/alice/late/manifests/v1"
expect "and nothing is stored" 404 NAME_UNKNOWN
push_blob "$REG" alice/late "$SCRATCH/late" "${A[@]}" >/dev/null; push_blob "$REG" alice/late "$SCRATCH/late.cfg" "${A[@]}" >/dev/null
req PUT "$REG/v2/alice/late/manifests/v1" "${A[@]}" -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$SCRATCH/late.json"
expect "pushed again, it is stored" 201
# Pushes while gc runs in a loop (default grace): every push succeeds and
# every image reads back whole.
( while [ ! -e "$SCRATCH/gc.stop" ]; do "$BERTH_REGISTRY" --config "$SCRATCH/empty.conf" --root "$SCRATCH/r" gc >/dev/null 2>>"$SCRATCH/gc-loop.err"; done ) &
gc_loop=$!
pids=(); for i in 1 2 3 4; do
  python3 "$MAKE_IMAGE" "$SCRATCH/con$i" --busybox --random-layer 200000 --seed $((40 + i)) >/dev/null
  skopeo copy -q --dest-tls-verify=false --dest-creds alice:alicepw oci:$SCRATCH/con$i:latest docker://127.0.0.1:5130/alice/con$i:latest & pids+=($!)
done
fails=0; for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
touch "$SCRATCH/gc.stop"; wait $gc_loop
[ $fails = 0 ] && [ ! -s "$SCRATCH/gc-loop.err" ] && ok "4 pushes during a gc loop succeed" || not_ok "$fails pushes failed; gc: $(head -3 "$SCRATCH/gc-loop.err")"
"$BERTH_REGISTRY" --config "$SCRATCH/empty.conf" --root "$SCRATCH/r" gc --grace 0 >/dev/null
read_back=0; for i in 1 2 3 4; do
  skopeo copy -q --src-tls-verify=false docker://127.0.0.1:5130/alice/con$i:latest dir:$SCRATCH/back$i && read_back=$((read_back + 1))
done
[ $read_back = 4 ] && ok "every pushed image reads back whole after a gc with no grace" || not_ok "$read_back of 4 read back"
kill "$REG_PID_r"; wait "$REG_PID_r" 2>/dev/null
start_registry r 5130 --enable-delete
check "an image gc kept still copies" skopeo copy -q --src-tls-verify=false docker://127.0.0.1:5130/alice/busybox:latest dir:$SCRATCH/kept
req GET "$REG/v2/alice/big/blobs/$BIG"
expect "a collected blob is gone" 404 BLOB_UNKNOWN

# --- accounts on the command line
U=("$BERTH_REGISTRY" --config "$SCRATCH/empty.conf" --root "$SCRATCH/r")
expect_fail "adding an existing user" 1 'user "alice" already exists' sh -c "echo pw | ${U[*]} user add alice"
expect_fail "a user name that is not a namespace" 1 'invalid user name "Bad"' sh -c "echo pw | ${U[*]} user add Bad"
expect_fail "an empty password" 1 "no password given" sh -c "${U[*]} user add dave </dev/null"
expect_fail "user without a verb" 2 "usage: berth-registry" "${U[@]}" user
expect_fail "passwd of an unknown user" 1 'no user "zed"' sh -c "echo pw | ${U[*]} user passwd zed"
check "passwd changes the password" sh -c "echo newpw | ${U[*]} user passwd alice"
req GET "$REG/v2/" -u alice:alicepw
expect "the old password no longer works" 401 UNAUTHORIZED
req GET "$REG/v2/" -u alice:newpw
expect "the new password works" 200
check "user del" "${U[@]}" user del alice
req GET "$REG/v2/" -u alice:newpw
expect "a deleted user cannot sign in" 401 UNAUTHORIZED
expect_fail "deleting an unknown user" 1 'no user "alice"' "${U[@]}" user del alice
hash=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select hash from users where name=?", ("bob",)).fetchone())' "$SCRATCH/r/registry.db")
printf 'bobpw\n' | "${U[@]}" user add bob --admin >/dev/null
hash=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select hash, admin from users where name=?", ("bob",)).fetchone())' "$SCRATCH/r/registry.db")
assert_match "passwords are stored as yescrypt hashes, admin flag set" "^\('\\\$y\\\$[^']+', 1\)$" "$hash"

# On a terminal the password is asked twice, without echo.
if command -v script >/dev/null; then
  out=$( (sleep 0.5; printf 'ttypw\n'; sleep 0.3; printf 'ttypw\n'; sleep 0.3) | script -qec "${U[*]} user add tty" /dev/null 2>&1)
  assert_match "a terminal gets two prompts" "Password for tty: .*Again: .*Added user tty\." "$(tr -d '\r\n' <<<"$out")"
  grep -q ttypw <<<"$out" && not_ok "the password is not echoed" || ok "the password is not echoed"
  req GET "$REG/v2/" -u tty:ttypw
  expect "the password typed on the terminal works" 200
  out=$( (sleep 0.5; printf 'one\n'; sleep 0.3; printf 'two\n'; sleep 0.3) | script -qec "${U[*]} user passwd tty" /dev/null 2>&1); rc=$?
  [ $rc = 1 ] && grep -q "the two passwords differ; nothing was changed" <<<"$out" && ok "different passwords on the terminal are refused" || { not_ok "mismatched terminal passwords (exit $rc)"; diag "$out"; }
fi

# Grants: pushing outside one's namespace where an admin allowed it.
printf 'carlpw\n' | "${U[@]}" user add carl >/dev/null
req POST "$REG/v2/team/app/blobs/uploads/" -u carl:carlpw
expect "without a grant carl cannot push to team/app" 403 DENIED
out=$("${U[@]}" user grant carl team/app 2>&1)
assert_match "user grant" "^carl may now push to team/app and team/app/\.\.\.$" "$out"
req POST "$REG/v2/team/app/blobs/uploads/" -u carl:carlpw
expect "with the grant carl pushes to team/app" 202
req POST "$REG/v2/team/app/nightly/blobs/uploads/" -u carl:carlpw
expect "...and below it" 202
req POST "$REG/v2/team/application/blobs/uploads/" -u carl:carlpw
expect "...but not to a name that merely starts the same" 403 DENIED
check "user revoke" "${U[@]}" user revoke carl team/app
req POST "$REG/v2/team/app/blobs/uploads/" -u carl:carlpw
expect "after revoke carl cannot push there" 403 DENIED
expect_fail "revoking what was not granted" 1 'user "carl" has no grant for team/app' "${U[@]}" user revoke carl team/app
expect_fail "granting to an unknown user" 1 'no user "nobody"' "${U[@]}" user grant nobody team/app
expect_fail "granting an invalid repository" 1 'invalid repository "Team"' "${U[@]}" user grant carl Team

# --- the access log
assert_match "access log line" '^127\.0\.0\.1 - "GET /v2/alice/big/blobs/sha256:[0-9a-f]{64}" 404 [0-9.]+ms "curl/' "$(cat "$SCRATCH/r.log")"

# --- configuration
printf '[server]\nlisten=127.0.0.1:5131\n[storage]\nroot=%s/conf-root\n[auth]\nanonymous-pull=false\n' "$SCRATCH" > "$SCRATCH/reg.conf"
"$BERTH_REGISTRY" --config "$SCRATCH/reg.conf" >"$SCRATCH/conf.log" 2>&1 &
cpid=$!; _pids+=("$cpid")
for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:5131/v1/_ping && break; sleep 0.05; done
req GET http://127.0.0.1:5131/v2/x/y/tags/list
expect "the config file's listen address and anonymous-pull=false apply" 401 UNAUTHORIZED
[ -f "$SCRATCH/conf-root/registry.db" ] && ok "the config file's root is used" || not_ok "config root"
kill "$cpid"
printf '[server]\nlisten=127.0.0.1:5131\nthreadz=3\n' > "$SCRATCH/typo.conf"
expect_fail "unknown config key" 1 'unknown key "threadz" in group \[server\]' "$BERTH_REGISTRY" --config "$SCRATCH/typo.conf"
printf '[auth]\nanonymous-pull=maybe\n' > "$SCRATCH/bad.conf"
expect_fail "bad boolean" 1 'anonymous-pull must be true or false' "$BERTH_REGISTRY" --config "$SCRATCH/bad.conf"
expect_fail "missing --config file" 1 "cannot read config $SCRATCH/none.conf" "$BERTH_REGISTRY" --config "$SCRATCH/none.conf"
expect_fail "bad listen address" 1 'invalid listen address "nonsense"' "$BERTH_REGISTRY" --config "$SCRATCH/empty.conf" --root "$SCRATCH/x" --listen nonsense
expect_fail "a second server on the same root" 1 "another berth-registry is using $SCRATCH/r" \
  "$BERTH_REGISTRY" --config "$SCRATCH/empty.conf" --root "$SCRATCH/r" --listen 127.0.0.1:5132
out=$("$BERTH_REGISTRY" --help 2>&1); rc=$?
[ $rc = 0 ] && grep -q -- "--proxy-upstream" <<<"$out" && ok "--help lists the options" || not_ok "--help (exit $rc)"
assert_match "--version" "^berth-registry [0-9]+\.[0-9]+\.[0-9]+$" "$("$BERTH_REGISTRY" --version)"
expect_fail "unknown command" 2 'unknown command "frob"' "$BERTH_REGISTRY" frob
expect_fail "unknown option" 2 '^berth-registry: .*--frob' "$BERTH_REGISTRY" --frob
check "the shipped registry.conf loads" "$BERTH_REGISTRY" --config "$SOURCE_DIR/data/registry.conf" --root "$SCRATCH/shipped" gc --dry-run

# --- TLS
if openssl req -x509 -newkey rsa:2048 -nodes -keyout "$SCRATCH/key.pem" -out "$SCRATCH/cert.pem" -days 1 \
     -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1; then
  mkdir -p "$SCRATCH/tls"
  add_user tls boss bosspw --admin
  "$BERTH_REGISTRY" --config "$SCRATCH/empty.conf" --root "$SCRATCH/tls" --listen 127.0.0.1:5133 \
    --tls-cert "$SCRATCH/cert.pem" --tls-key "$SCRATCH/key.pem" >"$SCRATCH/tls.log" 2>&1 &
  tpid=$!; _pids+=("$tpid")
  for _ in $(seq 1 100); do curl -s -o /dev/null --cacert "$SCRATCH/cert.pem" https://127.0.0.1:5133/v1/_ping && break; sleep 0.05; done
  req GET https://127.0.0.1:5133/v2/ --cacert "$SCRATCH/cert.pem"
  expect "HTTPS with the configured certificate" 401 UNAUTHORIZED
  expect_header "the token realm is https" WWW-Authenticate '^Bearer realm="https://127.0.0.1:5133/token"'
  req GET http://127.0.0.1:5133/v2/
  [ "$STATUS" != 401 ] && ok "plain HTTP is not served on the TLS port" || not_ok "plain HTTP answered on the TLS port"
  mkdir -p "$SCRATCH/certs.d"; cp "$SCRATCH/cert.pem" "$SCRATCH/certs.d/ca.crt"
  check "skopeo copy over verified TLS" skopeo copy -q --dest-cert-dir "$SCRATCH/certs.d" \
    --dest-creds boss:bosspw oci:bb:latest docker://127.0.0.1:5133/boss/busybox:latest
  kill "$tpid"
fi
expect_fail "TLS needs both files" 1 "TLS needs both --tls-cert and --tls-key" \
  "$BERTH_REGISTRY" --config "$SCRATCH/empty.conf" --root "$SCRATCH/tls2" --listen 127.0.0.1:5134 --tls-cert "$SCRATCH/cert.pem"

# --- abandoned uploads expire
printf '[storage]\nupload-timeout=1\n' > "$SCRATCH/expire.conf"
mkdir -p "$SCRATCH/expire"
add_user expire erin erinpw
"$BERTH_REGISTRY" --config "$SCRATCH/expire.conf" --root "$SCRATCH/expire" --listen 127.0.0.1:5136 >"$SCRATCH/expire.log" 2>&1 &
epid=$!; _pids+=("$epid"); _reg_pids+=("$epid")
for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:5136/v1/_ping && break; sleep 0.05; done
req POST http://127.0.0.1:5136/v2/erin/x/blobs/uploads/ -u erin:erinpw
LOC=$(header Location)
req PATCH "http://127.0.0.1:5136$LOC" -u erin:erinpw -H 'Content-Type: application/octet-stream' --data-binary @"$D/first"
expect "a chunk for the upload that will be abandoned" 202
sleep 4.5
req GET "http://127.0.0.1:5136$LOC" -u erin:erinpw
expect "an abandoned upload expires" 404 BLOB_UPLOAD_UNKNOWN
[ -z "$(ls "$SCRATCH/expire/uploads")" ] && ok "its staging file is removed" || not_ok "staging file of the expired upload remains"
assert_match "the expiry is logged" "dropped 1 upload idle for 1 s" "$(cat "$SCRATCH/expire.log")"

# --- readiness notification (Type=notify)
python3 - "$SCRATCH/notify.sock" >"$SCRATCH/notify.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(10)
print(s.recv(4096).decode(), flush=True)
PY
npid=$!
for _ in $(seq 1 50); do [ -S "$SCRATCH/notify.sock" ] && break; sleep 0.05; done
mkdir -p "$SCRATCH/notify"
NOTIFY_SOCKET="$SCRATCH/notify.sock" "$BERTH_REGISTRY" --config "$SCRATCH/empty.conf" --root "$SCRATCH/notify" \
  --listen 127.0.0.1:5137 >"$SCRATCH/notify.log" 2>&1 &
rpid=$!; _pids+=("$rpid"); _reg_pids+=("$rpid")
wait "$npid"
assert_match "READY=1 is sent to systemd once serving" "^READY=1" "$(cat "$SCRATCH/notify.out")"
req GET http://127.0.0.1:5137/v1/_ping
expect "and it is indeed serving" 200

# --- systemd socket activation
if command -v systemd-socket-activate >/dev/null; then
  mkdir -p "$SCRATCH/sock"
  systemd-socket-activate -l 127.0.0.1:5135 "$BERTH_REGISTRY" --config "$SCRATCH/empty.conf" \
    --root "$SCRATCH/sock" >"$SCRATCH/sock.log" 2>&1 &
  spid=$!; _pids+=("$spid")
  # Wait for the listening socket itself, however slow the machine is.
  for _ in $(seq 1 100); do [ -n "$(ss -Hltn 'sport = :5135' 2>/dev/null)" ] && break; sleep 0.05; done
  req GET http://127.0.0.1:5135/v1/_ping
  expect "serves on the socket systemd passes" 200
  expect_header "/v1/_ping says standalone" X-Docker-Registry-Standalone '^true$'
  assert_match "says it uses the socket from systemd" "serving $SCRATCH/sock on the socket from systemd" "$(cat "$SCRATCH/sock.log")"
  kill "$spid"
fi

finish_registries
