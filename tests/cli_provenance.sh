#!/usr/bin/env bash
# Every artefact checked against what made it, with real processes: index.csv edits that keep
# the row count (a label flipped, two rows swapped) and other feature values refused on load;
# embed over a truncated features.npy or replaced images embeds again (the same bytes as
# before); an older cache without checksums is read, and embed records them; eval of a context
# trained with another model of the same width, or for other class names, refused naming both;
# a rerun into a RUN_DIR with another cache of the same shape refused; results.json and the
# context sidecars record the model checksum, the cache checksums and the prompts.
# usage: bash tests/cli_provenance.sh path/to/clipdebias   (from the repository root)
set -u
BIN=${1:?usage: cli_provenance.sh path/to/clipdebias}
M=tests/fixtures/model/hf_f32
BF=tests/fixtures/model/hf_bf16 # the same architecture and width, other weights (bf16)
WB=tests/fixtures/datasets/waterbirds/wilds
. tests/check_lib.sh

embed() { "$BIN" embed --dataset waterbirds --root "$1" --skip-bad --model $M --out "$2" >"$TMP/eout" 2>&1; }

embed $WB "$TMP/c"
cp -r "$TMP/c" "$TMP/orig"
check "cache.json records index_checksum" grep -q '"index_checksum": "xxh64:[0-9a-f]\{16\}"' "$TMP/c/cache.json"
check "cache.json records features_checksum" grep -q '"features_checksum": "xxh64:[0-9a-f]\{16\}"' "$TMP/c/cache.json"

# 1. index.csv edits that keep the row count
awk -F, 'NR==2{$3=1-$3}1' OFS=, "$TMP/orig/index.csv" >"$TMP/c/index.csv"
expect_fail "a label flipped in index.csv: refused" "index.csv: its rows are not the ones .*cache.json vouches for \(index_checksum xxh64:[0-9a-f]+, the file gives xxh64:" \
  "$BIN" zeroshot --cache "$TMP/c" --model $M --out "$TMP/z"
# two rows swapped but their ids kept increasing: only the checksum can tell
awk -F, 'NR==3{split($0,r3,",")} NR==4{split($0,r4,",")} {a[NR]=$0} END{for(i=1;i<=NR;i++){ if(i==3){split(a[4],f,",");f[1]=r3[1];print f[1]","f[2]","f[3]","f[4]","f[5]} else if(i==4){split(a[3],f,",");f[1]=r4[1];print f[1]","f[2]","f[3]","f[4]","f[5]} else print a[i]}}' \
  "$TMP/orig/index.csv" >"$TMP/c/index.csv"
check "(test setup: two rows swapped)" bash -c "! cmp -s '$TMP/c/index.csv' '$TMP/orig/index.csv'"
expect_fail "two rows swapped in index.csv: refused" "index.csv: its rows are not the ones" \
  "$BIN" run --cache "$TMP/c" --model $M --out "$TMP/r_swapped" --epochs 2 --seeds 0 --methods zeroshot
embed $WB "$TMP/c"
check "embed over the edited index: says so" grep -q "the cache is damaged (.*index.csv: its rows are not the ones" "$TMP/eout"
check "embed over the edited index: index.csv restored (cmp)" cmp -s "$TMP/c/index.csv" "$TMP/orig/index.csv"

# 2. a damaged features.npy
truncate -s 1000 "$TMP/c/features.npy"
expect_fail "truncated features.npy: refused" "features.npy: truncated" "$BIN" zeroshot --cache "$TMP/c" --model $M --out "$TMP/z"
embed $WB "$TMP/c"
check "embed over a truncated features.npy: exit 0" test $? -eq 0
check "embed over a truncated features.npy: says it repairs" grep -q "the cache is damaged (.*features.npy: truncated.*); embedding it again" "$TMP/eout"
check "embed over a truncated features.npy: not 'nothing to do'" bash -c "! grep -q 'nothing to do' '$TMP/eout'"
check "repaired features.npy = the original (cmp)" cmp -s "$TMP/c/features.npy" "$TMP/orig/features.npy"
# other values, same shape: flip one byte of the last value
size=$(stat -c %s "$TMP/c/features.npy")
printf '\x41' | dd of="$TMP/c/features.npy" bs=1 seek=$((size - 1)) conv=notrunc 2>/dev/null
expect_fail "features.npy with other values: refused" "features.npy: its values are not the ones .*features_checksum xxh64:" \
  "$BIN" zeroshot --cache "$TMP/c" --model $M --out "$TMP/z"
embed $WB "$TMP/c"
check "embed repairs other values too (cmp)" cmp -s "$TMP/c/features.npy" "$TMP/orig/features.npy"
embed $WB "$TMP/c"
check "an intact cache: nothing to do" grep -q "nothing to do" "$TMP/eout"

# 3. images replaced after embedding (the data set where it was)
cp -r $WB "$TMP/tree"
embed "$TMP/tree" "$TMP/ct"
img=$(sed -n 2p "$TMP/ct/index.csv" | cut -d, -f2)
other=$(sed -n 3p "$TMP/ct/index.csv" | cut -d, -f2)
root=$(find "$TMP/tree" -path "*/$img" | head -n 1)
cp "$root" "$TMP/img.bak"
cp "$(find "$TMP/tree" -path "*/$other" | head -n 1)" "$root"
embed "$TMP/tree" "$TMP/ct"
check "a replaced image: embedded again" grep -qE "image files under .* (changed|were replaced) since it was made" "$TMP/eout"
check "a replaced image: its row now holds the new image's features" bash -c "! cmp -s '$TMP/ct/features.npy' '$TMP/orig/features.npy'"
cp "$TMP/img.bak" "$root"
embed "$TMP/tree" "$TMP/ct"
check "the image put back: embedded again" grep -qE "image files under .* (changed|were replaced) since it was made" "$TMP/eout"
check "... and the features are the original ones again (cmp)" cmp -s "$TMP/ct/features.npy" "$TMP/orig/features.npy"
touch -d '2001-01-01' "$root"
embed "$TMP/tree" "$TMP/ct"
check "same bytes, another modification time: embedded again" grep -q "were replaced since it was made (their modification times differ)" "$TMP/eout"
mv "$TMP/tree" "$TMP/moved"
touch "$TMP/moved"/*/*/*
embed "$TMP/moved" "$TMP/ct"
check "the data set moved elsewhere (new times, same sizes): reused" grep -q "nothing to do" "$TMP/eout"

# 4. an older cache, without the checksums: read (unverified), and embed adds them
cp -r "$TMP/orig" "$TMP/old"
# (cache.json as embed wrote it before: no files, index_checksum, features_checksum)
sed -z -i 's/,\n "files": {[^}]*}//; s/,\n "index_checksum": "[^"]*",\n "features_checksum": "[^"]*"//' "$TMP/old/cache.json"
check "(test setup: an older cache.json)" bash -c "! grep -q index_checksum '$TMP/old/cache.json'"
"$BIN" zeroshot --cache "$TMP/old" --model $M --out "$TMP/zold" >/dev/null 2>&1
check "an older cache is read" test $? -eq 0
embed $WB "$TMP/old"
check "embed over an older cache: records the checksums, embeds nothing" grep -q "nothing to do (its checksums are now recorded in cache.json)" "$TMP/eout"
check "... index_checksum now there" grep -q '"index_checksum"' "$TMP/old/cache.json"

# 5. contexts: trained with another model of the same width, for other class names
"$BIN" run --cache "$TMP/orig" --model $M --out "$TMP/run" --epochs 2 --seeds 0 --methods zeroshot,dpt >/dev/null 2>&1
CTX=$TMP/run/dpt/seed0/ctx_selected.npy
check "ctx sidecar records the model checksum" grep -q '"model_checksum": "xxh64-16M:' "${CTX%.npy}.json"
check "results.json records the model checksum" grep -q '"model_checksum": "xxh64-16M:' "$TMP/run/results.json"
check "results.json records the cache checksums" grep -q '"cache_checksums": {"index": "xxh64:[0-9a-f]*", "features": "xxh64:' "$TMP/run/results.json"
check "results.json records the templates" grep -q '"templates": \["a photo of a {}."\]' "$TMP/run/results.json"
"$BIN" embed --dataset waterbirds --root $WB --skip-bad --model $BF --out "$TMP/cbf" >/dev/null 2>&1
expect_fail "eval --ctx trained with another model of the same width: refused, naming both" \
  "ctx_selected.json: was trained with another model: .*hf_f32 \(xxh64-16M:[0-9a-f]+\) vs --model .*hf_bf16 \(xxh64-16M:" \
  "$BIN" eval --cache "$TMP/cbf" --model $BF --vocab $M --ctx "$CTX" --out "$TMP/ev"
expect_fail "eval --ctx for other class names: refused, naming both" \
  "was trained for other class names: \[landbird, waterbird\] vs \[bird on land, bird on water\] here" \
  "$BIN" eval --cache "$TMP/orig" --model $M --ctx "$CTX" --out "$TMP/ev" --classnames "bird on land,bird on water"
"$BIN" eval --cache "$TMP/orig" --model $M --ctx "$CTX" --out "$TMP/ev" >/dev/null 2>"$TMP/err"
check "eval with the same model and class names: exit 0, no warning" bash -c "[ $? -eq 0 ] && [ ! -s '$TMP/err' ]"
cmp -s "$TMP/ev/predictions.npy" "$TMP/run/dpt/seed0/predictions.npy"
check "... the pair's predictions" test $? -eq 0
sed -i '/"model_checksum"/d' "${CTX%.npy}.json"
"$BIN" eval --cache "$TMP/orig" --model $M --ctx "$CTX" --out "$TMP/ev2" >/dev/null 2>"$TMP/err"
check "an older sidecar (no model checksum): accepted" test $? -eq 0
check "... with one warning line saying so" grep -q "^clipdebias: warning: .*ctx_selected.json records no model checksum" "$TMP/err"

# 6. a rerun into RUN_DIR with another cache of the same shape (an older one: no checksums to refuse it)
cp -r "$TMP/old" "$TMP/other"
awk -F, 'NR==2{$3=1-$3}1' OFS=, "$TMP/orig/index.csv" >"$TMP/other/index.csv"
sed -z -i 's/,\n "index_checksum": "[^"]*",\n "features_checksum": "[^"]*"//; s/"records_checksum": "[^"]*"/"records_checksum": null/' "$TMP/other/cache.json"
expect_fail "rerun into a RUN_DIR with another cache: refused, naming both checksums" \
  "args.json: the run there used a cache with other rows \(index_checksum xxh64:[0-9a-f]+, now xxh64:" \
  "$BIN" run --cache "$TMP/other" --model $M --out "$TMP/run" --epochs 2 --seeds 0 --methods zeroshot,dpt

finish cli_provenance
