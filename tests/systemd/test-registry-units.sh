#!/usr/bin/env bash
# berth-registry.socket and berth-registry.service under a real systemd (in
# the nspawn sandbox): socket activation, Type=notify readiness, the
# hardened service with a dynamic user and its state directory, the access
# log in the journal.
set -uo pipefail
: "${BUILD_DIR:?run through meson test}" "${SOURCE_DIR:?run through meson test}"

n=0; failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
diag() { sed 's/^/# /' <<<"$*"; }

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 0; }
command -v systemd-nspawn >/dev/null || { echo "1..0 # SKIP systemd-nspawn is missing"; exit 0; }
SB="$SOURCE_DIR/tests/systemd/sandbox"
DIR=$(mktemp -d /tmp/berth-sd-registry.XXXXXX)
trap '"$SB" stop "$DIR" >/dev/null 2>&1; rm -f "$DIR.boot.log"' EXIT
# basic.target has what the units need (journald, sockets, dynamic users)
# and none of the host's own services, which could hold up the boot.
BERTH_SANDBOX_TARGET=basic.target timeout 150 "$SB" start "$DIR" "$SOURCE_DIR" >"$DIR.boot.log" 2>&1 \
  || { echo "Bail out! the systemd sandbox did not boot: $(tail -3 "$DIR.boot.log")"; exit 1; }
rm -f "$DIR.boot.log"
inside() { "$SB" exec "$DIR" "$@"; }
# The unit has PrivateTmp=yes, so a build under /tmp would be out of its
# sight: install the binary into the sandbox's own /usr/local, as
# meson install would.
BIN=/usr/local/libexec/berth-test/berth-registry
mkdir -p "$DIR/root${BIN%/*}"
cp "$BUILD_DIR/src/registry/berth-registry" "$DIR/root$BIN"
PORT=5190

# The units as installed, with ExecStart on the build and another port.
sed "s|^ExecStart=.*|ExecStart=$BIN|" "$BUILD_DIR/units/berth-registry.service" > "$DIR/root/etc/systemd/system/berth-registry.service"
cp "$SOURCE_DIR/units/berth-registry.socket" "$DIR/root/etc/systemd/system/"
mkdir -p "$DIR/root/etc/systemd/system/berth-registry.socket.d"
printf '[Socket]\nListenStream=\nListenStream=127.0.0.1:%s\n' $PORT > "$DIR/root/etc/systemd/system/berth-registry.socket.d/port.conf"
# LeakSanitizer stops the world with ptrace, which the unit's system call
# filter forbids; in a sanitizer build it would spin at exit. The leak check
# runs in the integration suite instead.
mkdir -p "$DIR/root/etc/systemd/system/berth-registry.service.d"
printf '[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0\n' > "$DIR/root/etc/systemd/system/berth-registry.service.d/asan.conf"
# A berth-registry that ran on the host (tools/quickstart) leaves a public
# /var/lib/berth-registry; the unit's DynamicUser= would move it to
# /var/lib/private, which an overlay cannot do for a lower directory. The
# sandbox starts from no state at all, as a fresh machine would.
inside rm -rf /var/lib/berth-registry /var/lib/private/berth-registry
inside systemctl daemon-reload

out=$(inside systemctl start berth-registry.socket 2>&1) && ok "the socket unit starts" || { not_ok "the socket unit starts"; diag "$out"; }
state=$(inside systemctl is-active berth-registry.service 2>&1)
[ "$state" = inactive ] && ok "the service waits for the first connection" || not_ok "service state before a connection: $state"
out=$(inside curl -s -D - -o /dev/null "http://127.0.0.1:$PORT/v1/_ping" 2>&1)
grep -q "X-Docker-Registry-Standalone: true" <<<"$out" && ok "the first connection is served" || { not_ok "the first connection is served"; diag "$out"; diag "$(inside journalctl -u berth-registry --no-pager | tail -20)"; }
state=$(inside systemctl is-active berth-registry.service 2>&1)
[ "$state" = active ] && ok "the service is active (it sent READY=1)" || not_ok "service state: $state"
user=$(inside systemctl show -p User -p DynamicUser berth-registry.service | tr '\n' ' ')
pid=$(inside systemctl show -p MainPID --value berth-registry.service)
uid=$(inside awk '/^Uid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
[ -n "$uid" ] && [ "$uid" != 0 ] && ok "it runs as a dynamic user (uid $uid)" || not_ok "runs as uid ${uid:-?} ($user)"
inside test -f /var/lib/berth-registry/registry.db && ok "its state is in /var/lib/berth-registry" || not_ok "no /var/lib/berth-registry/registry.db"
out=$(inside curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v2/x/y/tags/list")
[ "$out" = 404 ] && ok "the registry answers API requests" || not_ok "tags/list answered $out"
log=$(inside journalctl -u berth-registry.service --no-pager -o cat 2>&1)
grep -q "serving /var/lib/berth-registry on the socket from systemd" <<<"$log" && ok "the journal shows it started on the socket" || { not_ok "start message in the journal"; diag "$log"; }
grep -qE '"GET /v2/x/y/tags/list" 404' <<<"$log" && ok "access log lines reach the journal" || { not_ok "access log in the journal"; diag "$log"; }
fields=$(inside journalctl -u berth-registry.service HTTP_STATUS=404 -o json --no-pager 2>&1 | tail -1)
python3 -c '
import json, sys
e = json.loads(sys.argv[1])
assert e["HTTP_METHOD"] == "GET" and e["HTTP_PATH"] == "/v2/x/y/tags/list" and e["IMAGE_NAME"] == "x/y", e
assert e["REMOTE_ADDR"] == "127.0.0.1" and e["REGISTRY_USER"] == "-", e
' "$fields" 2>/dev/null && ok "access log entries carry fields (journalctl HTTP_STATUS=404)" || { not_ok "journal fields"; diag "$fields"; }
out=$(inside systemctl stop berth-registry.service berth-registry.socket 2>&1) && ok "stops cleanly" || { not_ok "stop"; diag "$out"; }
result=$(inside systemctl show -p Result --value berth-registry.service)
[ "$result" = success ] && ok "the service exited successfully" || not_ok "service result: $result"

echo "1..$n"
[ "$failed" = 0 ]
