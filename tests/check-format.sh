#!/usr/bin/env bash
# The one formatter: every C file under src/ and tests/ is as clang-format
# (with the .clang-format at the root) would write it.
set -uo pipefail
cd "${SOURCE_DIR:?}"
command -v clang-format >/dev/null || { echo "1..0 # SKIP clang-format is not installed"; exit 0; }
n=0; bad=0
while IFS= read -r f; do
  n=$((n + 1))
  if clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "ok $n - $f"
  else
    bad=$((bad + 1))
    echo "not ok $n - $f is not formatted (run: clang-format -i $f)"
  fi
done < <(find src tests -name '*.[ch]' -not -path '*/corpus/*' | sort)
echo "1..$n"
[ "$bad" = 0 ]
