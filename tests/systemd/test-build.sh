#!/usr/bin/env bash
# Builds under a real systemd (booted in a throwaway nspawn sandbox): RUN
# steps run as containers in their own scopes in machine.slice like any
# other, nothing of them stays after the build, the build is in the journal
# under BUILD_ID, and the quickstart's example builds and runs.
. "$(dirname "$0")/lib.sh"
boot_sandbox
bctl() { in_sandbox berthctl "$@"; }

out=$(in_sandbox meson install -C "$BUILD_DIR" --no-rebuild --quiet 2>&1); rc=$?
[ $rc = 0 ] && ok "the build installs inside the sandbox" || { not_ok "the build installs"; diag "$out"; }
in_sandbox systemctl daemon-reload
in_sandbox busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig >/dev/null
# The sandbox's root is an overlay, which cannot hold overlay upper
# directories: the storage root gets a tmpfs, as on the test machines.
in_sandbox systemctl stop berthd 2>/dev/null
in_sandbox mkdir -p /var/lib/berth
in_sandbox mount -t tmpfs -o mode=0711 berth-state /var/lib/berth
in_sandbox "$SOURCE_DIR/tests/lib/make-busybox-image" tar /tmp/busybox.tar.gz >/dev/null 2>&1
out=$(bctl import /tmp/busybox.tar.gz busybox 2>&1); rc=$?
[ $rc = 0 ] && ok "busybox imports" || { echo "Bail out! import failed: $out"; exit 1; }

in_sandbox mkdir -p /tmp/ctx
in_sandbox sh -c "printf 'FROM busybox\nRUN cat /proc/self/cgroup > /cgroup\nCMD [\"cat\", \"/cgroup\"]\n' > /tmp/ctx/Containerfile"
out=$(bctl build -t cg /tmp/ctx 2>&1); rc=$?
[ $rc = 0 ] && ok "a build with a RUN step succeeds under systemd" || { not_ok "build under systemd"; diag "$out"; }
out=$(in_sandbox journalctl -o cat --no-pager 2>&1)
assert_match "the RUN step ran as a container in its own berth scope" "Started berth-[0-9a-f]{64}.scope" "$out"
units=$(in_sandbox systemctl list-units --no-legend --all 'berth-*.scope' 2>&1 | grep -v ' inactive ' || true)
[ -z "$units" ] && ok "no scope of the build is left" || { not_ok "scopes left"; diag "$units"; }
out=$(in_sandbox journalctl BUILD_ID=1 -o cat --no-pager 2>&1)
assert_match "the build is in the journal under BUILD_ID" "build 1: done sha256:" "$out"

out=$(in_sandbox sh -c "cd '$SOURCE_DIR' && berthctl build -q -t hello data/examples" 2>&1); rc=$?
[ $rc = 0 ] && [[ "$out" =~ ^[0-9a-f]{64}$ ]] && ok "the quickstart's example builds" || { not_ok "data/examples"; diag "$out"; }
assert_match "and runs" "^Hello from berth: this image was built from a Containerfile.$" "$(bctl run --rm hello 2>&1)"
out=$(in_sandbox sh -c "cd '$SOURCE_DIR' && berthctl build -t hello data/examples" 2>&1)
[ "$(grep -c -- '---> Using cache' <<<"$out")" -ge 5 ] && ok "a second build comes from the cache" || { not_ok "cache under systemd"; diag "$out"; }

finish
