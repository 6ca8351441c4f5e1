# Shared by the systemd suites: TAP output and a throwaway sandbox with the
# host's systemd as PID 1 (tests/systemd/sandbox), booted with the source
# and build trees bind-mounted at their own paths. Source it, then call
# boot_sandbox; in_sandbox CMD... runs a command inside. The sandbox is
# stopped at exit.
set -uo pipefail
: "${BUILD_DIR:?run through meson test}"
: "${SOURCE_DIR:?run through meson test}"

n=0; failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
diag() { sed 's/^/# /' <<<"$*"; }
assert_match() { if grep -qE -- "$2" <<<"$3"; then ok "$1"; else not_ok "$1"; diag "no \"$2\" in: $3"; fi; }
finish() { echo "1..$n"; [ "$failed" = 0 ]; }

SANDBOX="$SOURCE_DIR/tests/systemd/sandbox"

boot_sandbox() {
  [ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root to boot systemd in a sandbox"; exit 0; }
  command -v systemd-nspawn >/dev/null || { echo "1..0 # SKIP systemd-nspawn is not installed"; exit 0; }
  DIR=$(mktemp -d /tmp/berth-sandbox.XXXXXX)
  trap '"$SANDBOX" stop "$DIR"' EXIT
  local binds=("$SOURCE_DIR")
  case "$BUILD_DIR" in "$SOURCE_DIR"/*) ;; *) binds+=("$BUILD_DIR") ;; esac
  if ! "$SANDBOX" start "$DIR" "${binds[@]}" 2>"$DIR.err"; then
    echo "Bail out! the sandbox did not boot: $(cat "$DIR.err")"; rm -f "$DIR.err"; exit 1
  fi
  rm -f "$DIR.err"
}

in_sandbox() { "$SANDBOX" exec "$DIR" "$@"; }

# install_berth: installs the build inside the sandbox, reloads systemd and
# the bus, gives /var/lib/berth a tmpfs (the sandbox's root is an overlay,
# which cannot hold an overlay's upper directory) and imports busybox. Two
# TAP lines; bails out when the import fails.
install_berth() {
  local out rc
  out=$(in_sandbox meson install -C "$BUILD_DIR" --no-rebuild --quiet 2>&1); rc=$?
  [ $rc = 0 ] && ok "the build installs inside the sandbox" || { not_ok "the build installs"; diag "$out"; }
  in_sandbox systemctl daemon-reload
  in_sandbox busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig >/dev/null
  in_sandbox systemctl stop berthd 2>/dev/null
  in_sandbox mkdir -p /var/lib/berth
  in_sandbox mount -t tmpfs -o mode=0711 berth-state /var/lib/berth
  in_sandbox "$SOURCE_DIR/tests/lib/make-busybox-image" tar /tmp/busybox.tar.gz >/dev/null 2>&1
  out=$(in_sandbox berthctl import /tmp/busybox.tar.gz busybox 2>&1); rc=$?
  [ $rc = 0 ] && ok "busybox imports" || { echo "Bail out! import failed: $out"; exit 1; }
}
