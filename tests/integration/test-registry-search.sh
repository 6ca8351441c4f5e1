#!/usr/bin/env bash
# The searchable index: /v1/search by relevance, popularity and stars, with
# descriptions from pushes and from their owners, stars and pagination.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry-lib.sh"

setup_scratch
mkdir -p "$SCRATCH/r"; : > "$SCRATCH/empty.conf"
add_user r boss bosspw --admin
add_user r alice alicepw
add_user r bob bobpw
for u in u1 u2 u3; do add_user r $u pw; done
start_registry r 5140
ADM=(-u boss:bosspw)
D="$SCRATCH/data"; mkdir -p "$D"

printf '{"config":{}}' > "$D/config"; CFG=$(sha256 "$D/config")
printf 'layer' > "$D/layer"; LAYER=$(sha256 "$D/layer")
# push_repo NAME DESCRIPTION: a one-layer image whose manifest carries the description.
push_repo() {
  local name=$1 desc=$2 ann=""
  push_blob "$REG" "$name" "$D/config" "${ADM[@]}" >/dev/null
  push_blob "$REG" "$name" "$D/layer" "${ADM[@]}" >/dev/null
  [ -n "$desc" ] && ann=",\"annotations\":{\"org.opencontainers.image.description\":\"$desc\"}"
  image_manifest "$CFG" 13 "$LAYER" 5 "$ann" > "$D/m"
  curl -s -f -o /dev/null "${ADM[@]}" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary @"$D/m" "$REG/v2/$name/manifests/latest"
}
check "push library/busybox" push_repo library/busybox "Busybox base image with many common UNIX utilities"
check "push alice/webserver" push_repo alice/webserver "A small web server built on busybox httpd"
check "push alice/database" push_repo alice/database "Relational database server"
check "push bob/busy-tools" push_repo bob/busy-tools "Tools for busy people"
check "push bob/nothing" push_repo bob/nothing "Unrelated text"
# A description from the image config's label instead of an annotation.
printf '{"config":{"Labels":{"org.opencontainers.image.description":"labelled from its config"}}}' > "$D/lconfig"
LCFG=$(push_blob "$REG" bob/labelled "$D/lconfig" "${ADM[@]}")
push_blob "$REG" bob/labelled "$D/layer" "${ADM[@]}" >/dev/null
image_manifest "$LCFG" "$(stat -c %s "$D/lconfig")" "$LAYER" 5 > "$D/lm"
curl -s -f -o /dev/null "${ADM[@]}" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$D/lm" "$REG/v2/bob/labelled/manifests/latest"

names() { python3 -c 'import json,sys; print(" ".join(r["name"] for r in json.load(open(sys.argv[1]))["results"]))' "$B"; }
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$B" "$1"; }
expect_names() {
  local got; got=$(names)
  [ "$got" = "$2" ] && ok "$1" || not_ok "$1"; [ "$got" = "$2" ] || diag "got \"$got\", wanted \"$2\""
}

req GET "$REG/v1/search?q=busybox"
expect "search" 200
expect_names "a name match ranks above description matches" "library/busybox alice/webserver"
[ "$(field 'd["query"], d["num_results"], d["num_pages"], d["page"], d["page_size"]')" = "('busybox', 2, 1, 1, 25)" ] \
  && ok "Docker Hub v1 shape: query, num_results, num_pages, page, page_size" || not_ok "search shape: $(cat "$B")"
[ "$(field 'sorted(d["results"][0].keys())')" = "['description', 'is_automated', 'is_official', 'name', 'pull_count', 'star_count']" ] \
  && ok "results carry name, description, star_count, pull_count, is_official, is_automated" || not_ok "result fields: $(cat "$B")"
[ "$(field 'd["results"][0]["description"], d["results"][0]["is_official"], d["results"][1]["is_official"]')" = "('Busybox base image with many common UNIX utilities', True, False)" ] \
  && ok "description from the annotation; library/ is official" || not_ok "description/official: $(cat "$B")"
req GET "$REG/v1/search?q=busy"
expect_names "prefix search" "bob/busy-tools library/busybox alice/webserver"
req GET "$REG/v1/search?q=labelled"
expect_names "description from the config label" "bob/labelled"
req GET "$REG/v1/search?q=web+server"
expect_names "all words must match" "alice/webserver"
req GET "$REG/v1/search?q=%22%29%28*%3A"
expect "FTS syntax in the query is harmless" 200
[ "$(field 'd["num_results"]')" = 0 ] && ok "...and matches nothing" || not_ok "syntax query matched"
req GET "$REG/v1/search?q=zzzz"
[ "$(field 'd["num_results"], d["num_pages"], d["results"]')" = "(0, 0, [])" ] && ok "no match: empty results" || not_ok "no match: $(cat "$B")"

# Pull counts come from manifest GETs (not HEADs).
pull() { for _ in $(seq 1 "$2"); do curl -s -o /dev/null "$REG/v2/$1/manifests/latest"; done; }
pull alice/database 5; pull alice/webserver 3; pull library/busybox 1
curl -s -o /dev/null -I "$REG/v2/bob/nothing/manifests/latest"
req GET "$REG/v1/search?s=popular&n=4"
expect_names "s=popular orders by pulls" "alice/database alice/webserver library/busybox bob/busy-tools"
[ "$(field '[r["pull_count"] for r in d["results"]]')" = "[5, 3, 1, 0]" ] && ok "pull counts are exact" || not_ok "pull counts: $(cat "$B")"
req GET "$REG/v1/search?q=server&s=popular"
expect_names "popular within a query" "alice/database alice/webserver"

# Stars.
star() { curl -s -o /dev/null -w '%{http_code}' -u "$1" -X "${3:-PUT}" "$REG/v1/repositories/$2/star"; }
[ "$(star u1:pw bob/nothing)$(star u1:pw alice/webserver)$(star u2:pw alice/webserver)$(star u3:pw alice/webserver)$(star u3:pw bob/labelled)$(star u2:pw bob/labelled)" = 204204204204204204 ] \
  && ok "signed-in users star repositories" || not_ok "starring"
[ "$(star u1:pw alice/webserver)" = 204 ] && ok "starring twice is harmless" || not_ok "star twice"
[ "$(star u2:pw bob/labelled DELETE)" = 204 ] && ok "unstar" || not_ok "unstar"
req PUT "$REG/v1/repositories/alice/webserver/star"
expect "anonymous users cannot star" 401 UNAUTHORIZED
req PUT "$REG/v1/repositories/alice/nope/star" -u u1:pw
expect "star an unknown repository" 404 NAME_UNKNOWN
req GET "$REG/v1/search?s=stars&n=3"
expect_names "s=stars orders by stars" "alice/webserver bob/labelled bob/nothing"
[ "$(field '[r["star_count"] for r in d["results"]]')" = "[3, 1, 1]" ] && ok "star counts" || not_ok "star counts: $(cat "$B")"

# Pagination is consistent: the pages partition the full list.
req GET "$REG/v1/search?n=100"
all=$(names)
pages=""
for p in 1 2 3; do
  req GET "$REG/v1/search?n=2&page=$p"
  pages="$pages $(names)"
  [ "$(field 'd["num_pages"], d["page"], d["page_size"], d["num_results"]')" = "(3, $p, 2, 6)" ] || not_ok "page $p numbers: $(cat "$B")"
done
[ "${pages# }" = "$all" ] && ok "pages 1-3 of 2 together are the full list, in order" || not_ok "pagination: \"$pages\" vs \"$all\""
req GET "$REG/v1/search?n=2&page=4"
[ "$(field 'd["results"]')" = "[]" ] && ok "a page past the end is empty" || not_ok "page 4"
req GET "$REG/v1/search?n=0"
expect "n=0 is refused" 400
req GET "$REG/v1/search?n=101"
expect "n over 100 is refused" 400
req GET "$REG/v1/search?page=x"
expect "page that is not a number" 400
req GET "$REG/v1/search?s=random"
expect "unknown order" 400

# Descriptions set by their owner.
req PUT "$REG/v1/repositories/alice/database/description" -u alice:alicepw -H 'Content-Type: application/json' --data '{"description":"Graph store"}'
expect "the owner sets the description" 204
req GET "$REG/v1/search?q=graph"
expect_names "the new description is searchable" "alice/database"
req GET "$REG/v1/search?q=relational"
expect_names "the old one is not" ""
req PUT "$REG/v1/repositories/alice/database/description" -u alice:alicepw -H 'Content-Type: text/plain' --data 'Plain text description'
expect "a plain-text description" 204
req GET "$REG/v1/search?q=plain"
expect_names "plain-text description searchable" "alice/database"
req PUT "$REG/v1/repositories/alice/database/description" -u bob:bobpw --data 'hijack'
expect "someone else cannot set it" 403 DENIED
req PUT "$REG/v1/repositories/alice/database/description" --data 'anon'
expect "anonymous cannot set it" 401 UNAUTHORIZED
req PUT "$REG/v1/repositories/alice/none/description" -u alice:alicepw --data 'x'
expect "description of an unknown repository" 404 NAME_UNKNOWN
req PUT "$REG/v1/repositories/alice/database/description" -u alice:alicepw -H 'Content-Type: application/json' --data '{"desc":1}'
expect "malformed JSON description" 400

# The counts survive a restart.
kill "$REG_PID_r"; wait "$REG_PID_r" 2>/dev/null
start_registry r 5140
req GET "$REG/v1/search?q=database"
[ "$(field 'd["results"][0]["pull_count"], d["results"][0]["description"]')" = "(5, 'Plain text description')" ] \
  && ok "pull counts and descriptions persist" || not_ok "after restart: $(cat "$B")"

finish_registries
