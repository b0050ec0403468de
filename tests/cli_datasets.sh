#!/usr/bin/env bash
# `clipdebias dataset` on the synthetic trees of tests/fixtures/datasets (written by
# tools/gen/gen_dataset_fixtures.py): every layout gives the same split x group counts and
# names the files it used; every broken variant stops with its one message.
# usage: bash tests/cli_datasets.sh path/to/clipdebias   (from the repository root)
set -u
BIN=${1:?usage: cli_datasets.sh path/to/clipdebias}
F=tests/fixtures/datasets
. tests/check_lib.sh

# run NAME ARGS...: runs `dataset`, keeps stdout+stderr in $TMP/out and the exit code in $rc
run() { "$BIN" dataset "$@" > "$TMP/out" 2>&1; rc=$?; tr -s ' ' < "$TMP/out" > "$TMP/flat"; cat "$TMP/out" >> "$TMP/all"; }
# row LABEL "train val test total": that table row is printed
row() { grep -qF -- " $1 $2" "$TMP/flat"; }
has() { grep -qF -- "$1" "$TMP/out"; }
sanitizer_clean() { ! grep -q -e Sanitizer -e 'runtime error' "$TMP/all"; }

# ---- Waterbirds: five layouts, one table --------------------------------------------------
wb_table() {
  check "$1: exit 0" test $rc -eq 0
  check "$1: g0 landbird/land 3 1 2 6" row "g0 landbird/land" "3 1 2 6"
  check "$1: g1 landbird/water 1 1 2 4" row "g1 landbird/water" "1 1 2 4"
  check "$1: g2 waterbird/land 1 1 1 3" row "g2 waterbird/land" "1 1 1 3"
  check "$1: g3 waterbird/water 3 1 1 5" row "g3 waterbird/water" "3 1 1 5"
  check "$1: total 8 4 6 18" row "total" "8 4 6 18"
  check "$1: official count warning" has "found 18 images (train 8, val 4, test 6); the official release has 11788 (train 4795, val 1199, test 5794)"
}
WB=waterbird_complete95_forest2water2
run --dataset waterbirds --root $F/waterbirds/grpdro
wb_table "waterbirds tarball folder"
check "tarball folder: metadata found inside" has "grpdro/$WB/metadata.csv (group_DRO metadata.csv"
run --dataset waterbirds --root $F/waterbirds/grpdro/$WB
wb_table "waterbirds folder itself (DFR)"
run --dataset waterbirds --root $F/waterbirds/wilds
wb_table "waterbirds WILDS without RELEASE marker"
check "WILDS: names the layout" has "waterbirds_v1.0/metadata.csv (WILDS"
run --dataset waterbirds --root $F/waterbirds/subpopbench
wb_table "waterbirds SubpopBench"
check "SubpopBench: derived CSV used and said so" has "waterbirds/metadata_waterbirds.csv (SubpopBench/BalancingGroups derived"
check "SubpopBench: images in the nested folder" has "subpopbench/waterbirds/$WB/"
run --dataset waterbirds --root $F/waterbirds/balancinggroups
wb_table "waterbirds BalancingGroups"
check "BalancingGroups: top-level derived CSV" has "balancinggroups/metadata_waterbirds.csv"
run --dataset waterbirds --root $F/waterbirds/cub
wb_table "waterbirds group_DRO cub/data"
run --dataset waterbirds --root "$TMP/nothing" --csv $F/waterbirds/wilds/waterbirds_v1.0/metadata.csv
check "missing --root folder named" has "$TMP/nothing: no such folder"
run --dataset waterbirds --csv $F/waterbirds/wilds/waterbirds_v1.0/metadata.csv
wb_table "waterbirds --csv without --root"
run --dataset waterbirds --root $F/waterbirds/cub --classnames "land bird,water bird"
check "--classnames renames the classes" row "g2 water bird/land" "1 1 1 3"
run --dataset waterbirds --root $F/waterbirds/cub --classnames "a,b,c"
check "--classnames count checked" has "--classnames: waterbirds has 2 of them, 3 given"

# broken Waterbirds
run --dataset waterbirds --root $F/waterbirds/broken_html
check "HTML metadata: exit 1" test $rc -eq 1
check "HTML metadata: named as an HTML page" has "broken_html/$WB/metadata.csv: is an HTML page (probably a Google Drive or download error page), not the annotation file; download it again"
run --dataset waterbirds --root $F/waterbirds/broken_tar
check "unextracted tarball: exit 1" test $rc -eq 1
check "unextracted tarball: says extract it" has "found $F/waterbirds/broken_tar/$WB.tar.gz but no $WB/ folder next to it; extract it first (tar xzf)"
run --dataset waterbirds --root $F/waterbirds/broken_missing
check "missing images: exit 1" test $rc -eq 1
check "missing images: count" has "waterbirds: 7 of 18 images listed in"
check "missing images: first five, then stop" has "020.Yellow_breasted_Chat/Yellow_Breasted_Chat_0115_108.jpg, ... (first 5 shown)"
check "missing images: exactly five listed" test "$(grep -o '\.jpg' "$TMP/out" | wc -l)" -eq 5
run --dataset waterbirds --root $F/waterbirds/broken_columns
check "wrong columns: exit 1" test $rc -eq 1
check "wrong columns: prints the header found" has "no column for the split (looked for split, partition); header found: img_id,image,label,fold,place"
run --dataset waterbirds --root $F/waterbirds/broken_emptygroup
check "empty group: exit 1" test $rc -eq 1
check "empty group: names it" has "group g2 waterbird/land has no images in"
mkdir -p "$TMP/empty"
run --dataset waterbirds --root "$TMP/empty"
check "nothing there: lists the places looked in" has "no metadata.csv found in: $TMP/empty/metadata_waterbirds.csv,"
check "nothing there: never suggests regenerating" bash -c "! grep -qi 'generat' '$TMP/out'"

# ---- CelebA ------------------------------------------------------------------------------
celeba_table() {
  check "$1: exit 0" test $rc -eq 0
  check "$1: g0 dark hair/female 2 1 2 5" row "g0 dark hair/female" "2 1 2 5"
  check "$1: g1 dark hair/male 2 1 1 4" row "g1 dark hair/male" "2 1 1 4"
  check "$1: g2 blond hair/female 2 1 1 4" row "g2 blond hair/female" "2 1 1 4"
  check "$1: g3 blond hair/male 1 1 1 3" row "g3 blond hair/male" "1 1 1 3"
  check "$1: total 7 4 5 16" row "total" "7 4 5 16"
  check "$1: official count warning" has "found 16 images (train 7, val 4, test 5); the official release has 202599 (train 162770, val 19867, test 19962)"
}
run --dataset celeba --root $F/celeba/torchvision
celeba_table "celeba torchvision folder"
check "torchvision: txt files found under celeba/" has "torchvision/celeba/list_attr_celeba.txt (y = Blond_Hair, a = Male)"
md5() { md5sum "$1" | cut -c1-32; }
check "torchvision: attribute txt MD5 warning (file, found, expected)" has "warning: $F/celeba/torchvision/celeba/list_attr_celeba.txt: MD5 $(md5 $F/celeba/torchvision/celeba/list_attr_celeba.txt), expected 75e246fa4810816ffd6ee81facbd244c (the official file's); a re-saved copy (CRLF line ends, other spacing) is fine if the counts match the official ones"
check "torchvision: partition txt MD5 warning" has "list_eval_partition.txt: MD5 $(md5 $F/celeba/torchvision/celeba/list_eval_partition.txt), expected d32c9cbf5e040fd4025c592c306e6668"
check "torchvision: one MD5 line per file" test "$(grep -c MD5 "$TMP/out")" -eq 2
run --dataset celeba --root $F/celeba/drive
celeba_table "celeba Drive Anno/Eval/Img (CRLF)"
check "Drive: partition from Eval/" has "drive/Eval/list_eval_partition.txt"
check "Drive: images from Img/" has "drive/Img/img_align_celeba/"
run --dataset celeba --root $F/celeba/kaggle
celeba_table "celeba Kaggle CSVs"
check "Kaggle: nested image folder" has "kaggle/img_align_celeba/img_align_celeba/"
check "Kaggle CSVs: no MD5 check (torchvision lists none for them)" bash -c "! grep -q MD5 '$TMP/out'"
run --dataset celeba --root $F/celeba/groupdro
celeba_table "celeba group_DRO celebA/data"
run --dataset celeba --root $F/celeba/jtt
celeba_table "celeba JTT merged metadata.csv"
check "JTT: split column used" has "the split column of the same file"
check "JTT merged CSV: no MD5 check" bash -c "! grep -q MD5 '$TMP/out'"
run --dataset celeba --root $F/celeba/subpopbench
celeba_table "celeba SubpopBench"
check "SubpopBench: derived CSV used and said so" has "metadata_celeba.csv (derived y,a,split table"
run --dataset celeba --root $F/celeba/png
celeba_table "celeba PNG release"
check "PNG release: folder used" has "png/img_align_celeba_png/"
run --dataset celeba --root $F/celeba/reordered
celeba_table "celeba partition in another order"
check "reordered: joined by file name" has "joined by file name"
run --dataset celeba --root $F/celeba/kaggle --target Smiling --spurious Young
check "celeba --target Smiling --spurious Young: exit 0" test $rc -eq 0
check "celeba Smiling x Young: g2 smiling/not young 3 1 2 6" row "g2 smiling/not young" "3 1 2 6"
check "celeba Smiling x Young: empty val group is a warning" has "group g3 smiling/young has no val images (worst-group accuracy on val is undefined)"
check "celeba Smiling x Young: no per-group official comparison" bash -c "! grep -q 'expected' '$TMP/out'"
run --dataset celeba --root $F/celeba/subpopbench --target Smiling --spurious Eyeglasses
check "SubpopBench + other target: raw files used" has "subpopbench/celeba/list_attr_celeba.txt (y = Smiling, a = Eyeglasses)"
run --dataset celeba --root $F/celeba/drive --spurious Maleness
check "unknown attribute: lists the ones found" has "no attribute named 'Maleness'; the attributes found are: 5_o_Clock_Shadow,Arched_Eyebrows"

# broken CelebA
run --dataset celeba --root $F/celeba/broken_html
check "HTML attribute file: exit 1" test $rc -eq 1
check "HTML attribute file: named" has "broken_html/list_attr_celeba.txt: is an HTML page (probably a Google Drive"
run --dataset celeba --root $F/celeba/broken_zip
check "unextracted zip: exit 1" test $rc -eq 1
check "unextracted zip: says unzip it" has "found $F/celeba/broken_zip/Img/img_align_celeba.zip but no img_align_celeba/ folder next to it; unzip it first"
run --dataset celeba --root $F/celeba/broken_mismatch
check "mismatched partition: exit 1" test $rc -eq 1
check "mismatched partition: first mismatching row" has "celeba: row 5: $F/celeba/broken_mismatch/list_attr_celeba.txt has 000005.jpg, $F/celeba/broken_mismatch/list_eval_partition.txt has 000017.jpg"
run --dataset celeba --root $F/celeba/broken_count
check "wrong count line: exit 1" test $rc -eq 1
check "wrong count line: says so" has "list_attr_celeba.txt: line 1 says 202599 images but the file has 16 rows"
run --dataset celeba --root "$TMP/empty"
check "no CelebA files: says either format works" has "looked for list_attr_celeba.txt or list_attr_celeba.csv (either format works)"

# ---- MetaShift ---------------------------------------------------------------------------
run --dataset metashift --root $F/metashift/subpopbench
check "MetaShift SubpopBench: exit 0" test $rc -eq 0
check "MetaShift: absolute paths re-rooted" has "24 paths re-rooted from /home/alice/SubpopBench/data/metashift/MetaShift-Cat-Dog-indoor-outdoor/ to the local folder"
check "MetaShift: g0 dog/outdoor 4 1 1 6" row "g0 dog/outdoor" "4 1 1 6"
check "MetaShift: g3 cat/indoor 4 1 1 6" row "g3 cat/indoor" "4 1 1 6"
check "MetaShift: total 16 4 4 24" row "total" "16 4 4 24"
check "MetaShift: official total warning" has "found 24 images (train 16, val 4, test 4); the official release has 3499"
cp -r $F/metashift/folders "$TMP/ms"
run --dataset metashift --root "$TMP/ms"
check "MetaShift folders: exit 0" test $rc -eq 0
check "MetaShift folders: own split labelled" has "NOT SubpopBench's split (no metadata_metashift.csv found)"
check "MetaShift folders: split saved in the folder" test -s "$TMP/ms/MetaShift-Cat-Dog-indoor-outdoor/clipdebias_split_seed42.csv"
check "MetaShift folders: 65/10/25 of 24" row "total" "16 2 6 24"
check "MetaShift folders: header of the saved split" test "$(head -n 1 "$TMP/ms/MetaShift-Cat-Dog-indoor-outdoor/clipdebias_split_seed42.csv")" = "filename,y,a,split"
cp "$TMP/flat" "$TMP/first_table"
run --dataset metashift --root "$TMP/ms"
check "MetaShift folders: rerun reuses the saved split" has "saved by an earlier run; NOT SubpopBench's split"
check "MetaShift folders: same table on reuse" bash -c "diff <(grep -E '^ (g[0-3]|total) ' '$TMP/first_table') <(grep -E '^ (g[0-3]|total) ' '$TMP/flat') >/dev/null"
run --dataset metashift --root $F/metashift/folders --split-csv "$TMP/split43.csv" --seed 43
check "MetaShift --seed 43 --split-csv: written there" test -s "$TMP/split43.csv"
check "MetaShift seed 43 differs from 42" bash -c "! cmp -s '$TMP/split43.csv' '$TMP/ms/MetaShift-Cat-Dog-indoor-outdoor/clipdebias_split_seed42.csv'"
run --dataset metashift --root $F/metashift/broken_symlink --split-csv "$TMP/split_links.csv"
check "broken symlink: exit 1" test $rc -eq 1
check "broken symlink: names link and target" has "cat(indoor)/2317000.jpg is a symbolic link to /gqa/images/2317000.jpg, which does not exist (MetaShift was generated with symlinks into the GQA image folder"
run --dataset metashift --root $F/metashift/broken_paths
check "absolute path without the component: exit 1" test $rc -eq 1
check "absolute path without the component: row named" has "metadata_metashift.csv: row 1: /data/gqa/images/2317000.jpg has no MetaShift-Cat-Dog-indoor-outdoor/ component"

# ---- user CSVs ---------------------------------------------------------------------------
run --dataset csv --csv $F/csv/basic/data.csv --classnames circle,square --attr-names grass,water
check "csv: exit 0" test $rc -eq 0
check "csv: g3 square/water 2 1 1 4" row "g3 square/water" "2 1 1 4"
check "csv: total 8 4 4 16" row "total" "8 4 4 16"
run --dataset csv --csv $F/csv/noattr/labels.csv
check "csv without a: per-class table" row "class1" "2 0 1 3"
check "csv without a: default class names noted" has "class0..class2 (give --classnames"
run --dataset csv --csv $F/csv/basic/data.csv --classnames circle
check "csv: y beyond --classnames" has "data.csv: row 2 (line 3): y = 1 is out of range (0..0)"
run --dataset csv --csv $F/csv/broken_columns/data.csv
check "csv wrong columns: header printed" has "no column for the image file name (looked for filename, img_filename, image_id, img_path, image_path, path, image); header found: file,cls,fold"
run --dataset csv --root $F/csv/basic
check "csv without --csv: says it is required" has "csv: --csv FILE is required"
run --dataset imagenet --root $F/csv/basic
check "unknown data set named" has "--dataset 'imagenet' is not one of waterbirds, celeba, metashift, csv"

check "no sanitizer report" sanitizer_clean
check "fixture tree left untouched" bash -c "! find $F -name 'clipdebias_split_seed*.csv' | grep -q ."
finish cli_datasets
