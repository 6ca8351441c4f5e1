#!/usr/bin/env bash
# The one formatter: every C file under src/ and tests/ is as clang-format
# (with the .clang-format at the root) would write it.
set -uo pipefail
cd "${SOURCE_DIR:?}"
command -v clang-format >/dev/null || { echo "1..0 # SKIP clang-format is not installed"; exit 0; }
n=0; bad=()
while IFS= read -r f; do
  n=$((n + 1))
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(find src tests -name '*.[ch]' -not -path '*/corpus/*' | sort)
if [ ${#bad[@]} = 0 ]; then
  echo "ok 1 - all $n C files are formatted"
else
  echo "not ok 1 - ${#bad[@]} of $n C files are not formatted (run: clang-format -i ${bad[*]})"
fi
echo "1..1"
[ ${#bad[@]} = 0 ]
