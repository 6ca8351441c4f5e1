#!/usr/bin/env bash
# berthd under a real systemd: boots the host's systemd in a throwaway nspawn
# sandbox, installs this build inside it, and checks bus activation, the
# unit, the journal and polkit the way a user would meet them.
. "$(dirname "$0")/lib.sh"
boot_sandbox

out=$(in_sandbox meson install -C "$BUILD_DIR" --no-rebuild --quiet 2>&1); rc=$?
[ $rc = 0 ] && ok "the build installs inside the sandbox" || { not_ok "the build installs"; diag "$out"; }
in_sandbox systemctl daemon-reload
in_sandbox busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig >/dev/null

assert_match "berthd is not running before the first call" "inactive" "$(in_sandbox systemctl is-active berthd 2>&1)"

out=$(in_sandbox berthctl info 2>&1); rc=$?
[ $rc = 0 ] && ok "berthctl info starts berthd through D-Bus activation" || not_ok "berthctl info (exit $rc)"
assert_match "info reports the systemd cgroup manager" "^Cgroup manager: +systemd\$" "$out"
assert_match "info reports machine.slice as the cgroup root" "^Cgroup root: +machine.slice\$" "$out"
assert_match "info reports the default storage root" "^Storage root: +/var/lib/berth\$" "$out"
assert_match "systemctl says berthd is active" "^active\$" "$(in_sandbox systemctl is-active berthd 2>&1)"
assert_match "berthd runs in its own service cgroup" "berthd.service" "$(in_sandbox systemctl status berthd --no-pager 2>&1)"
assert_match "StateDirectory made /var/lib/berth" "^711 " "$(in_sandbox stat -c '%a %n' /var/lib/berth 2>&1)"

journal=$(in_sandbox journalctl -u berthd --no-pager -o cat 2>&1)
assert_match "berthd logs to the journal" "berthd [0-9.]+ ready on the system bus" "$journal"

out=$(in_sandbox systemctl reload berthd 2>&1); rc=$?
[ $rc = 0 ] && ok "systemctl reload berthd (SIGHUP, Type=notify RELOADING)" || { not_ok "systemctl reload berthd"; diag "$out"; }
for _ in $(seq 1 50); do in_sandbox journalctl -u berthd --no-pager -o cat | grep -q "configuration reloaded" && break; sleep 0.1; done
assert_match "the reload reached berthd" "configuration reloaded" "$(in_sandbox journalctl -u berthd --no-pager -o cat 2>&1)"

# polkit decides for users other than root: without an agent, the answer is no.
out=$(in_sandbox setpriv --reuid=nobody --regid=nogroup --clear-groups \
  busctl call org.berth.berth1 /org/berth/berth1 org.berth.berth1.Manager Reload 2>&1)
assert_match "polkit refuses Reload to an unprivileged user" "not authorized.*org.berth.berth1.manage-daemon" "$out"
out=$(in_sandbox setpriv --reuid=nobody --regid=nogroup --clear-groups berthctl info 2>&1)
assert_match "an unprivileged user may read the info" "^Cgroup manager: +systemd\$" "$out"

in_sandbox systemctl stop berthd
assert_match "systemctl stop berthd stops it" "inactive" "$(in_sandbox systemctl is-active berthd 2>&1)"
out=$(in_sandbox berthctl version 2>&1); rc=$?
[ $rc = 0 ] && ok "the next call activates berthd again" || { not_ok "reactivation"; diag "$out"; }

finish
