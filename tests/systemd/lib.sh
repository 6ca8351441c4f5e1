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
