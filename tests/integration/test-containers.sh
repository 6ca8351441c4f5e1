#!/usr/bin/env bash
# Containers through berthctl and berthd, as a user runs them: the lifecycle
# (with berth-runtime, then with runc), exit codes, streams, a terminal, the
# confinement seen from inside, restarts of berthd, many containers at once,
# and bad input. cgroupfs mode (no systemd here); tests/systemd covers the
# scopes, machined and the journal.
. "$(dirname "$0")/lib.sh"

setup_containers
PROBE="$BUILD_DIR/tests/integration/probe-syscalls"

# busybox, with the syscall probe in it
import_busybox "$PROBE"

field() { bctl inspect "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin)[0]
v=d
for k in sys.argv[1].split("."): v=v[k]
print(v)' "$2"; }
state() { field "$1" State.Status 2>/dev/null; }
# wait_state NAME STATE: polls for up to 10 s.
wait_state() { for _ in $(seq 1 100); do [ "$(state "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1; }

# --- the lifecycle, once per runtime --------------------------------------------
lifecycle() {
  local rt=$1 tag=$2 out rc id
  local ropt=()
  [ -n "$rt" ] && ropt=(--runtime "$rt")

  id=$(bctl create "${ropt[@]}" --name "life-$tag" busybox sleep 100 2>&1); rc=$?
  [ $rc = 0 ] && [[ "$id" =~ ^[0-9a-f]{64}$ ]] && ok "$tag: create prints the ID" \
    || { not_ok "$tag: create prints the ID"; diag "$id"; }
  assert_match "$tag: ps -a lists it as Created" "life-$tag" "$(bctl ps -a | grep ' created ')"
  [ -z "$(bctl ps -q)" ] || [ -z "$(bctl ps | grep "life-$tag")" ] && ok "$tag: ps leaves out containers not running" \
    || not_ok "$tag: ps leaves out containers not running"
  check "$tag: start" bctl start "life-$tag"
  [ "$(state "life-$tag")" = running ] && ok "$tag: running after start" || not_ok "$tag: running after start ($(state "life-$tag"))"
  assert_match "$tag: ps lists it as Up" "^${id:0:12} +busybox +\"sleep 100\" +.* +Up +life-$tag$" "$(bctl ps)"
  pid=$(field "life-$tag" State.Pid)
  grep -q "init" "/proc/$pid/cmdline" 2>/dev/null && ok "$tag: Pid is berth-init's host pid" \
    || not_ok "$tag: Pid is berth-init's host pid ($pid)"
  assert_match "$tag: top shows the command" "sleep 100" "$(bctl top "life-$tag")"
  out=$(bctl status "life-$tag")
  assert_match "$tag: status shows the state" "State: running since" "$out"
  assert_match "$tag: status shows the process tree" "└─[0-9]+ sleep 100" "$out"
  t0=$(date +%s%N)
  check "$tag: stop" bctl stop -t 5 "life-$tag"
  t1=$(date +%s%N)
  [ "$(state "life-$tag")" = exited ] && ok "$tag: exited after stop" || not_ok "$tag: exited after stop"
  [ "$(field "life-$tag" State.ExitCode)" = 143 ] && [ $(( (t1 - t0) / 1000000 )) -lt 4000 ] \
    && ok "$tag: stop ends it with SIGTERM (143) at once" \
    || not_ok "$tag: stop ends it with SIGTERM ($(field "life-$tag" State.ExitCode), $(( (t1 - t0) / 1000000 )) ms)"
  assert_match "$tag: ps -a shows Exited (143)" "Exited \(143\) +life-$tag$" "$(bctl ps -a)"
  check "$tag: start again" bctl start "life-$tag"
  check "$tag: restart" bctl restart "life-$tag"
  [ "$(state "life-$tag")" = running ] && ok "$tag: running after restart" || not_ok "$tag: running after restart"
  check "$tag: kill" bctl kill "life-$tag"
  wait_state "life-$tag" exited
  [ "$(field "life-$tag" State.ExitCode)" = 137 ] && ok "$tag: kill gives 137" \
    || not_ok "$tag: kill gives 137 (got $(field "life-$tag" State.ExitCode))"
  assert_match "$tag: wait prints the exit code" "^137$" "$(bctl wait "life-$tag")"
  check "$tag: rm" bctl rm "life-$tag"
  expect_fail "$tag: it is gone" 1 "no such container: life-$tag" bctl inspect "life-$tag"
  [ ! -e "$ROOT/containers/$id" ] && [ ! -e "$RUN_DIR/containers/$id" ] \
    && ok "$tag: rm removes its files" || not_ok "$tag: rm removes its files"
  [ ! -e "/sys/fs/cgroup/unified/berth/$id" ] && ok "$tag: its cgroup is gone" || not_ok "$tag: its cgroup is gone"

  # exit codes of attached runs
  for spec in "0:exit 0" "1:exit 1" "3:exit 3" "137:kill -9 \$\$"; do
    bctl run "${ropt[@]}" --rm busybox sh -c "${spec#*:}" </dev/null >/dev/null 2>&1; rc=$?
    [ "$rc" = "${spec%%:*}" ] && ok "$tag: run exits with ${spec%%:*} for '${spec#*:}'" \
      || not_ok "$tag: run exits with ${spec%%:*} for '${spec#*:}' (got $rc)"
  done
  bctl run "${ropt[@]}" --rm busybox /no/such/program </dev/null >/dev/null 2>&1; rc=$?
  [ $rc = 127 ] && ok "$tag: a missing command exits 127" || not_ok "$tag: a missing command exits 127 (got $rc)"
  bctl run "${ropt[@]}" --rm busybox /etc/passwd </dev/null >/dev/null 2>&1; rc=$?
  [ $rc = 126 ] && ok "$tag: a command that is not executable exits 126" || not_ok "$tag: not executable exits 126 (got $rc)"

  bctl run "${ropt[@]}" --rm busybox sh -c 'echo to-out; echo to-err >&2' >"$SCRATCH/out" 2>"$SCRATCH/err" </dev/null
  [ "$(cat "$SCRATCH/out")" = to-out ] && [ "$(cat "$SCRATCH/err")" = to-err ] \
    && ok "$tag: stdout and stderr stay apart" \
    || { not_ok "$tag: stdout and stderr stay apart"; diag "out: $(cat "$SCRATCH/out") err: $(cat "$SCRATCH/err")"; }
  out=$(echo piped-in | bctl run "${ropt[@]}" --rm -i busybox sh -c 'read l; echo "read $l"')
  assert_match "$tag: -i passes stdin" "^read piped-in$" "$out"
  [ -z "$(bctl ps -aq)" ] && ok "$tag: --rm leaves nothing" || { not_ok "$tag: --rm leaves nothing"; diag "$(bctl ps -a)"; }
}

lifecycle "" berth-runtime
if command -v runc >/dev/null; then
  lifecycle "$(command -v runc)" runc
else
  not_ok "runc is installed (tools/install-deps installs it)"
fi

diag "lifecycles took ${SECONDS}s"
# --- settings ------------------------------------------------------------------------
printf 'FROMFILE=yes\n# comment\n' >"$SCRATCH/env"
out=$(bctl run --rm -e FOO=bar --env-file "$SCRATCH/env" -w /tmp -u 65534:65534 -h boxy busybox \
  sh -c 'echo "foo=$FOO file=$FROMFILE cwd=$(pwd) id=$(id -u):$(id -g) host=$(hostname)"' 2>&1)
assert_match "-e, --env-file, -w, -u and -h apply" "^foo=bar file=yes cwd=/tmp id=65534:65534 host=boxy$" "$out"
out=$(bctl run --rm --entrypoint /bin/echo busybox hello entry 2>&1)
assert_match "--entrypoint runs with the command as arguments" "^hello entry$" "$out"
out=$(bctl run --rm --read-only busybox sh -c 'touch /x 2>&1; echo rc=$?' 2>&1)
assert_match "--read-only refuses writes" "Read-only file system" "$out"
out=$(bctl run --rm busybox sh -c 'ls /sys/class/net' 2>&1)
assert_match "the default network is loopback only" "^lo$" "$out"
out=$(bctl run --rm --network host busybox sh -c 'ls /sys/class/net | wc -l' 2>&1)
[ "$out" -ge "$(ls /sys/class/net | wc -l)" ] 2>/dev/null && ok "--network host shares the host's interfaces" \
  || not_ok "--network host shares the host's interfaces ($out)"
id=$(bctl run -d --name limited --memory 64m --pids-limit 30 --cpus 0.5 busybox sleep 100)
assert_match "--memory sets the memory limit" "^67108864$" "$(cat /sys/fs/cgroup/memory/berth/$id/memory.limit_in_bytes 2>&1)"
assert_match "--pids-limit sets pids.max" "^30$" "$(cat /sys/fs/cgroup/pids/berth/$id/pids.max 2>&1)"
assert_match "--cpus sets the CPU quota" "^50000$" "$(cat /sys/fs/cgroup/cpu/berth/$id/cpu.cfs_quota_us 2>&1)"
bctl rm -f limited >/dev/null

# logs of a detached run
id=$(bctl run -d --name talker busybox sh -c 'for i in 1 2 3 4 5; do echo line$i; done; echo oops >&2')
assert_match "wait on a detached run" "^0$" "$(bctl wait talker)"
assert_match "logs prints what it wrote" "line1.*line5.*oops" "$(bctl logs talker | tr '\n' ' ')"
assert_match "logs -n 2 prints the last two lines" "^line5 oops $" "$(bctl logs -n 2 talker | tr '\n' ' ')"
id=$(bctl run -d --name follower busybox sh -c 'echo first; sleep 1; echo second')
out=$(timeout 10 "$BERTHCTL" logs -f follower)
assert_match "logs -f follows until it exits" "first second" "$(tr '\n' ' ' <<<"$out")"
bctl rm talker follower >/dev/null
id=$(bctl run -d --rm busybox true)
for _ in $(seq 1 50); do bctl inspect "$id" >/dev/null 2>&1 || break; sleep 0.1; done
bctl inspect "$id" >/dev/null 2>&1 && not_ok "-d --rm removes it once it exits" || ok "-d --rm removes it once it exits"

# --- a terminal ------------------------------------------------------------------------
out=$(timeout 60 python3 "$SOURCE_DIR/tests/integration/drive-tty.py" "$BERTHCTL" run -it --rm busybox sh 2>&1)
assert_match "-it: the shell's stdin is a pty" "^/dev/pts/0$" "$out"
assert_match "-it: the terminal has the caller's size" "^33 101$" "$out"
assert_match "-it: typed input reaches the shell" "^MARK42$" "$out"
assert_match "-it: resizing the terminal reaches the container" "^40 120$" "$out"
assert_match "-it: run exits with the shell's status" "^EXIT 7$" "$out"

# Ctrl-C in an attached run reaches the command
"$BERTHCTL" run --rm --name sigint busybox sh -c 'trap "echo got-int; exit 9" INT; echo ready; for i in $(seq 1 100); do sleep 0.1; done' \
  >"$SCRATCH/sigint.out" 2>&1 </dev/null &
runpid=$!
for _ in $(seq 1 100); do grep -q ready "$SCRATCH/sigint.out" && break; sleep 0.05; done
kill -INT $runpid
wait $runpid; rc=$?
[ $rc = 9 ] && grep -q got-int "$SCRATCH/sigint.out" && ok "SIGINT to an attached run is forwarded" \
  || { not_ok "SIGINT to an attached run is forwarded (exit $rc)"; diag "$(cat "$SCRATCH/sigint.out")"; }

# --- exec ------------------------------------------------------------------------------
bctl run -d --name ex busybox sleep 300 >/dev/null
bctl exec ex sh -c 'echo exec-out; echo exec-err >&2; exit 4' >"$SCRATCH/out" 2>"$SCRATCH/err"; rc=$?
[ $rc = 4 ] && [ "$(cat "$SCRATCH/out")" = exec-out ] && [ "$(cat "$SCRATCH/err")" = exec-err ] \
  && ok "exec: streams apart and the command's exit status" \
  || { not_ok "exec: streams and exit status (exit $rc)"; diag "$(cat "$SCRATCH/out" "$SCRATCH/err")"; }
out=$(echo typed | bctl exec -i -e X=y -w /tmp ex sh -c 'read l; echo "$l $X $(pwd)"' 2>&1)
assert_match "exec -i -e -w: stdin, environment and working directory" "^typed y /tmp$" "$out"
assert_match "exec runs in the container's pid namespace" "sleep 300" "$(bctl exec ex ps 2>&1)"
out=$(bctl exec ex grep -E '^(CapEff|NoNewPrivs):' /proc/self/status 2>&1)
assert_match "exec: the same capabilities" $'CapEff:\t00000000a80425fb' "$out"
out=$(timeout 60 python3 "$SOURCE_DIR/tests/integration/drive-tty.py" "$BERTHCTL" exec -it ex sh 2>&1)
assert_match "exec -it: a shell on a pty, resized, with its exit status" "40 120.*EXIT 7" "$(tr '\n' ' ' <<<"$out")"
bctl stop -t 1 ex >/dev/null
expect_fail "exec in a stopped container" 125 'container ex is not running \(exited\); start it first' \
  bctl exec ex true
bctl rm ex >/dev/null

# --- confinement, seen from inside --------------------------------------------------------
out=$(bctl run --rm busybox sh -c 'grep -E "^(CapEff|NoNewPrivs):" /proc/self/status; /bin/probe-syscalls;
  mount -t tmpfs none /mnt 2>&1; echo "mount-rc $?"; unshare -u true 2>&1; echo "unshare-rc $?";
  for p in /proc/kcore /proc/keys; do [ -e $p ] && echo "masked $p $(wc -c < $p)"; done' 2>&1)
assert_match "CapEff is Docker's default set" $'CapEff:\t00000000a80425fb' "$out"
assert_match "NoNewPrivs is set" $'NoNewPrivs:\t1' "$out"
for sc in mount unshare keyctl; do
  assert_match "$sc fails with EPERM" "^$sc EPERM$" "$out"
done
assert_match "mount(8) fails" "mount-rc [1-9]" "$out"
assert_match "unshare(1) fails with EPERM" "unshare.*Operation not permitted" "$out"
if [ -e /proc/kcore ]; then
  assert_match "/proc/kcore is masked" "masked /proc/kcore 0" "$out"
else
  ok "/proc/kcore is masked # SKIP this kernel has no /proc/kcore"
fi
assert_match "/proc/keys is masked" "masked /proc/keys 0" "$out"

# --- bad input: one clear line, nothing changed --------------------------------------------
bctl run -d --name busy busybox sleep 100 >/dev/null
before=$(bctl ps -a --json)
expect_fail "an unknown image" 125 "no image nosuchimage|no such image" bctl run --rm nosuchimage true
expect_fail "a duplicate name" 1 'the name "busy" is in use' bctl create --name busy busybox true
expect_fail "an invalid name" 1 'invalid container name' bctl create --name '-x' busybox true
expect_fail "a bad signal name" 1 'unknown signal "NOPE"' bctl kill -s NOPE busy
expect_fail "rm of a running container without -f" 1 'busy is running; stop it first' bctl rm busy
expect_fail "an unknown container" 1 'no such container: nope' bctl stop nope
expect_fail "start of a running container" 1 'busy is running already' bctl start busy
expect_fail "a bad --memory" 125 'invalid --memory' bctl run --memory lots busybox true
expect_fail "an unknown option key over D-Bus" 1 'unknown container option "frob"' \
  gdbus call --address "$BUS_ADDRESS" --dest org.berth.berth1 --object-path /org/berth/berth1 \
  --method org.berth.berth1.Manager.CreateContainer busybox "['true']" "{'frob': <1>}"
[ "$(bctl ps -a --json)" = "$before" ] && ok "bad input changed nothing" \
  || { not_ok "bad input changed nothing"; diag "$(bctl ps -a)"; }
check "rm -f of a running container" bctl rm -f busy
assert_match "info counts containers" "^Containers: +0$" "$(bctl info 2>&1 | grep -E '^Containers:')"

diag "up to here: ${SECONDS}s"
# --- berthd is killed with 10 containers running; one exits meanwhile ----------------------
# A duration of this run's own, so other runs' sleeps on the machine do not count.
keep_secs=$((300 + $$ % 10000))
for i in $(seq 1 9); do bctl run -d --name keep$i busybox sleep $keep_secs >/dev/null; done
bctl run -d --name three busybox sh -c 'while [ ! -e /tmp/go ]; do sleep 0.1; done; exit 3' >/dev/null
three=$(field three Id)
assert_match "10 containers run" "^10$" "$(bctl ps -q | wc -l)"
kill -9 "$BERTHD_PID"; wait "$BERTHD_PID" 2>/dev/null
n=$(pgrep -f "^sleep $keep_secs\$" | wc -l)
[ "$n" = 9 ] && ok "containers keep running when berthd is killed" || not_ok "containers keep running when berthd is killed ($n)"
touch "$RUN_DIR/containers/$three/rootfs/tmp/go"
for _ in $(seq 1 50); do [ -e "$RUN_DIR/containers/$three/status/exit-status" ] && break; sleep 0.1; done
start_berthd
out=$(bctl ps -a)
assert_match "after the restart 9 still run" "^9$" "$(bctl ps -q | wc -l)"
assert_match "the exit meanwhile is known, with its code" "Exited \(3\) +three$" "$out"
check "a rediscovered container can be stopped" bctl stop -t 1 keep1
assert_match "... and its exit is noticed" "^143$" "$(bctl wait keep1)"
bctl kill keep2 >/dev/null
assert_match "a rediscovered container killed gives 137" "^137$" "$(bctl wait keep2)"
bctl rm -f $(bctl ps -aq) >/dev/null
[ -z "$(bctl ps -aq)" ] && ok "all removed" || not_ok "all removed"

# --- 50 containers at once -----------------------------------------------------------------
t0=$(date +%s%N)
runs=()
for i in $(seq 1 50); do
  "$BERTHCTL" run -d --name many$i busybox sleep 300 >/dev/null 2>"$SCRATCH/many$i.err" &
  runs+=($!)
done
wait "${runs[@]}"
t1=$(date +%s%N)
diag "50 concurrent detached runs took $(( (t1 - t0) / 1000000 )) ms"
n=$(bctl ps | grep -c ' Up  *many')
[ "$n" = 50 ] && ok "50 containers started concurrently all run and are listed" \
  || { not_ok "50 containers started concurrently all run ($n)"; diag "$(cat "$SCRATCH"/many*.err)"; }
bctl rm -f $(bctl ps -aq) >/dev/null
[ -z "$(bctl ps -aq)" ] && ok "rm -f of 50 at once" || not_ok "rm -f of 50 at once"
[ -z "$(ls "$RUN_DIR/containers")" ] && ok "no bundle is left" || not_ok "no bundle is left"

grep -E "CRITICAL|WARNING|runtime error|ERROR: AddressSanitizer" "$BERTHD_LOG" >"$SCRATCH/warnings"
[ ! -s "$SCRATCH/warnings" ] && ok "berthd logged no warnings" || { not_ok "berthd logged no warnings"; diag "$(head -20 "$SCRATCH/warnings")"; }
stop_berthd
finish
