#!/usr/bin/env bash
# clipdebias report --run RUN_DIR: rebuilds report.html from the run-directory fixtures
# (tests/fixtures/report), the page passes the strict XML + offline check of
# tool_pagecheck, and every bad run directory or unwritable output gives exit 1 with one
# "clipdebias: ..." line naming the file, no crash and no file left behind.
set -u
export LC_ALL=C
BIN=${1:?usage: cli_report.sh path/to/clipdebias}
CHECKER=$(dirname "$BIN")/tool_pagecheck
FIX=tests/fixtures/report
. tests/check_lib.sh

# stage FIXTURE: a copy of the fixture in $TMP/FIXTURE (fixtures stay untouched).
stage() { rm -rf "${TMP:?}/$1"; cp -r "$FIX/$1" "$TMP/$1"; }

echo "== good runs"
for f in full warn minimal hostile toyrun; do
  stage "$f"
  if out=$("$BIN" report --run "$TMP/$f" 2>"$TMP/err") && [ "$out" = "$TMP/$f/report.html" ] && [ -s "$TMP/$f/report.html" ]; then
    ok "$f: wrote $out"
  else
    bad "$f: report failed or printed '$out'"
    cat "$TMP/err"
  fi
  if "$CHECKER" xml "$TMP/$f/report.html" >/dev/null 2>"$TMP/err"; then ok "$f: well-formed and self-contained"; else bad "$f: $(cat "$TMP/err")"; fi
done
# Rebuilding replaces the page in place and leaves no temporary file.
before=$(cksum <"$TMP/full/report.html")
"$BIN" report --run "$TMP/full" >/dev/null 2>&1
[ "$(cksum <"$TMP/full/report.html")" = "$before" ] && ok "rebuild gives the same page" || bad "rebuild differs"
[ -z "$(find "$TMP/full" -name '*.tmp.*')" ] && ok "no temporary files" || bad "temporary files left: $(ls "$TMP/full")"

echo "== bad input"
expect_fail "no --run" "--run RUN_DIR is required" "$BIN" report
expect_fail "unknown option" "unknown option '--out'" "$BIN" report --out x
expect_fail "--run without a value" "--run needs a value" "$BIN" report --run
expect_fail "missing run directory" "$TMP/none/results.json: cannot open" "$BIN" report --run "$TMP/none"
for f in bad_missing_results bad_json bad_percent bad_no_methods bad_group bad_metrics bad_args bad_missing_args; do
  stage "$f"
  case $f in
    *metrics*) file=metrics.jsonl ;;
    *args*) file=args.json ;;
    *) file=results.json ;;
  esac
  expect_fail "$f" "$TMP/$f/$file" "$BIN" report --run "$TMP/$f"
  [ ! -e "$TMP/$f/report.html" ] || bad "$f: report.html written anyway"
done
# The output cannot be renamed into place (a directory is in the way): named, cleaned up.
stage minimal
mkdir "$TMP/minimal/report.html"
expect_fail "report.html is a directory" "$TMP/minimal/report.html" "$BIN" report --run "$TMP/minimal"
[ -z "$(find "$TMP/minimal" -name '*.tmp.*')" ] && ok "failed write removed its temporary file" || bad "temporary file left"
"$BIN" report --help | grep -q "usage: clipdebias report --run RUN_DIR" && ok "--help" || bad "--help"

finish cli_report
