#!/bin/bash
# The README's C API example, compiled as a user would (the block between the readme-example
# markers, the C compiler of this build, the built engine library and clipdebias.h), run on a
# small toy world, and its numbers checked against `clipdebias zeroshot` on the same cache.
# usage: readme_example.sh CLIPDEBIAS CC LIBRARY "COMPILE FLAGS" [emulated]
BIN=$1 CC=$2 LIB=$3 FLAGS=$4
if [ "$5" = ON ]; then echo "readme_example: skipped (cross build: the example would not run here)"; exit 77; fi
. tests/check_lib.sh

sed -n '/^<!-- readme-example:begin -->$/,/^<!-- readme-example:end -->$/p' README.md | sed '1,2d;$d' | sed '$d' >"$TMP/toy_zeroshot.c"
check "the README holds the example between its markers" grep -q "int main" "$TMP/toy_zeroshot.c"
# shellcheck disable=SC2086
check "it compiles against clipdebias.h and the library" \
  "$CC" -std=c11 -Wall -Werror $FLAGS -I . "$TMP/toy_zeroshot.c" "$LIB" -lm -pthread -o "$TMP/toy_zeroshot"
"$BIN" toyworld --out "$TMP/world" --scale 0.02 --seed 0 >/dev/null 2>&1
"$TMP/toy_zeroshot" models/toyclip "$TMP/world" "$TMP/cache" >"$TMP/out" 2>"$TMP/err"
rc=$?
cat "$TMP/out"
check "it runs (exit 0, nothing on stderr)" test $rc -eq 0 -a ! -s "$TMP/err"
[ -s "$TMP/err" ] && sed 's/^/       | /' "$TMP/err" | head -n 5

# the same cache through the command: rows, per-group and worst-group numbers agree
"$BIN" zeroshot --cache "$TMP/cache" --model models/toyclip --out "$TMP/z" >"$TMP/z.txt" 2>&1
rows=$(grep -c '' "$TMP/cache/index.csv")
check "rows: the cache's index.csv; the toy CLIP's 96 dimensions" grep -q "^$((rows - 1)) rows of 96 features, 4 groups$" "$TMP/out"
test_line=$(grep '^test ' "$TMP/z.txt")
avg=$(echo "$test_line" | awk '{print $3}')
worst=$(echo "$test_line" | awk '{print $5}')
check "average and worst group as zeroshot prints them ($avg, $worst)" \
  grep -q "^zero-shot test: average $avg%, worst group $worst%$" "$TMP/out"
test_groups=$(sed -n '/"test"/,$p' "$TMP/z/metrics.json" | grep -o '"acc": [0-9.eE+-]*' | head -4 |
  awk '{printf "%.2f\n", 100 * $2}')
check "per-group accuracies as metrics.json's test groups" \
  test "$(grep '^group ' "$TMP/out" | sed 's/.*: \(.*\)%$/\1/')" = "$test_groups"
check "a worst group below the average (the toy CLIP is biased)" awk -v a="$avg" -v w="$worst" 'BEGIN{exit !(w + 5 < a)}'
finish readme_example
