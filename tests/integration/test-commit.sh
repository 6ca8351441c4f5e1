#!/usr/bin/env bash
# commit, diff and export through berthctl and berthd, as a user runs them:
# deletions become whiteouts that hide the image's files in containers of
# the new image, additions and changes are there, a running container is
# frozen for the commit and keeps running, committed images survive
# save/load and a berthd restart, diff and export print exactly what
# changed and what is there, and bad input gets one clear error line.
. "$(dirname "$0")/lib.sh"

export BERTH_PULL_HELPER="$BUILD_DIR/src/pull/berth-pull"
setup_containers

import_busybox

field() { bctl inspect "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin)[0]
v=d
for k in sys.argv[1].split("."): v=v[k]
print(v)' "$2"; }
image_field() { bctl image inspect "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin)[0]
v=d
for k in sys.argv[1].split("."): v=v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v) if not isinstance(v, str) else v)' "$2"; }
state() { field "$1" State.Status 2>/dev/null; }

# --- a stopped container's changes --------------------------------------------
changes='rm /etc/group && rm -r /home && mkdir -p /opt/app && echo hello >/opt/app/new &&
echo changed >>/etc/passwd && ln -s /opt/app/new /opt/link && mkdir /root/.cfg &&
echo x >/root/.cfg/x'
out=$(bctl run --name c1 busybox sh -c "$changes" </dev/null 2>&1)
check "the container made its changes" [ "$(field c1 State.ExitCode)" = 0 ]

out=$(bctl diff c1 2>&1)
expected='C /etc
D /etc/group
C /etc/passwd
D /home
A /opt
A /opt/app
A /opt/app/new
A /opt/link
C /root
A /root/.cfg
A /root/.cfg/x'
[ "$out" = "$expected" ] && ok "diff lists exactly the changes, sorted" \
  || { not_ok "diff lists exactly the changes, sorted"; diag "$out"; }
out=$(bctl diff --json c1 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d), d[1]["Kind"], d[1]["Path"])')
[ "$out" = "11 D /etc/group" ] && ok "diff --json" || { not_ok "diff --json"; diag "$out"; }

id=$(bctl commit -m "first commit" -a "Ann <ann@example.org>" c1 committed:v1 2>&1); rc=$?
[ $rc = 0 ] && [[ "$id" =~ ^sha256:[0-9a-f]{64}$ ]] && ok "commit prints the new image's ID" \
  || { not_ok "commit prints the new image's ID"; diag "$id"; }
assert_match "images lists the committed image" "^committed +v1 +${id:7:12} " "$(bctl images)"
check "history has two entries" [ "$(bctl history --json committed:v1 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 2 ]
[ "$(image_field committed:v1 Config.author)" = "Ann <ann@example.org>" ] && ok "the config names the author" \
  || { not_ok "the config names the author"; diag "$(image_field committed:v1 Config.author)"; }
[ "$(image_field committed:v1 Config.history.1.author)" = "Ann <ann@example.org>" ] \
  && [ "$(image_field committed:v1 Config.history.1.comment)" = "first commit" ] \
  && ok "the history entry has author and message" || not_ok "the history entry has author and message"
assert_match "the history entry carries the message" '"Comment" ?: "first commit"' "$(bctl image inspect committed:v1)"
[ "$(image_field committed:v1 Config.config.Cmd)" = '["sh", "-c", "'"$(printf '%s' "$changes" | sed 's/"/\\"/g' | sed ':a;N;$!ba;s/\n/\\n/g')"'"]' ] \
  && ok "the config carries the container's command" \
  || { not_ok "the config carries the container's command"; diag "$(image_field committed:v1 Config.config.Cmd)"; }
layers=$(image_field committed:v1 Layers | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$layers" = 2 ] && ok "the new image has the base layer plus one" || { not_ok "two layers"; diag "$layers"; }
blob=$(ls "$ROOT"/images/blobs/sha256/ | while read -r h; do
  list=$(tar -tf "$ROOT/images/blobs/sha256/$h" 2>/dev/null)
  if grep -q '^etc/\.wh\.group$' <<<"$list"; then echo "$h"; fi; done)
[ -n "$blob" ] && ok "the layer blob is a plain tar with .wh. whiteouts" || { not_ok "the layer blob is a plain tar with .wh. whiteouts"; diag "$(ls -la "$ROOT"/images/blobs/sha256/)"; for f in "$ROOT"/images/blobs/sha256/*; do tar -tf "$f" 2>&1 | head -3; done; }
[ -n "$blob" ] && [ "sha256:$(sha256sum "$ROOT/images/blobs/sha256/$blob" | cut -c1-64)" = "sha256:$blob" ] \
  && [ "$(tar -tf "$ROOT/images/blobs/sha256/$blob" | sort)" = "$(printf '%s\n' etc/ etc/.wh.group etc/passwd .wh.home opt/ opt/app/ opt/app/new opt/link root/ root/.cfg/ root/.cfg/x | sort)" ] \
  && ok "the layer holds exactly the changes" \
  || { not_ok "the layer holds exactly the changes"; diag "$(tar -tvf "$ROOT/images/blobs/sha256/$blob" 2>&1)"; }

verify='test ! -e /etc/group && test ! -e /home && cat /opt/app/new && readlink /opt/link &&
tail -n 1 /etc/passwd && cat /root/.cfg/x && test -x /bin/busybox && echo ok'
want='hello
/opt/app/new
changed
x
ok'
run_verify() { bctl run --rm "$1" sh -c "$verify" </dev/null 2>&1; }
out=$(run_verify committed:v1)
[ "$out" = "$want" ] && ok "a container of the new image sees the changes, deleted files absent" \
  || { not_ok "a container of the new image sees the changes, deleted files absent"; diag "$out"; }
out=$(bctl run --rm committed:v1 </dev/null 2>&1; echo "rc=$?")
assert_match "the image runs the committed command by default" "rc=1" "$out"

# --- -c: Containerfile instructions on the new config ------------------------------
check "commit with changes" bctl commit -c 'CMD ["cat", "/opt/app/new"]' -c 'ENV GREETING=hi OTHER="a b"' \
  -c 'LABEL org.example.k=v' -c 'EXPOSE 8080/tcp' -c 'VOLUME /data' -c 'WORKDIR /opt/app' -c 'USER 1000:1000' \
  -c 'STOPSIGNAL SIGINT' c1 changed:v1
cfg=$(image_field changed:v1 Config.config)
out=$(python3 -c 'import json,sys; c=json.loads(sys.argv[1])
print(c["Cmd"], [e for e in c["Env"] if e.startswith(("GREETING","OTHER"))], c["Labels"]["org.example.k"],
      list(c["ExposedPorts"]), list(c["Volumes"]), c["WorkingDir"], c["User"], c["StopSignal"])' "$cfg" 2>&1)
[ "$out" = "['cat', '/opt/app/new'] ['GREETING=hi', 'OTHER=a b'] v /opt/app 1000:1000 SIGINT" ] \
  || [ "$out" = "['cat', '/opt/app/new'] ['GREETING=hi', 'OTHER=a b'] v ['8080/tcp'] ['/data'] /opt/app 1000:1000 SIGINT" ] \
  && ok "image inspect shows every change" || { not_ok "image inspect shows every change"; diag "$out"; }
assert_match "image labels show the LABEL change" '"org.example.k" ?: "v"' "$(image_field changed:v1 Labels)"
out=$(bctl run --rm changed:v1 </dev/null 2>&1)
[ "$out" = hello ] && ok "the changed CMD runs by default" || { not_ok "the changed CMD runs by default"; diag "$out"; }
out=$(bctl run --rm changed:v1 sh -c 'echo "$GREETING $(pwd) $(id -u 2>/dev/null)"' </dev/null 2>&1)
[ "$out" = "hi /opt/app 1000" ] && ok "ENV, WORKDIR and USER changes apply to new containers" \
  || { not_ok "ENV, WORKDIR and USER changes apply to new containers"; diag "$out"; }
check "ENTRYPOINT change" bctl commit -c 'ENTRYPOINT ["echo", "entry"]' c1 entry:v1
out=$(bctl run --rm entry:v1 </dev/null 2>&1)
[ "$out" = entry ] && ok "ENTRYPOINT clears the committed command" || { not_ok "ENTRYPOINT clears the committed command"; diag "$out"; }
n_images=$(bctl images -q | wc -l)
expect_fail "a RUN change is refused" 1 'RUN cannot be applied by a commit' bctl commit -c 'RUN true' c1 bad:v1
expect_fail "an unknown instruction is refused" 1 'change "FROB x"' bctl commit -c 'FROB x' c1 bad:v1
expect_fail "a malformed change is refused" 1 'change "CMD \[' bctl commit -c 'CMD ["unterminated' c1 bad:v1
[ "$(bctl images -q | wc -l)" = "$n_images" ] && ok "refused changes add no image" || not_ok "refused changes add no image"

# --- export ----------------------------------------------------------------------
check "export writes a tar" bctl export c1 -o "$SCRATCH/c1.tar"
(cd "$SCRATCH/bbroot" && find . -mindepth 1 | sed 's|^\./||') | grep -v -e '^etc/group$' -e '^home$' -e '^home/' \
  | cat - <(printf '%s\n' opt opt/app opt/app/new opt/link root/.cfg root/.cfg/x) | sort >"$SCRATCH/want.list"
tar -tf "$SCRATCH/c1.tar" | sed 's|/$||' | sort >"$SCRATCH/got.list"
if cmp -s "$SCRATCH/want.list" "$SCRATCH/got.list"; then ok "export holds exactly the image with the changes"
else not_ok "export holds exactly the image with the changes"; diag "$(diff "$SCRATCH/want.list" "$SCRATCH/got.list" | head -20)"; fi
out=$(tar -xOf "$SCRATCH/c1.tar" etc/passwd | tail -n 1)$(tar -xOf "$SCRATCH/c1.tar" opt/app/new)
[ "$out" = "changedhello" ] && ok "exported files have the container's content" || { not_ok "exported content"; diag "$out"; }
check "export to a pipe" sh -c "'$BERTHCTL' export c1 | tar -t | grep -qx 'opt/app/new'"
ls -a "$SCRATCH" | grep -q '^\.c1\.tar\.' && not_ok "export leaves no temporary file" || ok "export leaves no temporary file"
check "no mount is left in the run directory" sh -c "! grep -q '$RUN_DIR/commit-' /proc/self/mountinfo"

# --- a running container: frozen for the commit, running after -----------------
bctl run -d --name live busybox sh -c 'echo 1 >/data1; while true; do echo t >>/tmp/ticks; sleep 0.05; done' >/dev/null
for _ in $(seq 1 50); do bctl exec live test -e /data1 2>/dev/null && break; sleep 0.1; done
cg=/sys/fs/cgroup/unified/berth/$(field live Id)
id2=$(bctl commit live live:v1 2>&1); rc=$?
[ $rc = 0 ] && ok "commit of a running container" || { not_ok "commit of a running container"; diag "$id2"; }
grep -q "container live frozen for the commit" "$BERTHD_LOG" && grep -q "container live thawed" "$BERTHD_LOG" \
  && ok "it was frozen during the commit and thawed after" || not_ok "it was frozen during the commit and thawed after"
[ "$(cat "$cg/cgroup.freeze" 2>/dev/null)" = 0 ] && grep -q "frozen 0" "$cg/cgroup.events" \
  && ok "its cgroup is not frozen any more" || not_ok "its cgroup is not frozen any more"
n1=$(bctl exec live sh -c 'wc -l </tmp/ticks'); sleep 0.5; n2=$(bctl exec live sh -c 'wc -l </tmp/ticks')
[ "$(state live)" = running ] && [ "$n2" -gt "$n1" ] && ok "the container keeps running after the commit" \
  || not_ok "the container keeps running after the commit ($(state live), $n1 -> $n2)"
out=$(bctl run --rm live:v1 cat /data1 </dev/null 2>&1)
[ "$out" = 1 ] && ok "the running container's file is in the image" || { not_ok "running container's file"; diag "$out"; }
lines_before=$(grep -c "frozen for the commit" "$BERTHD_LOG")
check "commit --pause=false" bctl commit --pause=false live live:v2
[ "$(grep -c "frozen for the commit" "$BERTHD_LOG")" = "$lines_before" ] && [ "$(state live)" = running ] \
  && ok "--pause=false does not freeze" || not_ok "--pause=false does not freeze"
# Two commits of one container at once: the second is refused, not interleaved
# (its thaw would end the first's freeze). The data makes the first one last.
bctl exec live sh -c 'i=0; while [ $i -lt 30 ]; do head -c 10000000 /dev/zero >/big$i; i=$((i+1)); done' >/dev/null 2>&1
( bctl commit live live:big >"$SCRATCH/first.out" 2>&1; echo $? >"$SCRATCH/first.rc" ) &
first=$!
for _ in $(seq 1 100); do grep -q "container live frozen" <(tail -n 3 "$BERTHD_LOG") && break; sleep 0.01; done
expect_fail "a second commit while one runs is refused" 1 "being committed already" bctl commit live live:second
wait $first
[ "$(cat "$SCRATCH/first.rc")" = 0 ] && ok "the first commit completes" || { not_ok "the first commit completes"; diag "$(cat "$SCRATCH/first.out")"; }
bctl exec live sh -c 'rm /big*' >/dev/null 2>&1
bctl rmi live:big >/dev/null 2>&1
check "export of a running container" sh -c "'$BERTHCTL' export live | tar -t | grep -qx data1"

# A file name that is not UTF-8: diff shows it (with U+FFFD), commit keeps its bytes.
bctl run --name odd busybox sh -c 'touch "/$(printf "latin\351")"' </dev/null >/dev/null 2>&1
out=$(bctl diff odd 2>&1)
[ "$out" = "A /latin�" ] && ok "diff of a file name that is not UTF-8" || { not_ok "diff of a non-UTF-8 name"; diag "$out"; }
check "commit of a file name that is not UTF-8" bctl commit odd odd:v1
out=$(bctl run --rm odd:v1 sh -c 'for f in /latin*; do printf %s "$f" | od -c | head -1; done' </dev/null 2>&1)
assert_match "the name keeps its bytes in the image" "/ +l +a +t +i +n +351" "$out"

# --- a container that never ran: no changes --------------------------------------
bctl create --name fresh busybox true >/dev/null
out=$(bctl diff fresh 2>&1)
[ -z "$out" ] && ok "diff of a container that never ran is empty" || { not_ok "diff of a fresh container"; diag "$out"; }
check "commit of a container that never ran" bctl commit fresh fresh:v1
check "export of a container that never ran" sh -c "'$BERTHCTL' export fresh | tar -t | grep -qx bin/busybox"

# --- save/load and a berthd restart -------------------------------------------------
check "save the committed image" bctl save -o "$SCRATCH/committed.tar" committed:v1
check "remove it" bctl rmi committed:v1
check "load it back" bctl load -i "$SCRATCH/committed.tar"
[ "$(image_field committed:v1 Id)" = "$id" ] && ok "the loaded image has the same ID" \
  || { not_ok "the loaded image has the same ID"; diag "$(image_field committed:v1 Id)"; }
out=$(run_verify committed:v1)
[ "$out" = "$want" ] && ok "the loaded image has the changes and whiteouts" || { not_ok "loaded image content"; diag "$out"; }
bctl stop -t 1 live >/dev/null 2>&1
# What an export interrupted by a crash leaves: a mount under the run directory.
mkdir -p "$RUN_DIR/commit-leftover/root"
mount -t tmpfs leftover "$RUN_DIR/commit-leftover/root" && touch "$RUN_DIR/commit-leftover/root/x"
stop_berthd
start_berthd
! grep -q "$RUN_DIR/commit-leftover" /proc/self/mountinfo && [ ! -e "$RUN_DIR/commit-leftover" ] \
  && ok "berthd removes a leftover diff/export mount at start" || not_ok "berthd removes a leftover diff/export mount at start"
out=$(run_verify committed:v1)
[ "$out" = "$want" ] && ok "committed images survive a berthd restart" || { not_ok "after restart"; diag "$out"; }
check "diff still works after the restart" sh -c "'$BERTHCTL' diff c1 | grep -qx 'D /etc/group'"

# --- push to a registry and pull back ----------------------------------------------
REG=127.0.0.1:5450
: >"$SCRATCH/registry.conf"
printf 'alicepw\n' | "$BUILD_DIR/src/registry/berth-registry" --config "$SCRATCH/registry.conf" \
  --root "$SCRATCH/registry" user add alice >/dev/null 2>&1
"$BUILD_DIR/src/registry/berth-registry" --config "$SCRATCH/registry.conf" --root "$SCRATCH/registry" \
  --listen "$REG" >"$SCRATCH/registry.log" 2>&1 &
_pids+=($!)
for _ in $(seq 1 100); do grep -q "serving" "$SCRATCH/registry.log" && break; sleep 0.05; done
if grep -q "serving" "$SCRATCH/registry.log"; then
  echo alicepw | bctl login -u alice --password-stdin "$REG" >/dev/null 2>&1
  check "tag the committed image for the registry" bctl tag committed:v1 "$REG/alice/committed:v1"
  out=$(bctl push -q "$REG/alice/committed:v1" 2>&1)
  [ $? = 0 ] && ok "push of a committed image (its layer compressed on the way)" || { not_ok "push of a committed image"; diag "$out"; }
  check "remove it locally" bctl rmi "$REG/alice/committed:v1" committed:v1
  check "pull it back" bctl pull -q "$REG/alice/committed:v1"
  out=$(run_verify "$REG/alice/committed:v1")
  [ "$out" = "$want" ] && ok "the pulled image has the changes and whiteouts" || { not_ok "the pulled image"; diag "$out"; }
else
  not_ok "berth-registry starts on $REG"; diag "$(cat "$SCRATCH/registry.log")"
fi

# --- bad input ------------------------------------------------------------------------
expect_fail "commit of an unknown container" 1 "no such container|NoSuchContainer|not found" bctl commit nosuch
expect_fail "commit with an invalid name" 1 "invalid|Invalid" bctl commit c1 'Bad Name!'
expect_fail "commit with a digest as name" 1 "not a digest" bctl commit c1 "x@sha256:$(printf '0%.0s' $(seq 64))"
expect_fail "commit --pause=maybe" 2 "true or false" bctl commit --pause=maybe c1
expect_fail "commit without a container" 2 "no container" bctl commit
expect_fail "diff of an unknown container" 1 "no such container|NoSuchContainer|not found" bctl diff nosuch
expect_fail "export of an unknown container" 1 "no such container|NoSuchContainer|not found" bctl export nosuch -o "$SCRATCH/x.tar"
[ ! -e "$SCRATCH/x.tar" ] && ! ls -a "$SCRATCH" | grep -q '^\.x\.tar\.' && ok "a failed export leaves no file" \
  || not_ok "a failed export leaves no file"
expect_fail "export into a missing directory" 1 "cannot create" bctl export c1 -o "$SCRATCH/no/such/dir/x.tar"
n_images=$(bctl images -q | wc -l)
bctl commit c1 'Bad Name!' >/dev/null 2>&1
[ "$(bctl images -q | wc -l)" = "$n_images" ] && ok "a refused commit adds no image" || not_ok "a refused commit adds no image"
out=$(gdbus call --address "$BUS_ADDRESS" --dest org.berth.berth1 --object-path "/org/berth/berth1/container/$(field c1 Id)" \
  --method org.berth.berth1.Container.Commit '' "{'colour': <'blue'>}" 2>&1)
assert_match "unknown commit options are refused" "InvalidArgument.*colour" "$out"

grep -E "AddressSanitizer|runtime error" "$BERTHD_LOG" >/dev/null && { not_ok "no sanitizer reports in berthd's log"; diag "$(grep -A5 -E 'AddressSanitizer|runtime error' "$BERTHD_LOG" | head -20)"; } \
  || ok "no sanitizer reports in berthd's log"
bctl rm -f live >/dev/null 2>&1
finish
