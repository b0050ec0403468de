#!/usr/bin/env bash
# `embed --dtype f16`: a feature cache at half the bytes, read back as float32 everywhere.
#   - the f16 cache's features.npy holds float16 [N, D] and is half the size of the f32 one's
#     data; its cache.json says "features_dtype": "float16";
#   - 2 shards at f16 + merge == one f16 run, byte for byte (features.npy, index.csv);
#   - a cache of the other dtype is refused (embed into it, merge with it), named;
#   - run on the f16 cache works; its zero-shot predictions and pseudo labels equal the f32 one's;
#   - discover behaves the same on both; a truncated f16 features.npy is refused by run, named.
# (The values -- f16 cache == f32 cache rounded -- are checked in tests/test_feature_cache.c.)
set -u
BIN=${1:?usage: cli_embed_f16.sh path/to/clipdebias}
MODEL=tests/fixtures/model/hf_f32
WB=tests/fixtures/datasets/waterbirds/grpdro
. tests/check_lib.sh
E=(--dataset waterbirds --root $WB --model "$MODEL" --skip-bad --batch 4)
say() { "$@" > "$TMP/out" 2>&1; rc=$?; }
has() { grep -qF -- "$1" "$TMP/out"; }
size() { stat -c %s "$1"; }

say "$BIN" embed "${E[@]}" --out "$TMP/f32"
check "embed f32: exit 0" test $rc -eq 0
say "$BIN" embed "${E[@]}" --dtype f16 --out "$TMP/f16"
check "embed --dtype f16: exit 0" test $rc -eq 0
check "f16 cache.json says float16" grep -q '"features_dtype": "float16"' "$TMP/f16/cache.json"
check "f32 cache.json has no features_dtype (as before)" bash -c "! grep -q features_dtype '$TMP/f32/cache.json'"
check "f16 features.npy header: <f2 [17, D]" bash -c "head -c 128 '$TMP/f16/features.npy' | grep -aq \"'descr': '<f2', 'fortran_order': False, 'shape': (17, \""
d32=$(( $(size "$TMP/f32/features.npy") - 128 )); d16=$(( $(size "$TMP/f16/features.npy") - 128 ))
check "f16 data is half the f32 data ($d16 vs $d32 bytes)" test $((2 * d16)) -eq $d32
check "index.csv the same at both dtypes" cmp -s "$TMP/f16/index.csv" "$TMP/f32/index.csv"
say "$BIN" embed "${E[@]}" --dtype f16 --out "$TMP/f16"
check "f16 again: nothing to do" has "nothing to do"

# shards at f16, merged
for i in 0 1; do "$BIN" embed "${E[@]}" --dtype f16 --shard $i/2 --out "$TMP/s$i" >/dev/null 2>&1; done
say "$BIN" merge --out "$TMP/merged" "$TMP/s0" "$TMP/s1"
check "merge of 2 f16 shards: exit 0" test $rc -eq 0
check "merged f16 features.npy == unsharded f16 (cmp)" cmp "$TMP/merged/features.npy" "$TMP/f16/features.npy"
check "merged f16 index.csv == unsharded f16 (cmp)" cmp "$TMP/merged/index.csv" "$TMP/f16/index.csv"
"$BIN" embed "${E[@]}" --shard 1/2 --out "$TMP/s1_32" >/dev/null 2>&1
say "$BIN" merge --out "$TMP/mixed" "$TMP/s0" "$TMP/s1_32"
check "merge of an f16 and an f32 shard: refused, named" bash -c "[ $rc -ne 0 ] && grep -qF 'do not belong together: another feature dtype (--dtype): \"float16\" vs (none)' '$TMP/out'"

# the other dtype into an existing cache, a bad --dtype
say "$BIN" embed "${E[@]}" --dtype f16 --out "$TMP/f32"
check "f16 into an f32 cache: refused" bash -c "[ $rc -eq 1 ] && grep -qF 'cache.json: was made with another feature dtype (--dtype): (none) vs \"float16\"' '$TMP/out'"
say "$BIN" embed "${E[@]}" --dtype bf16 --out "$TMP/x"
check "--dtype bf16: refused in one line" bash -c "[ $rc -ne 0 ] && grep -qF \"embed: --dtype must be f32 or f16, got 'bf16'\" '$TMP/out'"

# run on the f16 cache
R=(--model "$MODEL" --epochs 2 --seeds 0 --methods zeroshot,erm,dpt)
say "$BIN" run --cache "$TMP/f32" --out "$TMP/run32" "${R[@]}"
check "run on the f32 cache: exit 0" test $rc -eq 0
say "$BIN" run --cache "$TMP/f16" --out "$TMP/run16" "${R[@]}"
check "run on the f16 cache: exit 0" test $rc -eq 0
check "run on the f16 cache: results.json" test -s "$TMP/run16/results.json"
check "zero-shot predictions on f16 == on f32" cmp "$TMP/run16/zeroshot/predictions.npy" "$TMP/run32/zeroshot/predictions.npy"
check "pseudo attributes on f16 == on f32" cmp "$TMP/run16/a_pseudo.npy" "$TMP/run32/a_pseudo.npy"

# discover reads the f16 cache like the f32 one (same messages, same exit code, no crash)
for t in 32 16; do
  "$BIN" discover --cache "$TMP/f$t" --model "$MODEL" --out "$TMP/d$t.json" --words tests/fixtures/discover/toy_words.txt \
    > "$TMP/out" 2>&1
  echo "exit $?" >> "$TMP/out"
  sed "s|$TMP/f$t|CACHE|g" "$TMP/out" > "$TMP/disc$t"
done
check "discover on the f16 cache behaves as on the f32 one" cmp "$TMP/disc16" "$TMP/disc32"

# truncated
truncate -s -2 "$TMP/f16/features.npy"
say "$BIN" run --cache "$TMP/f16" --out "$TMP/run16t" "${R[@]}"
check "truncated f16 features.npy: refused, named" bash -c "[ $rc -ne 0 ] && grep -q 'f16/features.npy: truncated: data needs [0-9]* bytes, file has [0-9]* after the header' '$TMP/out'"
finish cli_embed_f16
