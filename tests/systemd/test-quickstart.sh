#!/usr/bin/env bash
# sudo tools/quickstart on a machine where systemd is PID 1, run twice, in a
# throwaway sandbox: it must install, start berthd through systemd and show
# the info table both times.
set -uo pipefail
: "${SOURCE_DIR:?run through meson test}"

n=0; failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
diag() { sed 's/^/# /' <<<"$*"; }
assert_match() { if grep -qE -- "$2" <<<"$3"; then ok "$1"; else not_ok "$1"; diag "no \"$2\" in: $3"; fi; }

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root to boot systemd in a sandbox"; exit 0; }
command -v systemd-nspawn >/dev/null || { echo "1..0 # SKIP systemd-nspawn is not installed"; exit 0; }

SANDBOX="$SOURCE_DIR/tests/systemd/sandbox"
DIR=$(mktemp -d /tmp/berth-sandbox.XXXXXX)
trap '"$SANDBOX" stop "$DIR"' EXIT
# The quickstart builds in the tree; give it a copy so the caller's tree stays as it is.
"$SANDBOX" start "$DIR" "$SOURCE_DIR" 2>"$DIR.log" || { echo "Bail out! the sandbox did not boot: $(cat "$DIR.log")"; exit 1; }
rm -f "$DIR.log"
in_sandbox() { "$SANDBOX" exec "$DIR" "$@"; }
# Container roots are overlay mounts, and an overlay's upper directory cannot
# live on the sandbox's own overlay root: give the storage root a tmpfs, as
# a real machine gives it a real file system.
in_sandbox sh -c "mkdir -p /var/lib/berth && mount -t tmpfs -o mode=0711 berth /var/lib/berth"
in_sandbox sh -c "rm -rf /var/tmp/berth-src && cp -a '$SOURCE_DIR' /var/tmp/berth-src && rm -rf /var/tmp/berth-src/build*"

for round in first second; do
  out=$(in_sandbox sh -c 'cd /var/tmp/berth-src && tools/quickstart' 2>&1); rc=$?
  [ $rc = 0 ] && ok "quickstart succeeds ($round run)" || { not_ok "quickstart ($round run, exit $rc)"; diag "$(tail -20 <<<"$out")"; }
  assert_match "quickstart shows the info table with systemd ($round run)" "Cgroup manager: +systemd" "$out"
  assert_match "quickstart imports busybox through berthd ($round run)" "^busybox +latest +[0-9a-f]{12} " "$out"
  assert_match "quickstart runs containers ($round run)" "hello from a berth container" "$out"
  assert_match "quickstart pushes to berth-registry and finds it in the index ($round run)" '"name": "demo/busybox"' "$out"
done
assert_match "berthd.service is active after the quickstart" "^active\$" "$(in_sandbox systemctl is-active berthd 2>&1)"
assert_match "the documented config was put in /etc/berth" "^\[storage\]" "$(in_sandbox cat /etc/berth/berth.conf 2>&1)"

echo "1..$n"
[ "$failed" = 0 ]
