#!/usr/bin/env bash
# berth-runtime and berth-init driven through the OCI command line, as berthd
# drives them, on bundles from `berth-runtime spec` (berth's default spec)
# over a busybox root file system on a tmpfs. The lifecycle part runs with
# berth-runtime and again with runc on the same bundles; crun is tried where
# it can run on this machine's cgroup layout.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (namespaces, mounts, cgroups)"
RUNTIME="$BUILD_DIR/src/runtime/berth-runtime"
INIT="$BUILD_DIR/src/runtime/berth-init"
PROBE="$BUILD_DIR/tests/integration/probe-syscalls"

setup_scratch
"$SOURCE_DIR/tests/lib/make-busybox-image" rootfs "$SCRATCH/rootfs" \
  || { echo "Bail out! cannot build the busybox root file system"; exit 1; }
cp "$PROBE" "$SCRATCH/rootfs/bin/probe-syscalls"
STATE=$SCRATCH/state
CGROUP_PREFIX=berth-test-$$
n_bundle=0

# bundle [SPEC OPTION...] -- COMMAND...: a bundle directory from berth's
# default spec; prints its path.
bundle() {
  n_bundle=$((n_bundle + 1))
  local dir=$SCRATCH/bundle$n_bundle
  mkdir -p "$dir"
  (cd "$dir" && "$RUNTIME" spec --rootfs "$SCRATCH/rootfs" "$@") || return 1
  echo "$dir"
}

# rt RUNTIME ARGS...: a runtime with this test's state root.
rt() { local r=$1; shift; "$r" --root "$STATE-$(basename "$r")" "$@"; }
brt() { rt "$RUNTIME" "$@"; }

state_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# --- the lifecycle, once per runtime ---------------------------------------
lifecycle() {
  local r=$1 name
  name=$(basename "$r")
  local b out pid status rc

  b=$(bundle --cgroups-path "/$CGROUP_PREFIX/$name-life" -- /bin/sleep 100)
  (cd "$b" && rt "$r" create --pid-file "$SCRATCH/$name.pid" "$name-life" </dev/null \
    >"$SCRATCH/$name-life.out" 2>&1); rc=$?
  [ $rc = 0 ] && ok "$name: create" || { not_ok "$name: create (exit $rc)"; diag "$(cat "$SCRATCH/$name-life.out")"; }
  out=$(rt "$r" state "$name-life")
  status=$(state_field status <<<"$out"); pid=$(state_field pid <<<"$out")
  [ "$status" = created ] && ok "$name: state says created" || not_ok "$name: state says created (got $status)"
  [ "$pid" = "$(cat "$SCRATCH/$name.pid" 2>/dev/null)" ] && [ -d "/proc/$pid" ] \
    && ok "$name: --pid-file holds the waiting init's pid" || not_ok "$name: --pid-file ($pid)"
  grep -q sleep "/proc/$pid/cmdline" 2>/dev/null && not_ok "$name: created container has not exec'd yet" \
    || ok "$name: created container has not exec'd yet"
  check "$name: start" rt "$r" start "$name-life"
  for _ in $(seq 1 50); do grep -q sleep "/proc/$pid/cmdline" 2>/dev/null && break; sleep 0.02; done
  assert_match "$name: state says running" '"status": "running"' "$(rt "$r" state "$name-life")"
  grep -q sleep "/proc/$pid/cmdline" && ok "$name: the process runs after start" \
    || not_ok "$name: the process runs after start"
  out=$(rt "$r" exec "$name-life" /bin/sh -c 'echo "pid $$"; grep CapEff /proc/self/status; exit 4' 2>&1); rc=$?
  [ $rc = 4 ] && ok "$name: exec returns the new process's exit status" || not_ok "$name: exec exit status (got $rc)"
  assert_match "$name: exec runs in the container's pid namespace, not as PID 1" "^pid [2-9][0-9]*$" "$out"
  assert_match "$name: exec gets the bundle's capabilities" $'CapEff:\t00000000a80425fb' "$out"
  out=$(rt "$r" delete "$name-life" 2>&1); rc=$?
  [ $rc != 0 ] && ok "$name: delete refuses a running container" || not_ok "$name: delete refuses a running container"
  check "$name: kill KILL" rt "$r" kill "$name-life" KILL
  for _ in $(seq 1 100); do rt "$r" state "$name-life" | grep -q '"stopped"' && break; sleep 0.02; done
  assert_match "$name: state says stopped after SIGKILL" '"status": "stopped"' "$(rt "$r" state "$name-life")"
  check "$name: delete a stopped container" rt "$r" delete "$name-life"
  out=$(rt "$r" state "$name-life" 2>&1); rc=$?
  [ $rc != 0 ] && ok "$name: no state after delete" || not_ok "$name: no state after delete"
  [ ! -e "/sys/fs/cgroup/unified/$CGROUP_PREFIX/$name-life" ] && [ ! -e "/sys/fs/cgroup/$CGROUP_PREFIX/$name-life" ] \
    && ok "$name: delete removes the cgroup" || not_ok "$name: delete removes the cgroup"

  # kill by number, delete --force of a running container
  b=$(bundle -- /bin/sleep 100)
  (cd "$b" && rt "$r" run -d "$name-force" </dev/null >/dev/null 2>&1)
  check "$name: kill with a signal number" rt "$r" kill "$name-force" 9
  (cd "$b" && rt "$r" run -d "$name-force2" </dev/null >/dev/null 2>&1)
  check "$name: delete --force stops and removes a running container" rt "$r" delete --force "$name-force2"
  rt "$r" delete --force "$name-force" >/dev/null 2>&1

  # exit codes through run
  for spec in "0:exit 0" "1:exit 1" "137:kill -9 \$\$" "3:exit 3"; do
    want=${spec%%:*}
    # PID 1 ignores even SIGKILL from inside its namespace: berth-init runs the shell.
    b=$(bundle --init "$INIT" -- /bin/sh -c "${spec#*:}")
    (cd "$b" && rt "$r" run "$name-exit$want" </dev/null >/dev/null 2>&1); rc=$?
    [ "$rc" = "$want" ] && ok "$name: run exits $want for \"${spec#*:}\"" \
      || not_ok "$name: run exits $want for \"${spec#*:}\" (got $rc)"
  done
  b=$(bundle -- /bin/sleep 100)
  (cd "$b" && rt "$r" run "$name-exit137k" </dev/null >/dev/null 2>&1) &
  local run_pid=$!
  for _ in $(seq 1 100); do rt "$r" state "$name-exit137k" 2>/dev/null | grep -q '"running"' && break; sleep 0.02; done
  rt "$r" kill "$name-exit137k" KILL
  wait "$run_pid"; rc=$?
  [ "$rc" = 137 ] && ok "$name: run exits 137 when the container gets SIGKILL" \
    || not_ok "$name: run exits 137 when the container gets SIGKILL (got $rc)"
  b=$(bundle --init "$INIT" -- /bin/no-such-program)
  (cd "$b" && rt "$r" run "$name-exit127" </dev/null >/dev/null 2>"$SCRATCH/err"); rc=$?
  [ "$rc" = 127 ] && ok "$name: a missing command exits 127 (berth-init)" \
    || { not_ok "$name: a missing command exits 127 (got $rc)"; diag "$(cat "$SCRATCH/err")"; }

  # stdout and stderr stay apart
  b=$(bundle -- /bin/sh -c 'echo to-out; echo to-err >&2')
  (cd "$b" && rt "$r" run "$name-streams" </dev/null >"$SCRATCH/out" 2>"$SCRATCH/err")
  [ "$(cat "$SCRATCH/out")" = to-out ] && [ "$(cat "$SCRATCH/err")" = to-err ] \
    && ok "$name: stdout and stderr stay separate" \
    || { not_ok "$name: stdout and stderr stay separate"; diag "out: $(cat "$SCRATCH/out") err: $(cat "$SCRATCH/err")"; }

  # the default spec's confinement, seen from inside
  b=$(bundle -- /bin/sh -c 'grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status; /bin/probe-syscalls;
    mount -t tmpfs none /mnt 2>&1; echo "mount-rc $?"; unshare -u true 2>&1; echo "unshare-rc $?"')
  out=$( (cd "$b" && rt "$r" run "$name-sec" </dev/null 2>&1) )
  assert_match "$name: CapEff is Docker's default set" $'CapEff:\t00000000a80425fb' "$out"
  assert_match "$name: CapBnd is Docker's default set" $'CapBnd:\t00000000a80425fb' "$out"
  assert_match "$name: NoNewPrivs is set" $'NoNewPrivs:\t1' "$out"
  assert_match "$name: a seccomp filter is loaded" $'Seccomp:\t2' "$out"
  local denied=""
  for sc in keyctl add_key request_key mount umount2 pivot_root unshare setns bpf perf_event_open \
      userfaultfd open_by_handle_at reboot swapon swapoff acct settimeofday kexec_load init_module \
      finit_module delete_module; do
    grep -qx "$sc EPERM" <<<"$out" || denied="$denied $sc($(grep "^$sc " <<<"$out" | cut -d' ' -f2))"
  done
  [ -z "$denied" ] && ok "$name: 22 syscalls of the deny list fail with EPERM" \
    || { not_ok "$name: syscalls fail with EPERM"; diag "not EPERM:$denied"; }
  assert_match "$name: ordinary syscalls still work" "^getpid ok$" "$out"
  assert_match "$name: mount(8) fails" "mount-rc [1-9]" "$out"
  assert_match "$name: unshare(1) fails with EPERM" "unshare.*Operation not permitted" "$out"
}

lifecycle "$RUNTIME"
if command -v runc >/dev/null; then
  lifecycle "$(command -v runc)"
else
  not_ok "runc is installed (tools/install-deps installs it)"
fi

# --- berth-runtime specifics ------------------------------------------------
b=$(bundle -- /bin/sh -c '
  for p in /proc/kcore /proc/keys /proc/timer_list; do [ -e $p ] && echo "masked $p $(stat -c %t:%T $p) $(wc -c < $p)"; done
  echo "firmware $(ls /sys/firmware | wc -l)"
  cat /proc/sys/kernel/domainname > /proc/sys/kernel/domainname 2>/dev/null; echo "procsys-rc $?"
  touch /sys/berth-probe 2>/dev/null; echo "sys-rc $?"
  mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem >/dev/null 2>&1; echo "mem-rc $?"
  echo x > /dev/null && head -c 1 /dev/urandom >/dev/null && echo "null-ok"
  echo "nofile $(ulimit -Hn)"
  echo "pid1 $$"')
out=$( (cd "$b" && brt run paths </dev/null 2>&1) )
if [ -e /proc/kcore ]; then
  assert_match "/proc/kcore is masked" "masked /proc/kcore 1:3 0" "$out"
else
  ok "/proc/kcore is masked # SKIP this kernel has no /proc/kcore"
fi
assert_match "/proc/keys is masked with /dev/null" "masked /proc/keys 1:3 0" "$out"
assert_match "/proc/timer_list is masked with /dev/null" "masked /proc/timer_list 1:3 0" "$out"
assert_match "/sys/firmware is masked with an empty tmpfs" "firmware 0" "$out"
assert_match "/proc/sys is read-only (rewriting a value fails)" "procsys-rc 1" "$out"
assert_match "/sys is read-only" "sys-rc 1" "$out"
assert_match "device rules: a node made with mknod cannot be opened" "mem-rc 1" "$out"
assert_match "device rules: the standard nodes work" "null-ok" "$out"
assert_match "rlimits are capped at the caller's hard limit" "nofile $(ulimit -Hn)" "$out"
assert_match "the process is PID 1" "pid1 1$" "$out"

b=$(bundle --hostname exec-box -e FROM=bundle -- /bin/sleep 100)
(cd "$b" && brt run -d ex </dev/null >/dev/null 2>&1)
out=$(brt exec -e EXTRA=1 --cwd /tmp -u 65534:65534 ex /bin/sh -c 'echo "$(hostname) $FROM $EXTRA $(pwd) $(id -u):$(id -g)"' 2>&1)
assert_match "exec: the container's hostname, the bundle's env plus -e, --cwd, -u" "^exec-box bundle 1 /tmp 65534:65534$" "$out"
brt exec -d --pid-file "$SCRATCH/exec.pid" ex /bin/sleep 100 </dev/null >"$SCRATCH/exec.out" 2>&1; rc=$?
out=$(cat "$SCRATCH/exec.out")
[ $rc = 0 ] && grep -q sleep "/proc/$(cat "$SCRATCH/exec.pid" 2>/dev/null)/cmdline" 2>/dev/null \
  && ok "exec -d leaves the process running, its pid in --pid-file" || not_ok "exec -d (exit $rc): $out"
grep -q "/berth-runtime/ex$" "/proc/$(cat "$SCRATCH/exec.pid" 2>/dev/null)/cgroup" 2>/dev/null \
  && ok "exec puts the process in the container's cgroup" \
  || { not_ok "exec puts the process in the container's cgroup"; diag "$(cat "/proc/$(cat "$SCRATCH/exec.pid")/cgroup" 2>&1)"; }
expect_fail "exec of a missing program exits 127, as a shell" 127 'executable file "nope" not found' brt exec ex nope
expect_fail "exec of a file that is not executable exits 126" 126 'cannot execute /etc/passwd: Permission denied' brt exec ex /etc/passwd
check "kill --all reaches exec'd processes too" brt kill --all ex KILL
for _ in $(seq 1 200); do brt state ex | grep -q '"stopped"' && break; sleep 0.02; done
check "delete after kill --all" brt delete ex
expect_fail "exec in a deleted container" 1 'container ex does not exist' brt exec ex /bin/true

echo passed-fd > "$SCRATCH/fd3"
b=$(bundle -- /bin/sh -c 'cat <&3; ls /proc/self/fd | wc -l')
out=$( (cd "$b" && brt run --preserve-fds 1 pfd </dev/null 3<"$SCRATCH/fd3" 2>&1) )
assert_match "--preserve-fds passes fd 3" "^passed-fd$" "$out"
assert_match "and no other descriptor leaks in (0, 1, 2, 3 and ls's own)" "^5$" "$out"

host_name=$(hostname)
b=$(bundle --hostname berth-box --cwd /tmp --user 65534:65534 -e FOO=bar -- /bin/sh -c \
  'echo "host $(hostname) cwd $(pwd) uid $(id -u):$(id -g) foo $FOO"; grep CapEff /proc/self/status')
out=$( (cd "$b" && brt run who </dev/null 2>&1) )
assert_match "hostname, cwd, user and env apply" "host berth-box cwd /tmp uid 65534:65534 foo bar" "$out"
assert_match "a non-root user has no effective capabilities" $'CapEff:\t0000000000000000' "$out"
[ "$(hostname)" = "$host_name" ] && ok "the host's hostname is unchanged" || not_ok "the host's hostname is unchanged"

b=$(bundle --readonly -- /bin/sh -c 'touch /berth-probe 2>&1; echo "rc $?"; touch /tmp/ok && echo tmp-ok')
out=$( (cd "$b" && brt run ro </dev/null 2>&1) )
assert_match "a read-only root file system refuses writes" "Read-only file system" "$out"

# resources: cgroupfs here (no systemd); the systemd form maps to the same place
b=$(bundle --memory 33554432 --pids-limit 20 --cpus 0.5 --cgroups-path "machine.slice:$CGROUP_PREFIX:res" -- /bin/sleep 100)
(cd "$b" && brt run -d res </dev/null >/dev/null 2>&1)
scope=machine.slice/$CGROUP_PREFIX-res.scope
case "$(stat -fc %T /sys/fs/cgroup)" in
  cgroup2fs)
    assert_match "memory limit in memory.max" "^33554432$" "$(cat /sys/fs/cgroup/$scope/memory.max 2>&1)"
    assert_match "pids limit in pids.max" "^20$" "$(cat /sys/fs/cgroup/$scope/pids.max 2>&1)"
    assert_match "cpu quota in cpu.max" "^50000 100000$" "$(cat /sys/fs/cgroup/$scope/cpu.max 2>&1)"
    ;;
  *)
    assert_match "the systemd-form path becomes $scope" "." "$(cat /sys/fs/cgroup/unified/$scope/cgroup.procs 2>&1)"
    assert_match "memory limit in memory.limit_in_bytes" "^33554432$" "$(cat /sys/fs/cgroup/memory/$scope/memory.limit_in_bytes 2>&1)"
    assert_match "pids limit in pids.max" "^20$" "$(cat /sys/fs/cgroup/pids/$scope/pids.max 2>&1)"
    assert_match "cpu quota in cpu.cfs_quota_us" "^50000$" "$(cat /sys/fs/cgroup/cpu/$scope/cpu.cfs_quota_us 2>&1)"
    ;;
esac
check "kill --all" brt kill --all res KILL
for _ in $(seq 1 100); do brt state res | grep -q '"stopped"' && break; sleep 0.02; done
check "delete after kill --all" brt delete res
[ ! -e "/sys/fs/cgroup/unified/$scope" ] && [ ! -e "/sys/fs/cgroup/memory/$scope" ] && [ ! -e "/sys/fs/cgroup/$scope" ] \
  && ok "delete removes every cgroup it made" || not_ok "delete removes every cgroup it made"
rmdir "/sys/fs/cgroup/unified/machine.slice" "/sys/fs/cgroup/memory/machine.slice" "/sys/fs/cgroup/pids/machine.slice" \
  "/sys/fs/cgroup/cpu/machine.slice" "/sys/fs/cgroup/machine.slice" 2>/dev/null

# berth-init: exit status file, signal forwarding, zombie reaping
mkdir -p "$SCRATCH/status1" "$SCRATCH/status2" "$SCRATCH/status3"
b=$(bundle --init "$INIT" --status-dir "$SCRATCH/status1" -- /bin/sh -c 'exit 3')
(cd "$b" && brt run init3 </dev/null >/dev/null 2>&1); rc=$?
[ $rc = 3 ] && ok "berth-init exits with the command's status" || not_ok "berth-init exits with the command's status (got $rc)"
assert_match "berth-init writes the exit status file" '^\{"exitCode":3,"signal":0,"finishedAt":[0-9]+\}$' \
  "$(cat "$SCRATCH/status1/exit-status" 2>&1)"
[ -z "$(ls -A "$SCRATCH/status1" | grep -v '^exit-status$')" ] && ok "no temporary file is left beside it" \
  || not_ok "no temporary file is left beside it"
b=$(bundle --init "$INIT" --status-dir "$SCRATCH/status2" -- /bin/sh -c \
  'trap "echo got-term; exit 7" TERM; (sleep 0.2 &); sleep 0.5; ps -o stat,comm | grep -c "^Z" ; while :; do sleep 0.05; done')
(cd "$b" && brt run -d init7 </dev/null >"$SCRATCH/init7.out" 2>&1)
sleep 1
check "kill TERM reaches the command through berth-init" brt kill init7 TERM
for _ in $(seq 1 100); do [ -e "$SCRATCH/status2/exit-status" ] && break; sleep 0.02; done
assert_match "the command's TERM handler ran (exit 7 recorded)" '"exitCode":7,' "$(cat "$SCRATCH/status2/exit-status" 2>&1)"
assert_match "berth-init reaps orphaned zombies" "^0$" "$(head -1 "$SCRATCH/init7.out")"
brt delete --force init7 >/dev/null 2>&1
b=$(bundle --init "$INIT" --status-dir "$SCRATCH/status3" -- /bin/sleep 100)
(cd "$b" && brt run -d init137 </dev/null >/dev/null 2>&1)
brt kill init137 KILL
brt delete --force init137 >/dev/null 2>&1
[ ! -e "$SCRATCH/status3/exit-status" ] && ok "SIGKILL of PID 1 leaves no status (berthd learns it from the runtime)" \
  || not_ok "SIGKILL of PID 1 leaves no status"

# a terminal through --console-socket, driven like a user would
b=$(bundle --terminal -- /bin/sh -c 'tty; echo ready; read line; echo "got $line"; exit 5')
cat > "$SCRATCH/console.py" <<'PY'
import os, socket, subprocess, sys, time
runtime, root, bundle, sock_path = sys.argv[1:5]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sock_path); srv.listen(1); srv.settimeout(20)
create = subprocess.Popen([runtime, "--root", root, "create", "--bundle", bundle,
                           "--console-socket", sock_path, "tty1"])
conn, _ = srv.accept()
msg, fds, _, _ = socket.recv_fds(conn, 1024, 1)
master = fds[0]
print("name", msg.decode())
if create.wait(20) != 0:
    print("create failed"); sys.exit(1)
subprocess.run([runtime, "--root", root, "start", "tty1"], check=True)
out = b""
deadline = time.time() + 20
while b"ready" not in out and time.time() < deadline:
    out += os.read(master, 1024)
os.write(master, b"hello-pty\n")
while b"got hello-pty" not in out and time.time() < deadline:
    try:
        chunk = os.read(master, 1024)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
print(out.decode(errors="replace").replace("\r", ""))
PY
out=$(timeout 60 python3 "$SCRATCH/console.py" "$RUNTIME" "$STATE-berth-runtime" "$b" "$SCRATCH/console.sock" 2>&1)
assert_match "the pty master arrives over the console socket with its name" "^name /dev/pts/[0-9]+$" "$out"
assert_match "the process's stdio is the pty" "^/dev/pts/0$" "$out"
assert_match "input typed on the pty reaches the process" "got hello-pty" "$out"
for _ in $(seq 1 100); do brt state tty1 2>/dev/null | grep -q '"stopped"' && break; sleep 0.02; done
check "delete after the terminal session" brt delete tty1

# exec -t: a pty for a new process in a running container (berthctl exec -it)
b=$(bundle -- /bin/sleep 100)
(cd "$b" && brt run -d tty2 </dev/null >/dev/null 2>&1)
cat > "$SCRATCH/exec-tty.py" <<'PY'
import os, socket, subprocess, sys, time
runtime, root, sock_path = sys.argv[1:4]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sock_path); srv.listen(1); srv.settimeout(20)
p = subprocess.Popen([runtime, "--root", root, "exec", "-t", "--console-socket", sock_path, "tty2",
                      "/bin/sh", "-c", "tty; read x; echo got $x; exit 6"])
conn, _ = srv.accept()
msg, fds, _, _ = socket.recv_fds(conn, 1024, 1)
master = fds[0]
out = b""
deadline = time.time() + 20
while b"/dev/pts" not in out and time.time() < deadline:
    out += os.read(master, 1024)
os.write(master, b"typed\n")
while b"got typed" not in out and time.time() < deadline:
    try:
        chunk = os.read(master, 1024)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
print(out.decode(errors="replace").replace("\r", ""))
print("exit", p.wait(20))
PY
out=$(timeout 60 python3 "$SCRATCH/exec-tty.py" "$RUNTIME" "$STATE-berth-runtime" "$SCRATCH/exec.sock" 2>&1)
assert_match "exec -t: the process's stdio is a pty of the container" "^/dev/pts/[0-9]+$" "$out"
assert_match "exec -t: input typed on the pty reaches it" "got typed" "$out"
assert_match "exec -t: exec exits with the process's status" "^exit 6$" "$out"
brt delete --force tty2

# bad input: one clear line, the right exit code, nothing left behind
b=$(bundle -- /bin/true)
expect_fail "unknown command" 2 'unknown command "frob"' "$RUNTIME" frob
expect_fail "create without an id" 2 'missing argument' "$RUNTIME" --root "$STATE-x" create
expect_fail "state of an unknown container" 1 'container nope does not exist' brt state nope
expect_fail "an invalid id" 1 'invalid container id "../x"' brt state ../x
(cd "$b" && brt create dup </dev/null >/dev/null 2>&1)
expect_fail "create of an existing id" 1 'container dup already exists' brt create --bundle "$b" dup
expect_fail "an unknown signal" 1 'unknown signal "FROB"' brt kill dup FROB
expect_fail "exec in a container that was never started" 1 'cannot exec in container dup: it is created' \
  brt exec dup /bin/true
brt delete dup
b=$(bundle -- no-such-program)
expect_fail "a missing executable fails create" 1 'executable file "no-such-program" not found in \$PATH' \
  brt create --bundle "$b" missing
[ ! -e "$STATE-berth-runtime/missing" ] && ok "a failed create leaves no state" || not_ok "a failed create leaves no state"
mkdir -p "$STATE-berth-runtime/half"
expect_fail "the id of a create killed half-way is taken" 1 'container half already exists' brt create --bundle "$b" half
check "delete removes what such a create left" brt delete half
[ ! -e "$STATE-berth-runtime/half" ] && ok "and frees the id" || not_ok "and frees the id"
python3 - "$b/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["args"] = ["/bin/true"]
c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 10**7, "soft": 1024}]
json.dump(c, open(sys.argv[1], "w"))
PY
expect_fail "a hard rlimit above the caller's is refused" 1 "hard limit 10000000 is above the caller's" \
  brt create --bundle "$b" rlimit
b=$(bundle --terminal -- /bin/true)
expect_fail "a terminal needs --console-socket" 1 "pass --console-socket" brt create --bundle "$b" noconsole
echo '{"ociVersion": "1.0.2", "process": {' > "$SCRATCH/broken.json"
mkdir -p "$SCRATCH/broken"; cp "$SCRATCH/broken.json" "$SCRATCH/broken/config.json"
expect_fail "a malformed config.json" 1 "cannot load $SCRATCH/broken/config.json" brt create --bundle "$SCRATCH/broken" broken
b=$(bundle -- /bin/true)
brt --log "$SCRATCH/log.json" --log-format json state nope 2>/dev/null
assert_match "--log-format json writes JSON lines" '^\{"level":"error","msg":"container nope does not exist","time":"' \
  "$(cat "$SCRATCH/log.json")"
check "--systemd-cgroup is accepted" brt --systemd-cgroup list
assert_match "list shows nothing left over" "^ID" "$(brt list)"
[ "$(brt list | wc -l)" = 1 ] && ok "no container is left" || { not_ok "no container is left"; diag "$(brt list)"; }

# crun 1.8 refuses hybrid cgroups ("cgroups in hybrid mode not supported");
# it runs where the unified hierarchy offers no controllers.
if command -v crun >/dev/null; then
  b=$(bundle -- /bin/sh -c 'grep CapEff /proc/self/status')
  if [ "$(stat -fc %T /sys/fs/cgroup)" = tmpfs ] && [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers)" ]; then
    out=$(cd "$b" && crun --root "$STATE-crun" run crun1 </dev/null 2>&1)
    assert_match "crun refuses this hybrid layout as is" "hybrid" "$out"
    : > "$SCRATCH/empty"
    out=$(cd "$b" && unshare -m sh -c "mount --bind $SCRATCH/empty /sys/fs/cgroup/unified/cgroup.controllers &&
      crun --root $STATE-crun run crun2" </dev/null 2>&1)
    assert_match "crun runs the same bundle when cgroup.controllers looks empty" $'CapEff:\t00000000a80425fb' "$out"
  else
    out=$(cd "$b" && crun --root "$STATE-crun" run crun1 </dev/null 2>&1)
    assert_match "crun runs the same bundle" $'CapEff:\t00000000a80425fb' "$out"
  fi
fi

# The runtimes remove each container's cgroup; the test's own parent goes here.
for d in /sys/fs/cgroup/*/"$CGROUP_PREFIX" /sys/fs/cgroup/"$CGROUP_PREFIX"; do
  [ -d "$d" ] && rmdir "$d" 2>/dev/null
done
leftover=$(ls -d /sys/fs/cgroup/*/"$CGROUP_PREFIX" /sys/fs/cgroup/"$CGROUP_PREFIX" 2>/dev/null)
[ -z "$leftover" ] && ok "no cgroup is left behind" || { not_ok "no cgroup is left behind"; diag "$leftover"; }

finish
