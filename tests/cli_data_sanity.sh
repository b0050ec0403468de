#!/usr/bin/env bash
# Data sanity in `dataset` and `embed`, with real processes: duplicated rows, one file with two
# labels, one file in two splits and a missing validation split are each a warning with its
# count (and the first example); --strict makes them one error, exit 1, before anything is
# embedded. A clean listing says nothing.
# usage: bash tests/cli_data_sanity.sh path/to/clipdebias   (from the repository root)
set -u
BIN=${1:?usage: cli_data_sanity.sh path/to/clipdebias}
M=tests/fixtures/model/hf_f32
CSV=tests/fixtures/datasets/csv/basic
. tests/check_lib.sh
has() { grep -qE -- "$1" "$TMP/err"; }
ds() { "$BIN" dataset --dataset csv --root $CSV --csv "$1" --attr-names plain,striped "${@:2}" >"$TMP/out" 2>"$TMP/err"; rc=$?; cat "$TMP/out" >>"$TMP/err"; }

ds $CSV/data.csv
check "a clean listing: exit 0" test $rc -eq 0
check "a clean listing: no sanity warning" bash -c "! grep -qE 'duplicated|two labels|two splits|no validation' '$TMP/err'"

# rows 2 and 3 listed again (same labels and split), row 4 again with the other label, row 5 again in test
{ cat $CSV/data.csv; sed -n 2,3p $CSV/data.csv; sed -n 4p $CSV/data.csv | awk -F, -v OFS=, '{$2=1-$2}1';
  sed -n 5p $CSV/data.csv | awk -F, -v OFS=, '{$4="test"}1'; } >"$TMP/bad.csv"
ds "$TMP/bad.csv"
check "warnings only: exit 0" test $rc -eq 0
check "duplicated rows counted (2) with the first" has "2 duplicated rows \(the same file, labels and split listed again; first: imgs/"
check "a file with two labels counted (1) with its labels" has "1 file listed with two labels \(first: imgs/[a-z_0-9]+\.jpg: y [01], a [01] and y [01], a [01]\)"
check "a file in two splits counted (1) with the splits" has "1 file in two splits, so trained or selected on and tested on \(first: imgs/[a-z_0-9]+\.jpg in [a-z]+ and test\)"
check "says --strict makes it an error" has "\(--strict makes this an error\)"
ds "$TMP/bad.csv" --strict
check "--strict: exit 1" test $rc -eq 1
check "--strict: one error line naming the file and every count" bash -c "[ \$(grep -c '^clipdebias: ' '$TMP/err') -eq 1 ] &&
  grep -qE '^clipdebias: csv: .*bad.csv: 2 duplicated rows .*; 1 file listed with two labels .*; 1 file in two splits.* \(--strict\)' '$TMP/err'"
"$BIN" embed --dataset csv --root $CSV --csv "$TMP/bad.csv" --attr-names plain,striped --model $M --out "$TMP/c" --strict >/dev/null 2>"$TMP/err"
check "embed --strict: exit 1 before embedding" bash -c "[ $? -eq 1 ] && [ ! -e '$TMP/c/features.npy' ]"
"$BIN" embed --dataset csv --root $CSV --csv "$TMP/bad.csv" --attr-names plain,striped --model $M --out "$TMP/c" >/dev/null 2>"$TMP/err"
check "embed without --strict: embeds, with the warnings on stderr" bash -c "[ $? -eq 0 ] && grep -q 'duplicated rows' '$TMP/err'"

# no validation split
awk -F, -v OFS=, 'NR>1 && $4=="val"{$4="train"}1' $CSV/data.csv >"$TMP/noval.csv"
ds "$TMP/noval.csv"
check "no validation split: a warning" has "no validation split \(run selects epochs and measures pseudo labels on it\)"
ds "$TMP/noval.csv" --strict
check "no validation split with --strict: exit 1" test $rc -eq 1

finish cli_data_sanity
