# `clipdebias embed` checks on the synthetic data set trees, sourced by tests/cli_embed.sh
# (committed fixture model) and tests/cli_embed_reference.sh (the reference model):
#   - features bit-identical to embed-image on the same files (grayscale, CMYK, PNG-as-.jpg,
#     progressive JPEGs decoded; the truncated one skipped and listed);
#   - a matching complete cache returns at once; another model, other options or another
#     shard are refused; the same data moved elsewhere is reused;
#   - an interrupted run resumed equals an uninterrupted one, byte for byte, even when a crash
#     left more rows in the rows file than its checkpoint vouches for;
#   - 3 shards joined by merge equal one run; merge refuses incomplete or mixed sets;
#   - CelebA (PNG release), MetaShift (own split) and CSV data sets embed too.
# Expects: BIN, MODEL, OTHER (a different model), TMP, and check/ok/bad from the caller.

F=tests/fixtures/datasets
WB=$F/waterbirds/grpdro
WBF=$WB/waterbird_complete95_forest2water2
embed() { "$BIN" embed "$@" > "$TMP/out" 2>&1; rc=$?; cat "$TMP/out" >> "$TMP/all"; }
has() { grep -qF -- "$1" "$TMP/out"; }
rows_of() { echo $(($(grep -c '' "$1/index.csv") - 1)); }

# 1. the truncated JPEG stops a run without --skip-bad, naming the file
embed --dataset waterbirds --root $WB --model "$MODEL" --out "$TMP/stop"
check "truncated JPEG stops the run (exit 1)" test $rc -eq 1
check "message names the file and --skip-bad" has "Black_Footed_Albatross_0114_101.jpg: JPEG data is truncated (use --skip-bad"
check "an unfinished cache is marked incomplete" grep -q '"complete": false' "$TMP/stop/cache.json"

# 2. --skip-bad: equal to embed-image on the same files, bit for bit
embed --dataset waterbirds --root $WB --model "$MODEL" --out "$TMP/wb" --skip-bad --batch 4
check "embed --skip-bad: exit 0" test $rc -eq 0
check "embed: 17 rows written, 1 skipped" has "wrote 17 x"
check "index.csv: header" test "$(head -n 1 "$TMP/wb/index.csv")" = "id,filename,y,a,split"
check "index.csv: 17 rows" test "$(rows_of "$TMP/wb")" -eq 17
check "cache.json: complete, 17 rows" grep -q '"rows": 17' "$TMP/wb/cache.json"
check "cache.json: the truncated file listed as skipped" grep -q '"filename": "001.Black_footed_Albatross/Black_Footed_Albatross_0114_101.jpg", "reason": "JPEG data is truncated"' "$TMP/wb/cache.json"
check "cache.json: weights checksum recorded" grep -q '"checksum": "xxh64-16M:[0-9a-f]\{16\}"' "$TMP/wb/cache.json"
check "index.csv: skipped image left out" bash -c "! grep -q Black_Footed_Albatross_0114_101 '$TMP/wb/index.csv'"
tail -n +2 $WBF/metadata.csv | cut -d, -f2 | sed "s|^|$WBF/|" > "$TMP/wb_list.txt"
"$BIN" embed-image --model "$MODEL" --list "$TMP/wb_list.txt" --skip-bad --batch 4 --out "$TMP/wb_ei.npy" 2>> "$TMP/all"
check "features.npy == embed-image on the same files (bit for bit)" cmp -s "$TMP/wb/features.npy" "$TMP/wb_ei.npy"
check "index.csv rows in the metadata order" bash -c "diff <(tail -n +2 '$TMP/wb/index.csv' | cut -d, -f2) <(grep -v Black_Footed_Albatross_0114_101 '$TMP/wb_list.txt' | sed 's|^$WBF/||') >/dev/null"

# 3. reuse and refusal
cp "$TMP/wb/features.npy" "$TMP/wb_before.npy"
touch -d '2001-01-01' "$TMP/wb/features.npy"
embed --dataset waterbirds --root $WB --model "$MODEL" --out "$TMP/wb" --skip-bad
check "matching complete cache: nothing to do" has "already a complete cache of the same model, data set and options; nothing to do"
check "matching complete cache: features untouched" test "$(stat -c %Y "$TMP/wb/features.npy")" = "$(date -d 2001-01-01 +%s)"
embed --dataset waterbirds --root $F/waterbirds/wilds --model "$MODEL" --out "$TMP/wb" --skip-bad
check "same images in another layout/folder: reused" has "nothing to do"
embed --dataset waterbirds --root $WB --model "$OTHER" --out "$TMP/wb" --skip-bad
check "another model: refused (exit 1)" test $rc -eq 1
check "another model: says so" has "cache.json: was made with another model: "
check "another model: cache left as it was" cmp -s "$TMP/wb/features.npy" "$TMP/wb_before.npy"
embed --dataset waterbirds --root $WB --model "$MODEL" --out "$TMP/wb" --skip-bad --splits train,val
check "other splits: refused" has "was made with other splits: [\"train\", \"val\", \"test\"] vs [\"train\", \"val\"]"
embed --dataset waterbirds --root $WB --model "$MODEL" --out "$TMP/wb" --skip-bad --shard 0/2
check "a shard into a whole cache: refused" has "holds another shard of the data set"
embed --dataset celeba --root $F/celeba/kaggle --model "$MODEL" --out "$TMP/wb"
check "another data set: refused" has "was made with another data set: \"waterbirds\" vs \"celeba\""
embed --dataset celeba --root $F/celeba/kaggle --model "$MODEL" --out "$TMP/celeba"
check "celeba Kaggle layout: exit 0" test $rc -eq 0
check "celeba: 16 rows" test "$(rows_of "$TMP/celeba")" -eq 16
embed --dataset celeba --root $F/celeba/kaggle --model "$MODEL" --out "$TMP/celeba" --target Smiling --spurious Young
check "other data set options: refused" has "was made with other data set options: {\"target\": \"Blond_Hair\", \"spurious\": \"Male\"} vs {\"target\": \"Smiling\", \"spurious\": \"Young\"}"

# 4. interrupted + rerun == uninterrupted (a copy of the tree whose 10th image breaks)
cp -r $WB "$TMP/tree"
T=$TMP/tree/waterbird_complete95_forest2water2
good=$(sed -n 2p $WBF/metadata.csv | cut -d, -f2)
cp "$T/$good" "$T/001.Black_footed_Albatross/Black_Footed_Albatross_0114_101.jpg"   # no unreadable file in the copy
embed --dataset waterbirds --root "$TMP/tree" --model "$MODEL" --out "$TMP/clean" --batch 2 --checkpoint-every 0
check "clean run of the copy: 18 rows" test "$(rows_of "$TMP/clean")" -eq 18
tenth=$(sed -n 11p $WBF/metadata.csv | cut -d, -f2)
cp "$T/$tenth" "$TMP/tenth.jpg"
printf '<!DOCTYPE html><html><body>Service Unavailable</body></html>\n' > "$T/$tenth"
embed --dataset waterbirds --root "$TMP/tree" --model "$MODEL" --out "$TMP/resumed" --batch 2 --checkpoint-every 0.000001
check "interrupted run stops at the broken 10th image" has "this is an HTML page, not an image"
check "checkpoint after 8 images" grep -q '"done": 8' "$TMP/resumed/features.partial.json"
check "rows file is an .npy of the 8 rows" grep -qa "'shape': (8, " "$TMP/resumed/features.partial.npy"
head -c 1000 /dev/urandom >> "$TMP/resumed/features.partial.npy"   # as a crash after appending, before the .json
cp "$TMP/tenth.jpg" "$T/$tenth"
embed --dataset waterbirds --root "$TMP/tree" --model "$MODEL" --out "$TMP/resumed" --batch 2 --checkpoint-every 0.000001
check "rerun: exit 0" test $rc -eq 0
check "rerun: resumed after 8 of 18" has "resuming $TMP/resumed/features after 8 of 18 files"
check "resumed features.npy == uninterrupted" cmp -s "$TMP/resumed/features.npy" "$TMP/clean/features.npy"
check "resumed index.csv == uninterrupted" cmp -s "$TMP/resumed/index.csv" "$TMP/clean/index.csv"
# (but the image modification times: the test replaced the 10th image, then put it back)
check "resumed cache.json == uninterrupted" bash -c "diff <(grep -v '\"files\"' '$TMP/resumed/cache.json') <(grep -v '\"files\"' '$TMP/clean/cache.json') >/dev/null"
check "checkpoint files removed" test ! -e "$TMP/resumed/features.partial.json" -a ! -e "$TMP/resumed/features.partial.npy"

# 5. three shards joined == one run
for i in 0 1 2; do
  embed --dataset waterbirds --root $WB --model "$MODEL" --out "$TMP/shard$i" --skip-bad --shard $i/3 --batch 4
  check "shard $i/3: exit 0" test $rc -eq 0
done
check "shard 1/3 covers images [6, 12)" grep -q '"shard": {"index": 1, "count": 3, "total": 18, "begin": 6, "end": 12}' "$TMP/shard1/cache.json"
"$BIN" merge --out "$TMP/merged" "$TMP/shard2" "$TMP/shard0" "$TMP/shard1" > "$TMP/out" 2>&1
check "merge of 3 cache shards: exit 0" test $? -eq 0
check "merged features.npy == one run" cmp -s "$TMP/merged/features.npy" "$TMP/wb/features.npy"
check "merged index.csv == one run" cmp -s "$TMP/merged/index.csv" "$TMP/wb/index.csv"
check "merged cache.json: no shard entry" bash -c "! grep -q '\"shard\"' '$TMP/merged/cache.json'"
check "merged cache.json: the skipped image kept" grep -q 'Black_Footed_Albatross_0114_101.jpg' "$TMP/merged/cache.json"
embed --dataset waterbirds --root $WB --model "$MODEL" --out "$TMP/merged" --skip-bad
check "merged cache == an unsharded embed (nothing to do)" has "nothing to do"
"$BIN" merge --out "$TMP/m2" "$TMP/shard0" "$TMP/shard2" > "$TMP/out" 2>&1
check "merge: a missing shard refused" has "is shard 1 of 3, but 2 caches were given"
"$BIN" merge --out "$TMP/m2" "$TMP/shard0" "$TMP/shard1" "$TMP/shard1" > "$TMP/out" 2>&1
check "merge: a duplicated shard refused" has "are both shard 2 of 3"
embed --dataset waterbirds --root $WB --model "$OTHER" --out "$TMP/other1" --skip-bad --shard 1/3
"$BIN" merge --out "$TMP/m2" "$TMP/shard0" "$TMP/other1" "$TMP/shard2" > "$TMP/out" 2>&1
check "merge: shards of different models refused" has "do not belong together: another model"
"$BIN" merge --out "$TMP/m2" "$TMP/shard0" "$TMP/wb_ei.npy" > "$TMP/out" 2>&1
check "merge: caches and .npy files not mixed" has "give either cache folders"
check "merge: nothing written on refusal" test ! -e "$TMP/m2"

# 6. other data sets
embed --dataset celeba --root $F/celeba/png --model "$MODEL" --out "$TMP/celeba_png" --splits val,test
check "celeba PNG release, val+test: 9 rows" test "$(rows_of "$TMP/celeba_png")" -eq 9
check "celeba PNG: .png files embedded" grep -q '000016.png' "$TMP/celeba_png/index.csv"
embed --dataset metashift --root $F/metashift/folders --split-csv "$TMP/ms_split.csv" --model "$MODEL" --out "$TMP/ms"
check "metashift own split: 24 rows" test "$(rows_of "$TMP/ms")" -eq 24
check "metashift own split: not SubpopBench's, in cache.json" grep -q '"official_split": false' "$TMP/ms/cache.json"
check "metashift: folder names with parentheses kept" grep -q 'train/cat/cat(indoor)/' "$TMP/ms/index.csv"
embed --dataset csv --csv $F/csv/noattr/labels.csv --model "$MODEL" --out "$TMP/csv"
check "csv without attribute: a empty in index.csv" bash -c "tail -n +2 '$TMP/csv/index.csv' | cut -d, -f4 | grep -qv . "
check "csv: 9 rows" test "$(rows_of "$TMP/csv")" -eq 9
embed --dataset waterbirds --root $WB --model "$MODEL" --out "$TMP/x" --shard 3/3
check "bad --shard refused" has "--shard expects i/n with 0 <= i < n"
embed --dataset waterbirds --root $WB --model "$MODEL" --out "$TMP/x" --splits train,dev
check "bad --splits refused" has "--splits: 'dev' is not train, val or test"

if grep -q -e Sanitizer -e 'runtime error' "$TMP/all"; then bad "no sanitizer report"; else ok "no sanitizer report"; fi
