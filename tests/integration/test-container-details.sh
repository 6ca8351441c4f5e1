#!/usr/bin/env bash
# The details of containers a docker or podman user relies on, through
# berthctl and berthd: shells' exit codes for exec (127, 126, with
# berth-runtime and with runc), users by name from the image's
# /etc/passwd and /etc/group, timestamps in the logs (--since, --until,
# -t) and the output of a detached terminal kept in the log.
# cgroupfs mode; tests/systemd covers the journal.
. "$(dirname "$0")/lib.sh"

setup_containers
import_busybox

# --- exec: shells' exit codes, with each runtime -----------------------------------------
exec_codes() {
  local tag=$1 rt=$2 err rc
  local ropt=()
  [ -n "$rt" ] && ropt=(--runtime "$rt")
  bctl run -d "${ropt[@]}" --name "ex-$tag" busybox sleep 1000 >/dev/null
  err=$(bctl exec "ex-$tag" no-such-program 2>&1 </dev/null); rc=$?
  [ $rc = 127 ] && grep -q 'executable file not found in \$PATH\|executable file "no-such-program" not found in \$PATH' <<<"$err" \
    && ok "$tag: exec of a missing command exits 127 and says so" \
    || { not_ok "$tag: exec of a missing command exits 127 and says so (exit $rc)"; diag "$err"; }
  err=$(bctl exec "ex-$tag" /no/such/dir/prog 2>&1 </dev/null); rc=$?
  [ $rc = 127 ] && grep -qi 'no such file or directory' <<<"$err" \
    && ok "$tag: exec of a missing path exits 127" \
    || { not_ok "$tag: exec of a missing path exits 127 (exit $rc)"; diag "$err"; }
  err=$(bctl exec "ex-$tag" /etc/passwd 2>&1 </dev/null); rc=$?
  [ $rc = 126 ] && grep -qi 'permission denied' <<<"$err" \
    && ok "$tag: exec of a file that is not executable exits 126 and says so" \
    || { not_ok "$tag: exec of a non-executable file exits 126 (exit $rc)"; diag "$err"; }
  bctl exec "ex-$tag" sh -c 'exit 255' </dev/null; rc=$?
  [ $rc = 255 ] && ok "$tag: a command's own 255 is passed on unchanged" \
    || not_ok "$tag: a command's own 255 is passed on unchanged (exit $rc)"
  bctl exec "ex-$tag" sh -c 'exit 127' </dev/null; rc=$?
  [ $rc = 127 ] && ok "$tag: a command's own 127 too" || not_ok "$tag: a command's own 127 too (exit $rc)"
  err=$(bctl run --rm "${ropt[@]}" busybox no-such-program 2>&1 </dev/null); rc=$?
  [ $rc = 127 ] && grep -q 'executable file "no-such-program" not found in \$PATH' <<<"$err" \
    && ok "$tag: run of a missing command exits 127 and says so" \
    || { not_ok "$tag: run of a missing command exits 127 and says so (exit $rc)"; diag "$err"; }
  bctl rm -f "ex-$tag" >/dev/null
}
exec_codes berth-runtime ""
if command -v runc >/dev/null; then
  exec_codes runc "$(command -v runc)"
else
  not_ok "runc is installed (tools/install-deps installs it)"
fi

# --- users by name, from the container's own /etc/passwd and /etc/group -----------------
# An image with users and groups of its own, and a symbolic link that must
# not lead berthd out of the container's root.
mkdir -p "$SCRATCH/uroot/etc" "$SCRATCH/uroot/home/app"
cp -a "$SCRATCH/bbroot/." "$SCRATCH/uroot/"
cat >>"$SCRATCH/uroot/etc/passwd" <<'PW'
app:x:1000:1000:App:/home/app:/bin/sh
PW
cat >>"$SCRATCH/uroot/etc/group" <<'GR'
app:x:1000:
staff:x:50:app,other
audio:x:29:app
GR
tar -C "$SCRATCH/uroot" -czf "$SCRATCH/users.tar.gz" . && bctl import "$SCRATCH/users.tar.gz" users >/dev/null \
  || { echo "Bail out! cannot import the users image"; exit 1; }
mkdir -p "$SCRATCH/lroot/etc"
cp -a "$SCRATCH/bbroot/." "$SCRATCH/lroot/"
rm "$SCRATCH/lroot/etc/passwd"
echo "hostuser:x:4711:4711::/host:/bin/sh" >"$SCRATCH/host-passwd"
ln -s "../../../../../../../../..$SCRATCH/host-passwd" "$SCRATCH/lroot/etc/passwd"
tar -C "$SCRATCH/lroot" -czf "$SCRATCH/links.tar.gz" . && bctl import "$SCRATCH/links.tar.gz" links >/dev/null \
  || { echo "Bail out! cannot import the links image"; exit 1; }

users() {
  local tag=$1 rt=$2 out
  local ropt=()
  [ -n "$rt" ] && ropt=(--runtime "$rt")
  out=$(bctl run --rm "${ropt[@]}" -u app users sh -c 'echo "$(id) HOME=$HOME"' 2>&1 </dev/null)
  assert_match "$tag: run -u NAME: uid, gid, supplementary groups and HOME from the image" \
    "^uid=1000\(app\) gid=1000\(app\) groups=(50\(staff\),29\(audio\)|29\(audio\),50\(staff\)) HOME=/home/app$" "$out"
  out=$(bctl run --rm "${ropt[@]}" -u app:staff users sh -c 'echo "$(id -u):$(id -g)"' 2>&1 </dev/null)
  assert_match "$tag: run -u NAME:GROUP takes the group by name" "^1000:50$" "$out"
  out=$(bctl run --rm "${ropt[@]}" -u 1000 users sh -c 'echo "$(id -u):$(id -g) HOME=$HOME"' 2>&1 </dev/null)
  assert_match "$tag: run -u UID finds the user's group and HOME" "^1000:1000 HOME=/home/app$" "$out"
  out=$(bctl run --rm "${ropt[@]}" -u 4242 users sh -c 'echo "$(id -u):$(id -g) HOME=$HOME"' 2>&1 </dev/null)
  assert_match "$tag: run -u UID not in passwd: group 0, HOME=/" "^4242:0 HOME=/$" "$out"
  out=$(bctl run --rm "${ropt[@]}" -u app -e HOME=/given users sh -c 'echo "HOME=$HOME"' 2>&1 </dev/null)
  assert_match "$tag: a HOME given stays" "^HOME=/given$" "$out"
  out=$(bctl run --rm "${ropt[@]}" users sh -c 'echo "$(id -u) HOME=$HOME"' 2>&1 </dev/null)
  assert_match "$tag: the default is root with HOME=/root" "^0 HOME=/root$" "$out"
  expect_fail "$tag: run -u with an unknown user: one error, exit 125" 125 \
    'unable to find user nosuch: no matching entries in the container.s /etc/passwd' \
    bctl run --rm "${ropt[@]}" -u nosuch users true
  expect_fail "$tag: run -u with an unknown group: one error, exit 125" 125 \
    'unable to find group nogroup-here' bctl run --rm "${ropt[@]}" -u app:nogroup-here users true
  [ -z "$(bctl ps -aq)" ] && ok "$tag: --rm leaves nothing after a failed start" \
    || { not_ok "$tag: --rm leaves nothing after a failed start"; diag "$(bctl ps -a)"; }

  # exec: users the container added since it started are found
  bctl run -d "${ropt[@]}" --name "ux-$tag" users sleep 1000 >/dev/null
  bctl exec "ux-$tag" sh -c 'echo "bob:x:1500:1500:Bob:/home/bob:/bin/sh" >>/etc/passwd; echo "bob:x:1500:" >>/etc/group; echo "video:x:44:bob" >>/etc/group'
  out=$(bctl exec -u bob "ux-$tag" sh -c 'echo "$(id) HOME=$HOME"' 2>&1 </dev/null)
  assert_match "$tag: exec -u NAME added inside the running container" \
    "^uid=1500\(bob\) gid=1500\(bob\) groups=44\(video\) HOME=/home/bob$" "$out"
  out=$(bctl exec -u app:audio "ux-$tag" sh -c 'echo "$(id -u):$(id -g)"' 2>&1 </dev/null)
  assert_match "$tag: exec -u NAME:GROUP" "^1000:29$" "$out"
  out=$(bctl exec "ux-$tag" sh -c 'echo "$(id -u) $(id -G) HOME=$HOME"' 2>&1 </dev/null)
  assert_match "$tag: exec without -u runs as the container's user" "^0 0 HOME=/root$" "$out"
  expect_fail "$tag: exec -u with an unknown user: one error" 125 'unable to find user nosuch' \
    bctl exec -u nosuch "ux-$tag" true
  bctl rm -f "ux-$tag" >/dev/null
}
users berth-runtime ""
command -v runc >/dev/null && users runc "$(command -v runc)"

expect_fail "a passwd that links out of the container's root is read inside it" 125 \
  'unable to find user hostuser' bctl run --rm -u hostuser links true
out=$(bctl run --rm -u 4711 links sh -c 'echo "$(id -u):$(id -g) HOME=$HOME"' 2>&1 </dev/null)
assert_match "... and a number still runs, with nothing taken from the host's file" "^4711:0 HOME=/$" "$out"

# --- logs: times, --since, --until, -t, across a berthd crash ------------------------------
epoch() { date -u -d "$1" +%s.%N; }
# Lines written about 1.5 s apart; marks of the wall clock between them.
t_start=$(date +%s.%N)
bctl run -d --name stamps busybox sh -c 'echo first; sleep 1.5; echo second >&2; sleep 1.5; printf third' >/dev/null
bctl wait stamps >/dev/null
out=$(bctl logs -t stamps)
assert_match "logs -t prefixes each line with its RFC 3339 time" \
  "^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z first$" "$(head -1 <<<"$out")"
t1=$(epoch "$(sed -n 1p <<<"$out" | cut -d' ' -f1)")
t2=$(epoch "$(sed -n 2p <<<"$out" | cut -d' ' -f1)")
t3=$(epoch "$(sed -n 3p <<<"$out" | cut -d' ' -f1)")
if awk -v s="$t_start" -v a="$t1" -v b="$t2" -v c="$t3" -v now="$(date +%s.%N)" \
    'BEGIN { exit !(a >= s - 1 && b - a > 1.2 && b - a < 4 && c - b > 1.2 && c - b < 4 && c <= now) }'; then
  ok "the times are when each line was written (1.5 s apart)"
else
  not_ok "the times are when each line was written"; diag "$out (start $t_start)"
fi
assert_match "-t ends a last line without newline" "Z third$" "$(tail -1 <<<"$out")"
mid=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.3f", (a + b) / 2 }')
assert_match "--since TIME leaves out what came before" "^second third$" "$(bctl logs --since "$mid" stamps | tr '\n' ' ')"
assert_match "--until TIME leaves out what came after" "^first $" "$(bctl logs --until "$mid" stamps | tr '\n' ' ')"
iso=$(date -u -d "@$mid" +%Y-%m-%dT%H:%M:%S.%NZ)
assert_match "--since takes RFC 3339 too" "^second third$" "$(bctl logs --since "$iso" stamps | tr '\n' ' ')"
assert_match "--since 1h (a duration) shows all" "^first second third$" "$(bctl logs --since 1h stamps | tr '\n' ' ')"
assert_match "--since 0s (nothing since now) shows nothing" "^$" "$(bctl logs --since 0s stamps)"
assert_match "-n 1 -t: the last line, stamped" "^[0-9T:.-]+Z third$" "$(bctl logs -n 1 -t stamps)"
expect_fail "--since with a bad time: one error naming the forms" 2 'cannot read "last tuesday" as a time: give RFC 3339' \
  bctl logs --since "last tuesday" stamps
bctl rm stamps >/dev/null

# -f -t: lines come as they are written, with their times
bctl run -d --name follow busybox sh -c 'echo a; sleep 1; echo b' >/dev/null
out=$(timeout 20 "$BERTHCTL" logs -f -t follow)
assert_match "logs -f -t follows with times until it exits" "^[0-9T:.-]+Z a [0-9T:.-]+Z b $" "$(tr '\n' ' ' <<<"$out")"
bctl rm follow >/dev/null

# berthd is killed while a container writes: the line written meanwhile
# is there, and its time is when it was written, not when berthd came back.
bctl run -d --name crash busybox sh -c 'echo before; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo during; sleep 1000' >/dev/null
id=$(bctl inspect crash | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')
kill -9 "$BERTHD_PID"; wait "$BERTHD_PID" 2>/dev/null
touch "$RUN_DIR/containers/$id/rootfs/tmp/go"
for _ in $(seq 1 50); do grep -q during "$SCRATCH/root/containers/$id/container.log" && break; sleep 0.1; done
t_during=$(date +%s.%N)
sleep 2
start_berthd
out=$(bctl logs -t crash)
assert_match "no line is lost while berthd is down" "Z before .*Z during $" "$(tr '\n' ' ' <<<"$out")"
td=$(epoch "$(grep during <<<"$out" | cut -d' ' -f1)")
awk -v t="$td" -v w="$t_during" 'BEGIN { exit !(t <= w + 0.5 && t >= w - 5) }' \
  && ok "... with the time it was written, not when berthd came back" \
  || { not_ok "... with the time it was written ($td vs $t_during)"; diag "$out"; }
bctl exec crash sh -c 'echo after-restart' >/dev/null
bctl exec crash sh -c 'echo from-exec-to-log' </dev/null >/dev/null 2>&1
bctl rm -f crash >/dev/null

# --- a detached terminal's output is logged ------------------------------------------------
bctl run -d -t --name ttylog busybox sh -c 'echo on-the-tty; [ -t 1 ] && echo is-a-tty; sleep 1000' >/dev/null
for _ in $(seq 1 50); do bctl logs ttylog | grep -q is-a-tty && break; sleep 0.1; done
assert_match "run -d -t: what the terminal shows is in the log" "on-the-tty.*is-a-tty" "$(bctl logs ttylog | tr -d '\r' | tr '\n' ' ')"
assert_match "... with times" "Z on-the-tty" "$(bctl logs -t ttylog)"
check "a detached terminal container restarts" bctl restart ttylog
for _ in $(seq 1 50); do [ "$(bctl logs ttylog | grep -c on-the-tty)" = 2 ] && break; sleep 0.1; done
assert_match "... and its output after the restart is logged too" "^2$" "$(bctl logs ttylog | grep -c on-the-tty)"
bctl rm -f ttylog >/dev/null
bctl create -t --name ttystart busybox sh -c 'echo started-later' >/dev/null
bctl start ttystart >/dev/null
assert_match "start (not attached) of a terminal container logs its output" "^0$" "$(bctl wait ttystart)"
for _ in $(seq 1 30); do bctl logs ttystart | grep -q started-later && break; sleep 0.1; done
assert_match "... as it printed it" "started-later" "$(bctl logs ttystart)"
bctl rm ttystart >/dev/null

# --- exec'd processes across a berthd crash --------------------------------------------------
bctl run -d --name execs busybox sleep 1000 >/dev/null
# berthd says in its debug log when it has answered an Exec: only then does
# berthctl know the exec's ID, which it needs to follow it across the crash.
kill -USR2 "$BERTHD_PID"
for _ in $(seq 1 50); do grep -q "debug logging enabled" "$BERTHD_LOG" && break; sleep 0.1; done
started_before=$(grep -c "exec .* started" "$BERTHD_LOG")
id=$(bctl inspect execs | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')
"$BERTHCTL" exec execs sh -c 'while [ ! -e /tmp/go1 ]; do sleep 0.1; done; exit 7' </dev/null >/dev/null 2>&1 &
e1=$!
"$BERTHCTL" exec -u nobody execs sh -c 'while [ ! -e /tmp/go2 ]; do sleep 0.1; done; exit 8' </dev/null >/dev/null 2>&1 &
e2=$!
for _ in $(seq 1 100); do
  [ "$(grep -c "exec .* started" "$BERTHD_LOG")" -ge $((started_before + 2)) ] && break
  sleep 0.1
done
assert_match "berthd answered both Exec calls before the crash" "^$((started_before + 2))$" \
  "$(grep -c "exec .* started" "$BERTHD_LOG")"
kill -9 "$BERTHD_PID"; wait "$BERTHD_PID" 2>/dev/null
touch "$RUN_DIR/containers/$id/rootfs/tmp/go1"
for _ in $(seq 1 50); do ls "$RUN_DIR/containers/$id/status/"exec-*/exit-status >/dev/null 2>&1 && break; sleep 0.1; done
start_berthd
touch "$RUN_DIR/containers/$id/rootfs/tmp/go2"
wait $e1; rc1=$?
wait $e2; rc2=$?
[ $rc1 = 7 ] && ok "an exec that ended while berthd was down: exec still exits with its code" \
  || not_ok "an exec that ended while berthd was down: exec exits with its code (got $rc1)"
[ $rc2 = 8 ] && ok "an exec still running when berthd came back (another user): its code too" \
  || not_ok "an exec still running when berthd came back: its code (got $rc2)"
[ -z "$(ls "$RUN_DIR/containers/$id/status/" | grep exec-)" ] && ok "... and nothing is left of them" \
  || not_ok "... and nothing is left of them"
"$BERTHCTL" exec execs sleep 1000 </dev/null >/dev/null 2>&1 &
e3=$!
for _ in $(seq 1 50); do ls -d "$RUN_DIR/containers/$id/status/exec-"* >/dev/null 2>&1 && break; sleep 0.1; done
kill -9 "$BERTHD_PID"; wait "$BERTHD_PID" 2>/dev/null
start_berthd
check "the container is killed with an exec running" bctl kill execs
wait $e3; rc3=$?
[ $rc3 = 137 ] && ok "... the exec ends with 137" || not_ok "... the exec ends with 137 (got $rc3)"
bctl rm -f execs >/dev/null

finish
