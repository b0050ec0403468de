# Shared by the CLI test scripts that source it: a temp dir removed at exit, and check NAME
# CMD... which runs CMD and counts it as passed (exit 0) or failed. finish NAME prints the
# summary line and sets the exit status. expect_fail NAME PATTERN CMD... checks a refusal.
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
checks=0
fails=0
ok() { checks=$((checks + 1)); echo "  ok   $1"; }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "  FAIL $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
finish() { echo "$1: $checks checks, $fails failed"; [ $fails -eq 0 ]; }

# expect_fail NAME PATTERN CMD...: CMD must exit 1 with exactly one stderr line, "clipdebias: ..."
# matching the extended regex PATTERN (and no sanitizer report); the line is echoed when it passes.
expect_fail() { expect_fail_lines '' "$@"; }
# expect_fail_logged NAME PATTERN CMD...: the same for a command that logs progress on stderr
# before it fails: exactly one of its stderr lines is a "clipdebias: ..." error.
expect_fail_logged() { expect_fail_lines '^clipdebias:' "$@"; }
# expect_fail_lines LINES NAME PATTERN CMD...: LINES is the regex of the stderr lines counted
# (exactly one must match; '' counts every line).
expect_fail_lines() {
  local lines=$1 name=$2 pat=$3
  shift 3
  "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$? why="" n
  [ $rc -ne 1 ] && why="exit $rc"
  n=$(grep -c -e "$lines" "$TMP/err")
  [ "$n" -ne 1 ] && why="$why, $n stderr lines"
  grep -q -e Sanitizer -e 'runtime error' "$TMP/err" && why="$why, sanitizer report"
  grep -q -E "^clipdebias: .*($pat)" "$TMP/err" || why="$why, message lacks /$pat/"
  if [ -z "$why" ]; then ok "$name: $(grep -m1 -E "^clipdebias: .*($pat)" "$TMP/err" | cut -c13-150)"; else bad "$name:$why"; sed 's/^/       | /' "$TMP/err" | head -n 5; fi
}
