#!/usr/bin/env bash
# Building images from Containerfiles with berthctl build, as a user does:
# multi-stage builds with COPY --from, ADD of a local tar and of a URL,
# .dockerignore, USER and WORKDIR seen from a container of the result, ENV
# and ARG, the layer cache (hits, and misses from the changed step on), a
# failing RUN and a canceled build leaving nothing behind, and errors.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (namespaces, mounts, cgroups)"
command -v python3 >/dev/null || skip_all "needs python3 (a local HTTP server)"
RUNTIME="$BUILD_DIR/src/runtime/berth-runtime"
INIT="$BUILD_DIR/src/runtime/berth-init"

setup_scratch
export BERTH_PULL_HELPER="$BUILD_DIR/src/pull/berth-pull"
HTTP_PID=
trap '[ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null; cleanup' EXIT
start_bus
printf '[runtime]\npath=%s\ninit=%s\n' "$RUNTIME" "$INIT" >"$SCRATCH/berth.conf"
start_berthd
"$SOURCE_DIR/tests/lib/make-busybox-image" tar "$SCRATCH/bb.tar.gz" \
  && bctl import "$SCRATCH/bb.tar.gz" busybox >/dev/null \
  || { echo "Bail out! cannot import busybox"; exit 1; }

assert_match "berthd lists build among its features" '"build"' "$(bctl info --json 2>&1)"

# build DIR ARGS...: runs berthctl build, keeps its output in $OUT and its
# exit status in $RC.
build() { OUT=$(bctl build "$@" 2>&1); RC=$?; }
runs() { grep -c "build [0-9]*: running container" "$BERTHD_LOG"; }
images() { bctl images -aq | sort; }
leftovers() {
  local n
  n=$(find "$ROOT/builds" -mindepth 1 2>/dev/null | wc -l)
  n=$((n + $(grep -c " $ROOT/builds\| $RUN_DIR/containers" /proc/self/mountinfo)))
  n=$((n + $(find "$RUN_DIR/containers" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)))
  echo "$n"
}

# --- a first build: every kind of step ---------------------------------------
C=$SCRATCH/app
mkdir -p "$C/src/lib" "$C/logs" "$C/data"
echo 'hello' >"$C/src/hello.txt"
echo 'lib' >"$C/src/lib/a.txt"
echo 'noise' >"$C/logs/debug.log"
echo 'secret' >"$C/secret.key"
echo 'keep' >"$C/data/keep.txt"
echo 'drop' >"$C/data/drop.txt"
printf 'logs\n*.key\ndata/*\n!data/keep.txt\n' >"$C/.dockerignore"
mkdir -p "$SCRATCH/tarsrc/pkg" && echo 'from tar' >"$SCRATCH/tarsrc/pkg/file.txt"
tar -C "$SCRATCH/tarsrc" -czf "$C/pkg.tar.gz" pkg
cat >"$C/Containerfile" <<'CF'
# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM ${BASE} AS builder
ARG GREETING=hello
ENV FROM_ARG=$GREETING \
    FIXED="two words"
WORKDIR /work
COPY src/ ./src/
RUN echo "builder: $GREETING" \
 && cat src/hello.txt src/lib/a.txt > combined.txt

FROM busybox
LABEL org.example.stage=final
COPY --from=builder /work/combined.txt /opt/combined.txt
ADD pkg.tar.gz /opt/
COPY . /ctx/
WORKDIR /srv/app
RUN touch created-in-workdir && chown 1000:1000 created-in-workdir
USER 1000:1000
ENV MODE=prod
CMD ["sh", "-c", "id -u; pwd; echo $MODE"]
CF

build "$C" -t app:1 --build-arg GREETING=howdy --label built-by=test
[ $RC = 0 ] && ok "multi-stage build succeeds" || { not_ok "multi-stage build succeeds"; diag "$OUT"; }
assert_match "steps are printed as STEP n/N" "^STEP 1/16: FROM \\\$\\{BASE\\} AS builder$" "$OUT"
assert_match "step 14 is printed with its instruction" "^STEP 15/16: ENV MODE=prod$" "$OUT"
assert_match "RUN output is shown, with the build argument" "^builder: howdy$" "$OUT"
assert_match "RUN steps name their container" "^---> Running in [0-9a-f]{12}$" "$OUT"
assert_match "every step ends with ---> and an ID" "^---> [0-9a-f]{12}$" "$OUT"
ID=$(tail -n1 <<<"$OUT")
[[ "$ID" =~ ^[0-9a-f]{64}$ ]] && ok "the image ID ends the output" || not_ok "the image ID ends the output ($ID)"
assert_match "the tag is reported" "^Successfully tagged app:1$" "$OUT"
assert_match "the image is listed under its tag" "^app +1 +${ID:0:12}" "$(bctl images)"
# Intermediate images (the steps' results) are hidden as Docker hides
# them, and listed with -a.
STEP15=$(grep -E '^---> [0-9a-f]{12}$' <<<"$OUT" | tail -n2 | head -n1 | cut -c6-)
if [ -n "$STEP15" ] && ! bctl images -q | grep -qx "$STEP15" && bctl images -aq | grep -qx "$STEP15"; then
  ok "images hides the intermediate image of step 15, images -a lists it"
else
  not_ok "images hides intermediate images, images -a lists them"; diag "$STEP15: $(bctl images -a)"
fi

OUT=$(bctl run --rm app:1 2>&1)
[ "$OUT" = "$(printf '1000\n/srv/app\nprod')" ] && ok "USER, WORKDIR and ENV hold in a container of the result" \
  || { not_ok "USER, WORKDIR and ENV hold in a container of the result"; diag "$OUT"; }
check "COPY --from brought the builder stage's file" \
  bash -c "[ \"\$($BERTHCTL run --rm app:1 cat /opt/combined.txt)\" = \"\$(printf 'hello\nlib')\" ]"
check "ADD extracted the local tar" \
  bash -c "[ \"\$($BERTHCTL run --rm app:1 cat /opt/pkg/file.txt)\" = 'from tar' ]"
OUT=$(bctl run --rm app:1 find /ctx -type f 2>&1 | sort | tr '\n' ' ')
[ "$OUT" = "/ctx/.dockerignore /ctx/Containerfile /ctx/data/keep.txt /ctx/pkg.tar.gz /ctx/src/hello.txt /ctx/src/lib/a.txt " ] \
  && ok ".dockerignore left out logs/, *.key and data/* except the ! exception" \
  || { not_ok ".dockerignore exclusions"; diag "$OUT"; }
OUT=$(bctl run --rm app:1 stat -c '%u %n' /srv/app/created-in-workdir 2>&1)
[ "$OUT" = "1000 /srv/app/created-in-workdir" ] && ok "RUN ran in the WORKDIR, which was created" \
  || { not_ok "RUN ran in the WORKDIR"; diag "$OUT"; }
OUT=$(bctl run --rm app:1 stat -c '%u:%g' /ctx/src/hello.txt 2>&1)
[ "$OUT" = "0:0" ] && ok "COPY writes files owned by root" || { not_ok "COPY owner"; diag "$OUT"; }
INSPECT=$(bctl image inspect app:1 2>&1)
assert_match "labels of the Containerfile are in the config" '"org.example.stage" *: *"final"' "$INSPECT"
assert_match "--label is in the config" '"built-by" *: *"test"' "$INSPECT"
assert_match "the builder stage's ENV did not reach the final image" '"MODE=prod"' "$INSPECT"
grep -q FROM_ARG <<<"$INSPECT" && not_ok "stage ENV isolation" || ok "stage ENV isolation"
LAYERS=$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)[0]["Layers"]))' <<<"$INSPECT" 2>&1)
[ "$LAYERS" = 6 ] && ok "only COPY, ADD, RUN and a created WORKDIR add layers (busybox's 1 + 5)" \
  || not_ok "layers of app:1: $LAYERS (wanted 6)"
EMPTY=$(python3 -c 'import json,sys; h=json.load(sys.stdin)[0]["History"]; print(sum(1 for e in h if e.get("EmptyLayer")))' <<<"$INSPECT" 2>&1)
[ "$EMPTY" -ge 5 ] && ok "metadata steps are history entries with empty_layer ($EMPTY)" \
  || { not_ok "empty_layer history entries: $EMPTY"; diag "$INSPECT"; }
HIST=$(bctl history --no-trunc app:1 2>&1)
assert_match "history records metadata steps" "#\(nop\) ENV MODE=prod" "$HIST"
assert_match "history records RUN steps" "/bin/sh -c touch created-in-workdir" "$HIST"
[ "$(leftovers)" = 0 ] && ok "no build container, mount or directory is left" || not_ok "leftovers: $(leftovers)"
[ -z "$(bctl ps -aq)" ] && ok "no container is left in ps -a" || not_ok "containers left: $(bctl ps -a)"

# --- the cache ------------------------------------------------------------------
before=$(runs)
start=$(date +%s%N)
build "$C" -t app:1 --build-arg GREETING=howdy --label built-by=test
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ $RC = 0 ] && [ "$(tail -n1 <<<"$OUT")" = "$ID" ] && ok "a rebuild with nothing changed gives the same image" \
  || { not_ok "a rebuild with nothing changed gives the same image"; diag "$OUT"; }
[ "$(grep -c -- '---> Using cache' <<<"$OUT")" = 13 ] && ok "every step but FROM and ARG is a cache hit" \
  || { not_ok "every step a cache hit"; diag "$OUT"; }
[ "$(runs)" = "$before" ] && ok "the rebuild ran no container" || not_ok "the rebuild ran $(( $(runs) - before )) containers"
# The structural facts above (no container, every step from the cache) are
# what the cache promises; the time is only a loose guard, the machine
# running the tests may be loaded (tests/bench/build measures it).
[ "$ms" -lt 5000 ] && ok "the rebuild took $ms ms (no step ran)" || not_ok "the rebuild took $ms ms"

echo 'hello again' >"$C/src/hello.txt"
before=$(runs)
build "$C" -t app:2 --build-arg GREETING=howdy --label built-by=test
hits=$(grep -B1 -- '---> Using cache' <<<"$OUT" | grep -c '^STEP')
assert_match "the changed file's COPY runs again" "STEP 5/16: COPY src/ ./src/"$'\n'"---> [0-9a-f]{12}" "$OUT"
[ $RC = 0 ] && [ "$hits" = 3 ] && ok "only the steps before the change and those not after it in their stage stay cached (3 hits)" \
  || { not_ok "cache after a change ($hits hits)"; diag "$OUT"; }
[ "$(( $(runs) - before ))" = 2 ] && ok "both RUN steps ran again (one per stage)" || not_ok "$(( $(runs) - before )) RUN containers"
check "the new image has the new content" \
  bash -c "$BERTHCTL run --rm app:2 cat /opt/combined.txt | grep -qx 'hello again'"

build "$C" -t app:3 --build-arg GREETING=other
assert_match "another build argument misses the cache from its use on" "builder: other" "$OUT"
build "$C" -q --no-cache --build-arg GREETING=howdy --label built-by=test
[ $RC = 0 ] && [[ "$OUT" =~ ^[0-9a-f]{64}$ ]] && ok "-q prints only the image ID (--no-cache runs everything)" \
  || { not_ok "-q output"; diag "$OUT"; }

# --- ENV and ARG ----------------------------------------------------------------
E=$SCRATCH/envarg
mkdir -p "$E"
cat >"$E/Containerfile" <<'CF'
FROM busybox
ARG V=default
ARG ONLY_ARG=argval
ENV V=env-wins
ENV FROM_ARG=${ONLY_ARG} WITH_DEFAULT=${MISSING:-fallback} ALT=${ONLY_ARG:+set}
RUN echo "run sees V=$V ONLY_ARG=$ONLY_ARG"
CMD ["sh", "-c", "echo V=$V FROM_ARG=$FROM_ARG WITH_DEFAULT=$WITH_DEFAULT ALT=$ALT ONLY_ARG=${ONLY_ARG:-unset}"]
CF
build "$E" -t envarg --build-arg V=cli --build-arg ONLY_ARG=given
assert_match "RUN sees ARGs, and ENV over ARG" "^run sees V=env-wins ONLY_ARG=given$" "$OUT"
OUT=$(bctl run --rm envarg 2>&1)
[ "$OUT" = "V=env-wins FROM_ARG=given WITH_DEFAULT=fallback ALT=set ONLY_ARG=unset" ] \
  && ok "ENV substitutes ARGs, defaults and alternatives; ARGs stay out of the image" \
  || { not_ok "ENV and ARG interaction"; diag "$OUT"; }
build "$E" -t envarg2 --build-arg NOT_DECLARED=1
assert_match "an undeclared build argument is warned about" "NOT_DECLARED" "$OUT"

# --- COPY's rules, SHELL, USER by name, the rest of the config --------------------
R=$SCRATCH/rules
mkdir -p "$R/dir/sub"
echo a >"$R/a.txt"; echo b >"$R/b.txt"; echo c >"$R/c.md"; echo s >"$R/dir/sub/s.txt"
cat >"$R/Containerfile" <<'CF'
FROM busybox
COPY a.txt /file-renamed
COPY a.txt /into-dir/
COPY *.txt /globbed/
COPY dir /dir-contents
COPY --chown=nobody:nogroup --chmod=0640 b.txt /owned
COPY --from=busybox /etc/group /from-image/
SHELL ["/bin/busybox", "sh", "-c"]
RUN echo "shell is $0" > /shell
USER nobody
RUN id -u > /tmp/uid
EXPOSE 8080/tcp 53/udp
VOLUME /data
STOPSIGNAL SIGINT
HEALTHCHECK --interval=30s CMD true
ONBUILD RUN echo child
CF
build "$R" -t rules
[ $RC = 0 ] && ok "a build with COPY's path rules succeeds" || { not_ok "COPY rules build"; diag "$OUT"; }
# (-u 0: berthctl run takes numeric users only; the build resolved the name.)
OUT=$(bctl run --rm -u 0 rules sh -c 'cat /file-renamed /into-dir/a.txt; ls /globbed | tr "\n" " "; ls -R /dir-contents | tr "\n" " "; stat -c "%U:%G %a" /owned; cat /shell /tmp/uid; grep -c nogroup /from-image/group' 2>&1)
EXPECTED='a
a
a.txt b.txt /dir-contents: sub  /dir-contents/sub: s.txt nobody:nogroup 640
shell is sh
65534
1'
[ "$OUT" = "$EXPECTED" ] && ok "file to file, file into dir/, globs, a directory's contents, --chown names, --chmod, COPY --from an image, SHELL, USER by name" \
  || { not_ok "COPY rules, SHELL and USER"; diag "$OUT"; }
INSPECT=$(bctl image inspect rules 2>&1)
missing=
for want in '"8080/tcp"' '"53/udp"' '"/data"' '"StopSignal" *: *"SIGINT"' '"Healthcheck"' '"Interval" *: *30000000000' '"RUN echo child"' '"/bin/busybox"'; do
  grep -qE -- "$want" <<<"$INSPECT" || missing="$missing $want"
done
[ -z "$missing" ] && ok "EXPOSE, VOLUME, STOPSIGNAL, HEALTHCHECK, ONBUILD and SHELL are in the image config" \
  || { not_ok "the config lacks$missing"; diag "$INSPECT"; }
mkdir -p "$SCRATCH/onbuild"
printf 'FROM rules\nRUN true\n' >"$SCRATCH/onbuild/Containerfile"
build "$SCRATCH/onbuild"
assert_match "a base's ONBUILD trigger runs right after FROM" "Running ONBUILD trigger: RUN echo child"$'\n'"---> Running in [0-9a-f]{12}"$'\n'"child" "$OUT"
CHILD=$(bctl image inspect "$(tail -n1 <<<"$OUT")" 2>&1)
grep -q '"Id"' <<<"$CHILD" && ! grep -q '"RUN echo child"' <<<"$CHILD" \
  && ok "the child image does not keep the base's triggers" || { not_ok "child image triggers"; diag "$CHILD"; }
printf 'FROM busybox\nRUN mkdir /vol && echo before > /vol/before\nVOLUME /vol\nRUN echo dropped > /vol/x && echo kept > /kept\n' >"$R/Containerfile"
build "$R" -t vol
[ $RC = 0 ] || diag "$OUT"
OUT=$(bctl run --rm vol sh -c 'cat /kept; ls /vol' 2>&1)
[ "$OUT" = "$(printf 'kept\nbefore')" ] && ok "what RUN writes under a VOLUME path after VOLUME is not kept, as in Docker" \
  || { not_ok "RUN under VOLUME"; diag "$OUT"; }
printf 'FROM busybox\nCOPY a.txt b.txt /no-slash\n' >"$R/Containerfile"
build "$R"
assert_match "several sources need a directory destination ending in /" "destination must be a directory ending in /" "$OUT"

DIGEST=$(bctl image inspect busybox | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Digest"])')
mkdir -p "$SCRATCH/bydigest"
printf 'FROM busybox@%s\nCMD ["echo", "by digest"]\n' "$DIGEST" >"$SCRATCH/bydigest/Containerfile"
build "$SCRATCH/bydigest" -t bydigest
[ $RC = 0 ] && [ "$(bctl run --rm bydigest 2>&1)" = "by digest" ] && ok "FROM by digest" \
  || { not_ok "FROM by digest"; diag "$OUT"; }

# --- --target, -f, stdin, scratch -----------------------------------------------
build "$C" --target builder -t builder-only --build-arg GREETING=howdy
check "--target builds only up to that stage" \
  bash -c "$BERTHCTL run --rm builder-only cat /work/combined.txt >/dev/null && ! $BERTHCTL run --rm builder-only test -e /opt/combined.txt"
S=$SCRATCH/other
mkdir -p "$S/sub"
printf 'FROM scratch\nCOPY hello /hello\nCMD ["/hello"]\n' >"$S/sub/Build.file"
echo hi >"$S/hello"
build "$S" -f "$S/sub/Build.file" -t scratchy
[ $RC = 0 ] && ok "-f names a Containerfile in the context; FROM scratch works" || { not_ok "-f and scratch"; diag "$OUT"; }
assert_match "the scratch image has the COPY layer" "COPY hello /hello" "$(bctl history --no-trunc scratchy 2>&1)"
OUT=$(tar -C "$E" -cf - . | bctl build -q - 2>&1); RC=$?
[ $RC = 0 ] && [[ "$OUT" =~ ^[0-9a-f]{64}$ ]] && ok "a context tar on stdin (-) builds" || { not_ok "stdin context"; diag "$OUT"; }

# --- ADD of a URL ----------------------------------------------------------------
PORT=5321
mkdir -p "$SCRATCH/www" && echo "over http" >"$SCRATCH/www/remote.txt"
(cd "$SCRATCH/www" && exec python3 -m http.server --bind 127.0.0.1 "$PORT" >/dev/null 2>&1) &
HTTP_PID=$!
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$PORT/remote.txt" >/dev/null && break; sleep 0.1; done
U=$SCRATCH/url
mkdir -p "$U"
printf 'FROM busybox\nADD http://127.0.0.1:%s/remote.txt /downloads/\nADD http://127.0.0.1:%s/missing.txt /x\n' "$PORT" "$PORT" >"$U/Containerfile"
build "$U" -t url
assert_match "a missing URL fails the build naming it" "step 3/3 .*missing.txt.*404" "$OUT"
printf 'FROM busybox\nADD http://127.0.0.1:%s/remote.txt /downloads/\n' "$PORT" >"$U/Containerfile"
build "$U" -t url
check "ADD fetched a URL into a directory" \
  bash -c "[ \"\$($BERTHCTL run --rm url cat /downloads/remote.txt)\" = 'over http' ]"
kill "$HTTP_PID" 2>/dev/null; HTTP_PID=

# --- FROM an image that is not stored: pulled ------------------------------------
REGPORT=5322
mkdir -p "$SCRATCH/reg"; : >"$SCRATCH/reg.conf"
printf 'buildpw\n' | "$BUILD_DIR/src/registry/berth-registry" --config "$SCRATCH/reg.conf" \
  --root "$SCRATCH/reg" user add builder >/dev/null
"$BUILD_DIR/src/registry/berth-registry" --config "$SCRATCH/reg.conf" --root "$SCRATCH/reg" \
  --listen "127.0.0.1:$REGPORT" >"$SCRATCH/reg.log" 2>&1 &
REG_PID=$!
_pids+=("$REG_PID")
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$REGPORT/v2/" && break; sleep 0.05; done
REMOTE=127.0.0.1:$REGPORT/builder/base:1
P=$SCRATCH/pulled
mkdir -p "$P"
printf 'FROM %s\nRUN echo on the pulled base\n' "$REMOTE" >"$P/Containerfile"
if printf 'buildpw\n' | bctl login -u builder --password-stdin "127.0.0.1:$REGPORT" >/dev/null 2>&1 \
   && bctl tag busybox "$REMOTE" && bctl push -q "$REMOTE" >/dev/null 2>&1 && bctl rmi "$REMOTE" >/dev/null; then
  expect_fail "--pull=never does not pull a missing base" 1 "pull=never" bctl build --pull=never "$P"
  build "$P" -t on-pulled
  [ $RC = 0 ] && ok "a missing FROM image is pulled (--pull=missing)" || { not_ok "FROM pulls"; diag "$OUT"; }
  assert_match "the pull is reported in the step" "Pulling $REMOTE" "$OUT"
  build "$P" -t on-pulled
  grep -q "Pulling" <<<"$OUT" && not_ok "a stored base is not pulled again" || ok "a stored base is not pulled again"
  build "$P" --pull=always -t on-pulled
  assert_match "--pull=always pulls a stored base again" "Pulling $REMOTE" "$OUT"
else
  not_ok "cannot push busybox to the test registry"; diag "$(cat "$SCRATCH/reg.log")"
fi
kill "$REG_PID" 2>/dev/null

# --- failures leave nothing behind ---------------------------------------------
F=$SCRATCH/fail
mkdir -p "$F"
printf 'FROM busybox\nRUN echo about to fail; exit 3\nRUN echo never\n' >"$F/Containerfile"
imgs=$(images)
build "$F" -t failing
[ $RC = 1 ] && ok "a failing RUN fails the build" || not_ok "failing RUN exit status $RC"
assert_match "the failing step and its status are named" "step 2/3 \(RUN echo about to fail; exit 3\) failed: the command exited with status 3" "$OUT"
assert_match "the failing step's output is shown" "^about to fail$" "$OUT"
[ "$(images)" = "$imgs" ] && ok "no image is left by the failed build" || not_ok "images changed: $(bctl images)"
[ "$(leftovers)" = 0 ] && [ -z "$(bctl ps -aq)" ] && ok "no container, mount or directory is left" \
  || not_ok "leftovers after failure: $(leftovers) $(bctl ps -a)"
OUT=$(bctl build -q "$F" 2>&1 >/dev/null)
assert_match "-q shows the failing step's output too" "about to fail" "$OUT"

printf 'FROM busybox\nRUN echo started; sleep 30\n' >"$F/Containerfile"
imgs=$(images)
# berthctl itself, not the bctl function: its subshell would not pass SIGINT on.
"$BERTHCTL" build "$F" -t canceled >"$SCRATCH/cancel.out" 2>&1 &
BPID=$!
for _ in $(seq 1 100); do grep -q '^started$' "$SCRATCH/cancel.out" && break; sleep 0.1; done
start=$(date +%s)
kill -INT $BPID
wait $BPID; RC=$?
took=$(( $(date +%s) - start ))
[ $RC = 1 ] && [ "$took" -lt 10 ] && ok "Ctrl-C cancels the build (in ${took}s)" || { not_ok "cancel: exit $RC in ${took}s"; diag "$(cat "$SCRATCH/cancel.out")"; }
assert_match "the cancellation is reported" "canceled$" "$(tail -n1 "$SCRATCH/cancel.out")"
sleep 0.5
[ "$(images)" = "$imgs" ] && [ "$(leftovers)" = 0 ] && [ -z "$(bctl ps -aq)" ] \
  && ok "a canceled build leaves no image, container, mount or directory" \
  || not_ok "leftovers after cancel: $(leftovers) $(bctl ps -a)"

# --- the quickstart's example --------------------------------------------------
build "$SOURCE_DIR/data/examples" -t hello --build-arg WHO=the-test
[ $RC = 0 ] && ok "data/examples builds" || { not_ok "data/examples builds"; diag "$OUT"; }
OUT=$(bctl run --rm hello 2>&1)
[ "$OUT" = "$(printf 'Hello from the-test: this image was built from a Containerfile.\nrunning as uid 1000 in /home/hello')" ] \
  && ok "the example image runs its command" || { not_ok "the example image runs"; diag "$OUT"; }

# --- berthd killed during a RUN step ------------------------------------------
bctl rmi -f app:3 >/dev/null 2>&1  # its cache entries are dropped at the next start
printf 'FROM busybox\nRUN echo started; sleep 60\n' >"$F/Containerfile"
"$BERTHCTL" build "$F" -t crashed >"$SCRATCH/crash.out" 2>&1 &
BPID=$!
for _ in $(seq 1 100); do grep -q '^started$' "$SCRATCH/crash.out" && break; sleep 0.1; done
CID=$(grep -o 'running container [0-9a-f]*' "$BERTHD_LOG" | tail -n1 | awk '{print $3}')
kill -9 "$BERTHD_PID"; wait "$BERTHD_PID" 2>/dev/null
wait $BPID; RC=$?
[ $RC = 1 ] && ok "berthctl build fails when berthd goes away" || { not_ok "berthctl after berthd died: $RC"; diag "$(cat "$SCRATCH/crash.out")"; }
assert_match "and says so" "berthd went away" "$(tail -n1 "$SCRATCH/crash.out")"
start_berthd
assert_match "the restarted berthd drops cache entries of removed images" "build cache: [0-9]+ entries of removed images dropped" "$(cat "$BERTHD_LOG")"
all_ids=$(bctl images -aq --no-trunc)
stale=0
for f in "$ROOT"/build-parents/*; do
  [ -e "$f" ] && ! grep -q "$(basename "$f")" <<<"$all_ids" && stale=$((stale + 1))
done
[ $stale = 0 ] && ok "and the parent records of removed images" || not_ok "$stale parent records of removed images left"
assert_match "the restarted berthd removes the lost build container" "removing container $CID of an interrupted build" "$(cat "$BERTHD_LOG")"
cg=$(ls -d /sys/fs/cgroup/unified/berth/"$CID"* 2>/dev/null)
[ -n "$CID" ] && [ -z "$cg" ] && [ "$(leftovers)" = 0 ] && [ -z "$(bctl ps -aq)" ] \
  && ok "its processes, cgroup, mounts and files are gone" || not_ok "after the crash: cgroup '$cg', leftovers $(leftovers)"

# --- berthd stopped during a RUN step ---------------------------------------------
printf 'FROM busybox\nRUN echo started; sleep 60\n' >"$F/Containerfile"
"$BERTHCTL" build "$F" -t stopped >"$SCRATCH/stop.out" 2>&1 &
BPID=$!
for _ in $(seq 1 100); do grep -q '^started$' "$SCRATCH/stop.out" && break; sleep 0.1; done
start=$(date +%s)
stop_berthd
took=$(( $(date +%s) - start ))
wait $BPID; RC=$?
[ $RC = 1 ] && [ "$took" -lt 10 ] && [ "$(leftovers)" = 0 ] \
  && ok "SIGTERM to berthd cancels a running build and cleans up (in ${took}s)" \
  || { not_ok "berthd stop during a build: exit $RC in ${took}s, leftovers $(leftovers)"; diag "$(cat "$SCRATCH/stop.out")"; }
start_berthd

# --- bad input -------------------------------------------------------------------
B=$SCRATCH/bad
mkdir -p "$B"
printf 'FROM busybox\nRUN true\nFROB x\n' >"$B/Containerfile"
expect_fail "an unknown instruction is named with its line" 1 "Containerfile: line 3: unknown instruction \"FROB\"" bctl build "$B"
printf 'FROM busybox\nCMD ["sh", \x27-c\x27]\n' >"$B/Containerfile"
expect_fail "a bad JSON form is named with its line" 1 "line 2: CMD: bad JSON form" bctl build "$B"
printf 'FROM busybox\nCOPY nothere /x\n' >"$B/Containerfile"
expect_fail "a missing COPY source is named" 1 "step 2/2 .*nothere: not found in the build context" bctl build "$B"
rm "$B/Containerfile"
expect_fail "a context without a Containerfile" 1 "no Containerfile and no Dockerfile" bctl build "$B"
printf 'FROM --platform=linux/s390x busybox\n' >"$B/Containerfile"
expect_fail "FROM --platform of another platform is refused" 1 "platform=linux/s390x: berth builds for this host's platform" bctl build "$B"
printf 'FROM --platform=$BUILDPLATFORM busybox\nCMD ["true"]\n' >"$B/Containerfile"
check "FROM --platform of the host's platform builds" bctl build -q "$B"
expect_fail "a context on stdin that is no tar" 1 "cannot read the build context" bash -c "echo garbage | '$BERTHCTL' build -"
expect_fail "a missing context directory" 1 "nope: No such file" bctl build "$SCRATCH/nope"
expect_fail "--pull takes three values" 2 "--pull takes missing, always or never" bctl build --pull=sometimes "$B"
printf 'FROM no-such-image-here\n' >"$B/Containerfile"
expect_fail "--pull=never with a missing image" 1 "pull=never" bctl build --pull=never "$B"
[ "$(leftovers)" = 0 ] && ok "bad input leaves nothing behind" || not_ok "leftovers after bad input: $(leftovers)"

stop_berthd
if grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$BERTHD_LOG"; then
  not_ok "berthd ran clean under the sanitizers"; diag "$(grep -A5 'Sanitizer\|runtime error' "$BERTHD_LOG" | head -40)"
else
  ok "berthd ran clean under the sanitizers (no leak at exit)"
fi
finish
