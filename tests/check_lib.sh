# Shared by the CLI test scripts that source it: a temp dir removed at exit, and check NAME
# CMD... which runs CMD and counts it as passed (exit 0) or failed. finish NAME prints the
# summary line and sets the exit status.
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
checks=0
fails=0
ok() { checks=$((checks + 1)); echo "  ok   $1"; }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "  FAIL $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
finish() { echo "$1: $checks checks, $fails failed"; [ $fails -eq 0 ]; }
