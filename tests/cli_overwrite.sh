#!/usr/bin/env bash
# Nothing overwrites what it did not make, with real processes: merge --out refuses an existing
# cache and each of its own inputs; run --out refuses a feature cache; embed --out refuses a run
# folder; eval / zeroshot --out refuse a cache or a run folder; pseudolabel --out refuses a file
# it did not write. Each is one "clipdebias:" line (embed prints the data set first) and exit 1, and the folder is left as it was.
# usage: bash tests/cli_overwrite.sh path/to/clipdebias   (from the repository root)
set -u
BIN=${1:?usage: cli_overwrite.sh path/to/clipdebias}
M=tests/fixtures/model/hf_f32
WB=tests/fixtures/datasets/waterbirds/wilds
. tests/check_lib.sh

snapshot() { (cd "$1" && find . -type f ! -name .clipdebias.lock -exec md5sum {} + | sort); }

for k in 0 1; do
  "$BIN" embed --dataset waterbirds --root $WB --skip-bad --model $M --shard $k/2 --out "$TMP/s$k" >/dev/null 2>&1
done
"$BIN" embed --dataset waterbirds --root $WB --skip-bad --model $M --out "$TMP/c" >/dev/null 2>&1
"$BIN" run --cache "$TMP/c" --model $M --out "$TMP/run" --epochs 2 --seeds 0 --methods zeroshot,erm >/dev/null 2>&1
check "(setup: two shards, a cache and a run)" test -s "$TMP/run/results.json" -a -s "$TMP/s1/cache.json"
snapshot "$TMP/s0" >"$TMP/s0.before"
snapshot "$TMP/c" >"$TMP/c.before"
snapshot "$TMP/run" >"$TMP/run.before"

expect_fail_logged "merge --out one of its own shards" "merge: --out .*/s0 is one of the shards being joined" \
  "$BIN" merge --out "$TMP/s0" "$TMP/s0" "$TMP/s1"
expect_fail_logged "merge --out an existing cache" "/c: is a feature cache already \(cache.json is there\); merge writes a new cache" \
  "$BIN" merge --out "$TMP/c" "$TMP/s0" "$TMP/s1"
"$BIN" merge --out "$TMP/m" "$TMP/s0" "$TMP/s1" >/dev/null 2>&1
check "merge --out a new folder: exit 0" test $? -eq 0
expect_fail_logged "merge --out again over its own result" "/m: is a feature cache already" "$BIN" merge --out "$TMP/m" "$TMP/s0" "$TMP/s1"
expect_fail_logged "run --out a feature cache" "/c: is a feature cache \(cache.json is there\); run writes a run folder" \
  "$BIN" run --cache "$TMP/c" --model $M --out "$TMP/c" --epochs 2 --seeds 0 --methods zeroshot,erm
expect_fail_logged "embed --out a run folder" "/run: is a run folder \(args.json is there\); embed writes a feature cache" \
  "$BIN" embed --dataset waterbirds --root $WB --skip-bad --model $M --out "$TMP/run"
expect_fail_logged "zeroshot --out a feature cache" "/c: is a feature cache \(cache.json is there\); zeroshot writes" \
  "$BIN" zeroshot --cache "$TMP/c" --model $M --out "$TMP/c"
expect_fail_logged "eval --out a run folder" "/run: is a run folder \(args.json is there\); eval writes" \
  "$BIN" eval --cache "$TMP/c" --model $M --ctx "$TMP/run/erm/seed0/ctx_selected.npy" --out "$TMP/run"
expect_fail_logged "pseudolabel --out over the cache's features.npy" "/c/features.npy: exists and was not written by pseudolabel" \
  "$BIN" pseudolabel --cache "$TMP/c" --model $M --out "$TMP/c/features.npy"
"$BIN" pseudolabel --cache "$TMP/c" --model $M --out "$TMP/c/a_pseudo.npy" >/dev/null 2>&1 &&
  "$BIN" pseudolabel --cache "$TMP/c" --model $M --out "$TMP/c/a_pseudo.npy" >/dev/null 2>&1
check "pseudolabel over its own earlier output: exit 0" test $? -eq 0
rm -f "$TMP/c/a_pseudo.npy" "$TMP/c/a_pseudo.json"
"$BIN" zeroshot --cache "$TMP/c" --model $M --out "$TMP/zs" >/dev/null 2>&1 && "$BIN" zeroshot --cache "$TMP/c" --model $M --out "$TMP/zs" >/dev/null 2>&1
check "zeroshot over its own earlier output: exit 0" test $? -eq 0
check "the shard is as it was" bash -c "snapshot() { (cd \"\$1\" && find . -type f ! -name .clipdebias.lock -exec md5sum {} + | sort); }; diff <(snapshot '$TMP/s0') '$TMP/s0.before' >/dev/null"
check "the cache is as it was" bash -c "snapshot() { (cd \"\$1\" && find . -type f ! -name .clipdebias.lock -exec md5sum {} + | sort); }; diff <(snapshot '$TMP/c') '$TMP/c.before' >/dev/null"
check "the run folder is as it was" bash -c "snapshot() { (cd \"\$1\" && find . -type f ! -name .clipdebias.lock -exec md5sum {} + | sort); }; diff <(snapshot '$TMP/run') '$TMP/run.before' >/dev/null"

finish cli_overwrite
