#!/usr/bin/env bash
# Pulls under a real systemd (in the nspawn sandbox): berthd runs berth-pull
# as a sandboxed transient service, and a tampered blob behind a redirect
# is still refused there.
. "$(dirname "$0")/lib.sh"
command -v skopeo >/dev/null || { echo "1..0 # SKIP skopeo is not installed"; exit 0; }
boot_sandbox
inside() { in_sandbox "$@"; }

out=$(inside meson install -C "$BUILD_DIR" --no-rebuild --quiet 2>&1) || { echo "Bail out! install: $out"; exit 1; }
inside systemctl daemon-reload
inside busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig >/dev/null

REG=$BUILD_DIR/src/registry/berth-registry
W=/var/tmp/pulltest
inside mkdir -p $W/reg $W/evil
: | inside tee $W/empty.conf >/dev/null
printf 'alicepw\n' | inside "$REG" --config $W/empty.conf --root $W/reg user add alice >/dev/null
inside systemd-run --quiet --unit=test-reg -p Environment=ASAN_OPTIONS=detect_leaks=0 \
  "$REG" --config $W/empty.conf --root $W/reg --listen 127.0.0.1:5750 \
  --redirect-blobs-to http://127.0.0.1:5751
inside systemd-run --quiet --unit=test-evil python3 "$SOURCE_DIR/tests/integration/pull-mirror.py" 5751 $W/reg/blobs --tamper
for _ in $(seq 100); do inside curl -s -o /dev/null http://127.0.0.1:5750/v1/_ping && break; sleep 0.1; done
inside python3 "$SOURCE_DIR/tests/integration/make-oci-image.py" $W/bb --busybox >/dev/null
inside skopeo copy -q --dest-tls-verify=false --dest-creds alice:alicepw oci:$W/bb:latest \
  docker://127.0.0.1:5750/alice/busybox:latest || echo "Bail out! skopeo copy failed"

# Through the redirect to the tampering mirror: refused.
out=$(inside berthctl pull 127.0.0.1:5750/alice/busybox:latest 2>&1); rc=$?
[ $rc = 1 ] && ok "a tampered blob behind a redirect fails the pull" || not_ok "tampered pull (exit $rc)"
assert_match "the error names the digests and the mirror" "does not match its digest \(got sha256:[0-9a-f]{64}\) from 127.0.0.1:5751" "$out" \
  || diag "$(inside journalctl --no-pager -o cat -u 'berth-pull-*' -u berthd 2>&1 | tail -30)"
journal=$(inside journalctl --no-pager -o cat 2>&1)
assert_match "berth-pull ran as a transient service" "berth-pull-[0-9]+-1.service" "$(inside journalctl --no-pager 2>&1 | grep berth-pull-)"
assert_match "berthd runs under the systemd cgroup manager" "^Cgroup manager: +systemd$" "$(inside berthctl info 2>&1)"

# The honest path: stop redirecting.
inside systemctl stop test-reg
inside systemd-run --quiet --unit=test-reg2 -p Environment=ASAN_OPTIONS=detect_leaks=0 \
  "$REG" --config $W/empty.conf --root $W/reg --listen 127.0.0.1:5750
for _ in $(seq 100); do inside curl -s -o /dev/null http://127.0.0.1:5750/v1/_ping && break; sleep 0.1; done
out=$(inside berthctl pull -q 127.0.0.1:5750/alice/busybox:latest 2>&1); rc=$?
[ $rc = 0 ] && ok "the pull succeeds from the registry itself" || { not_ok "pull (exit $rc)"; diag "$out"; }
assert_match "the image is there" "127.0.0.1:5750/alice/busybox +latest" "$(inside berthctl images 2>&1)"
# The second pull is served by the helper started ahead after the first one
# (berth-pull --wait-for-request), a transient service of its own too.
props=$(inside journalctl --no-pager -o cat 2>&1 | grep -c "berth-pull-[0-9]*-spare1.service" )
[ "$props" -ge 1 ] && ok "the second pull ran in the spare helper's own service" || not_ok "no berth-pull-*-spare1.service in the journal"
spare=$(inside systemctl list-units --plain --no-legend 'berth-pull-*-spare*.service' 2>&1 | awk '{print $1}' | head -1)
spare_props=$(inside systemctl show -p NoNewPrivileges -p ProtectSystem "$spare" 2>&1)
grep -q "ProtectSystem=strict" <<<"$spare_props" && grep -q "NoNewPrivileges=yes" <<<"$spare_props" \
  && ok "the next spare helper waits, sandboxed like the others ($spare)" || not_ok "spare $spare: $spare_props"

inside systemctl stop test-reg2 test-evil berthd >/dev/null 2>&1
finish
