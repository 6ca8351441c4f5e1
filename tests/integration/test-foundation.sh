#!/usr/bin/env bash
# berthd on a private system-type bus, driven with berthctl as a user would.
. "$(dirname "$0")/lib.sh"

setup_scratch
start_bus
cat > "$SCRATCH/berth.conf" <<'CONF'
[runtime]
path=/usr/bin/true
CONF
start_berthd

out=$(bctl info); rc=$?
[ $rc = 0 ] && ok "info succeeds" || not_ok "info succeeds (exit $rc)"
assert_match "info shows the storage root" "^Storage root: +$ROOT\$" "$out"
assert_match "info shows the cgroupfs manager without systemd" "^Cgroup manager: +cgroupfs\$" "$out"
assert_match "info shows the cgroup layout" "^Cgroup version: +(v2|hybrid|v1)\$" "$out"
assert_match "info shows the overlay storage driver" "^Storage driver: +overlay\$" "$out"
assert_match "info shows the configured runtime" "^Default runtime: +/usr/bin/true\$" "$out"
assert_match "info shows the config file" "^Config file: +$SCRATCH/berth.conf\$" "$out"

json=$(bctl info --json)
if python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["StorageRoot"] == sys.argv[2], d
assert d["CgroupManager"] == "cgroupfs", d
assert d["Version"] and isinstance(d["Features"], list), d
assert isinstance(d["Containers"], int), d
' "$json" "$ROOT" 2>&1; then ok "info --json is valid JSON with the same facts"; else not_ok "info --json"; diag "$json"; fi

out=$(bctl version)
assert_match "version shows client and server" "Client: [0-9.]+.*Server: [0-9.]+" "$(tr '\n' ' ' <<<"$out")"

props=$(gdbus call --address "$BUS_ADDRESS" --dest org.berth.berth1 --object-path /org/berth/berth1 \
  --method org.freedesktop.DBus.Properties.GetAll org.berth.berth1.Manager 2>&1)
assert_match "Manager has the StorageRoot property" "'StorageRoot': <'$ROOT'>" "$props"
assert_match "Manager has the CgroupManager property" "'CgroupManager': <'cgroupfs'>" "$props"

# --help for the program and each verb, exit 0.
check "berthctl --help" bctl --help
check "berthctl info --help" bctl info --help
check "berthctl version --help" bctl version --help
help_text=$(bctl images --help)
check "berthctl images --help names the verb once" \
  grep -qx 'Usage:' <<<"$help_text"
check "berthctl images --help usage line" \
  grep -qxF '  berthctl images [OPTION…] [REPOSITORY[:TAG]]' <<<"$help_text"
check "berthd --help" "$BERTHD" --help

# Usage errors: exit 2, one line.
expect_fail "unknown verb" 2 'unknown command "frobnicate"' bctl frobnicate
expect_fail "unknown berthctl option" 2 'unknown option "--frob"' bctl --frob info
expect_fail "unknown verb option" 2 'berthctl info: .*--frob' bctl info --frob
expect_fail "unexpected verb argument" 2 'unexpected argument "extra"' bctl info extra
expect_fail "unknown berthd option" 2 '^berthd: .*--frob' "$BERTHD" --frob

# A second berthd on the same root refuses, naming the first.
expect_fail "second berthd on the same root" 1 "another berthd \\(pid $BERTHD_PID\\) is already using the storage root $ROOT" \
  "$BERTHD" --bus-address "$BUS_ADDRESS" --root "$ROOT" --run-dir "$SCRATCH/run2" --config "$SCRATCH/berth.conf"

# Another root on the same bus: the name is taken.
expect_fail "second berthd on the same bus" 1 "cannot own org.berth.berth1" \
  "$BERTHD" --bus-address "$BUS_ADDRESS" --root "$SCRATCH/root2" --run-dir "$SCRATCH/run2" --config "$SCRATCH/berth.conf"

# Unreadable and invalid configuration.
expect_fail "missing --config file" 1 "cannot read config $SCRATCH/nope.conf" \
  "$BERTHD" --bus-address "$BUS_ADDRESS" --root "$SCRATCH/root3" --config "$SCRATCH/nope.conf"
printf '[storage\nroot=/x\n' > "$SCRATCH/broken.conf"
expect_fail "malformed config" 1 "cannot read config $SCRATCH/broken.conf: line 1: " \
  "$BERTHD" --bus-address "$BUS_ADDRESS" --root "$SCRATCH/root3" --config "$SCRATCH/broken.conf"
printf '[storage]\nrooot=/x\n' > "$SCRATCH/typo.conf"
expect_fail "unknown config key" 1 'unknown key "rooot" in group \[storage\]' \
  "$BERTHD" --bus-address "$BUS_ADDRESS" --root "$SCRATCH/root3" --config "$SCRATCH/typo.conf"
if [ "$(id -u)" = 0 ]; then
  cp "$SCRATCH/berth.conf" "$SCRATCH/secret.conf"; chmod 000 "$SCRATCH/secret.conf"
  expect_fail "unreadable config (as nobody)" 1 "cannot read config $SCRATCH/secret.conf: .*[Pp]ermission denied" \
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$BERTHD" --bus-address "$BUS_ADDRESS" \
      --root "$SCRATCH/root4" --config "$SCRATCH/secret.conf"
fi

# Unreachable bus, and a bus without berthd.
expect_fail "unreachable bus" 1 "^berthctl: cannot reach berthd on unix:path=$SCRATCH/none: " \
  bctl --bus-address "unix:path=$SCRATCH/none" info
expect_fail "unreachable system bus names the fix" 1 "cannot reach berthd on the system bus: .*\\(start it with: systemctl start berthd\\)" \
  env -u BERTH_BUS_ADDRESS DBUS_SYSTEM_BUS_ADDRESS="unix:path=$SCRATCH/none" "$BERTHCTL" info

# Reload: root may, the new file takes effect, a broken file changes nothing.
gcall() { gdbus call --address "$BUS_ADDRESS" --dest org.berth.berth1 --object-path /org/berth/berth1 "$@"; }
printf '[runtime]\npath=/usr/bin/false\n' > "$SCRATCH/berth.conf"
check "Reload as root" gcall --method org.berth.berth1.Manager.Reload
assert_match "Reload applies the new runtime" "^Default runtime: +/usr/bin/false\$" "$(bctl info)"
printf '[runtime\n' > "$SCRATCH/berth.conf"
out=$(gcall --method org.berth.berth1.Manager.Reload 2>&1)
assert_match "Reload of a broken file fails with Error.Config" "org.berth.berth1.Error.Config" "$out"
assert_match "a failed Reload keeps the old settings" "^Default runtime: +/usr/bin/false\$" "$(bctl info)"
printf '[runtime]\npath=/bin/sh\n' > "$SCRATCH/berth.conf"
kill -HUP "$BERTHD_PID"
for _ in $(seq 1 50); do bctl info | grep -q '^Default runtime: */bin/sh$' && break; sleep 0.05; done
assert_match "SIGHUP reloads the configuration" "^Default runtime: +/bin/sh\$" "$(bctl info)"

# Other users: read-only calls pass, privileged ones are refused (no polkit
# agent here authorizes them), and nobody else may own berth's name.
if [ "$(id -u)" = 0 ]; then
  asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
  check "a non-root user may call GetInfo" asnobody "$BERTHCTL" info
  out=$(asnobody gdbus call --address "$BUS_ADDRESS" --dest org.berth.berth1 --object-path /org/berth/berth1 \
    --method org.berth.berth1.Manager.Reload 2>&1)
  assert_match "a non-root user may not Reload" "org.berth.berth1.Error.NotPermitted" "$out"
  install -d -o nobody "$SCRATCH/root5" "$SCRATCH/run5"
  expect_fail "a non-root user may not own org.berth.berth1" 1 "cannot own org.berth.berth1" \
    asnobody "$BERTHD" --bus-address "$BUS_ADDRESS" --root "$SCRATCH/root5" --run-dir "$SCRATCH/run5" --config "$SCRATCH/berth.conf"
fi

# sd_notify: READY=1 reaches the notification socket.
python3 - "$SCRATCH/notify.sock" > "$SCRATCH/notify.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(20)
try:
    while True:
        m = s.recv(4096).decode()
        print(m, flush=True)
        if "READY=1" in m:
            break
except socket.timeout:
    pass
PY
notify_pid=$!
for _ in $(seq 1 50); do [ -S "$SCRATCH/notify.sock" ] && break; sleep 0.05; done
stop_berthd
NOTIFY_SOCKET="$SCRATCH/notify.sock" "$BERTHD" --bus-address "$BUS_ADDRESS" --root "$ROOT" \
  --run-dir "$RUN_DIR" --config "$SCRATCH/berth.conf" >>"$SCRATCH/berthd.log" 2>&1 &
BERTHD_PID=$!; _pids+=("$BERTHD_PID")
wait "$notify_pid"
assert_match "berthd tells the service manager READY=1" "READY=1" "$(cat "$SCRATCH/notify.out")"
wait_for_name
kill -TERM "$BERTHD_PID"; wait "$BERTHD_PID"; rc=$?
[ $rc = 0 ] && ok "SIGTERM stops berthd cleanly" || not_ok "SIGTERM stops berthd cleanly (exit $rc)"
expect_fail "a bus without berthd" 1 "^berthctl: cannot reach berthd on $BUS_ADDRESS: .*org.berth.berth1" bctl info
assert_match "berthd logs to stderr without journald" "ready on $BUS_ADDRESS" "$(cat "$SCRATCH/berthd.log")"

finish
