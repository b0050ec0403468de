#!/usr/bin/env bash
# The model commands end to end on the committed fixtures (tests/fixtures/model) and, when
# present, on ../shared/reference/tiny:
#   info         layout, dimensions and parameter count match the fixture's expected.json
#   tokenize     prints exactly the ids upstream's algorithm gives with the fixture's vocab
#   embed-text   / embed-image  succeed, write [N, D] float32 .npy atomically (no temp file
#                left behind, an existing output untouched when the command fails)
# Numerical agreement of the outputs with the goldens is checked in test_model_fixtures.
# usage: bash tests/cli_model.sh path/to/clipdebias   (from the repository root)
set -u
export LC_ALL=C
BIN=${1:?usage: cli_model.sh path/to/clipdebias}
FIX=tests/fixtures/model
REF=../shared/reference/tiny
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
checks=0

ok() { checks=$((checks + 1)); echo "  ok   $*"; }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "  FAIL $*"; }
# jget FILE KEY: a scalar from the generator's expected.json (one "key": value per line).
jget() { sed -n "s/^ *\"$2\": *\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\} *$/\1/p" "$1" | head -n 1; }
# npy_shape FILE: the shape tuple in a .npy header, e.g. "(5, 32)".
npy_shape() { head -c 200 "$1" | tr -d '\000' | sed -n "s/.*'shape': *\(([0-9, ]*)\).*/\1/p"; }
npy_descr() { head -c 200 "$1" | tr -d '\000' | sed -n "s/.*'descr': *'\([^']*\)'.*/\1/p"; }
# run NAME CMD...: runs a command, expecting exit 0 and no sanitizer report.
run() {
  local name=$1
  shift
  "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  if [ $rc -ne 0 ] || grep -q -e Sanitizer -e 'runtime error' "$TMP/err"; then
    bad "$name: exit $rc: $(head -c 400 "$TMP/err")"
    return 1
  fi
  return 0
}

check_info() { # fixture-dir model-path
  local d=$1 m=$2 name
  name=$(basename "$d")
  run "info $name" "$BIN" info --model "$m" || return
  local lay exp
  lay=$(jget "$d/expected.json" layout)
  case $lay in hf) exp=huggingface ;; openclip) exp=openclip ;; *) exp=openai ;; esac
  local want=(
    "layout: *$exp"
    "image $(jget "$d/expected.json" image_size), patch $(jget "$d/expected.json" patch_size), grid $(jget "$d/expected.json" grid)x"
    "width $(jget "$d/expected.json" vision_width), layers $(jget "$d/expected.json" vision_layers), heads $(jget "$d/expected.json" vision_heads), mlp"
    "width $(jget "$d/expected.json" text_width), layers $(jget "$d/expected.json" text_layers), heads $(jget "$d/expected.json" text_heads), mlp"
    "context $(jget "$d/expected.json" context), vocab $(jget "$d/expected.json" vocab_size)"
    "embed dim: *$(jget "$d/expected.json" embed_dim)\$"
    "parameters: $(jget "$d/expected.json" n_params) "
    "stored $(jget "$d/expected.json" stored_dtype);"
  )
  local w missing=""
  for w in "${want[@]}"; do grep -q -e "$w" "$TMP/out" || missing="$missing [$w]"; done
  if [ -z "$missing" ]; then ok "info $name: layout, dims, $(jget "$d/expected.json" n_params) params, dtype"
  else bad "info $name: output lacks$missing"; sed 's/^/       | /' "$TMP/out"; fi
}

check_embed_image() { # name model pixels expected-shape
  local out="$TMP/img_$1.npy"
  run "embed-image $1" "$BIN" embed-image --model "$2" --pixels "$3" --out "$out" || return
  local s d
  s=$(npy_shape "$out")
  d=$(npy_descr "$out")
  if [ "$s" = "$4" ] && [ "$d" = "<f4" ]; then ok "embed-image $1: $d $s"
  else bad "embed-image $1: got descr '$d' shape '$s', expected <f4 $4"; fi
}

check_embed_text() { # name model expected-shape text...
  local name=$1 m=$2 shape=$3 out="$TMP/txt_$1.npy"
  shift 3
  run "embed-text $name" "$BIN" embed-text --model "$m" --out "$out" --text "$@" || return
  local s
  s=$(npy_shape "$out")
  if [ "$s" = "$shape" ]; then ok "embed-text $name: $s"; else bad "embed-text $name: shape '$s', expected $shape"; fi
}

echo "== info on every fixture"
while read -r name; do
  d=$FIX/$name
  model=$(jget "$d/expected.json" model)
  [ "$model" = "." ] && m=$d || m=$d/$model
  check_info "$d" "$m"
  N=$(jget "$d/expected.json" n_images)
  E=$(jget "$d/expected.json" embed_dim)
  check_embed_image "$name" "$m" "$d/pixels.npy" "($N, $E)"
done <"$FIX/fixtures.txt"

echo "== info: the matrix feature bits agree with the kernel's /proc/cpuinfo flags"
# Only for an x86 program on an x86 kernel: an aarch64 build run under qemu-user on an x86
# host reads the host's /proc/cpuinfo but has no x86 features to report.
if grep -q '^flags.* avx2' /proc/cpuinfo 2>/dev/null && run "info (machine)" "$BIN" info &&
   grep -q '^features:.* avx2' "$TMP/out"; then
  flags=" $(sed -n 's/^flags[[:space:]]*: //p' /proc/cpuinfo | head -n 1) "
  line=$(grep '^matrix:' "$TMP/out" || true)
  bits_ok=1
  for f in avx512_bf16 avx512_fp16 amx_tile amx_bf16 amx_int8; do
    want=0; case $flags in *" $f "*) want=1 ;; esac
    echo "$line" | grep -q "$f $want[,]\{0,1\}" || bits_ok=0
  done
  [ -n "$line" ] && [ $bits_ok = 1 ] && ok "info: $line" || bad "info: matrix line '$line' disagrees with /proc/cpuinfo"
fi

echo "== tokenize with the fixture's own vocab.json + merges.txt"
HF=$FIX/hf_f32
mapfile -t TEXTS <"$HF/texts.txt"
if run "tokenize hf_f32" "$BIN" tokenize --model "$HF" --text-file "$HF/texts.txt"; then
  if diff <(sed 's/[[:space:]]*$//' "$TMP/out") "$HF/texts_tokens.txt" >"$TMP/diff"; then
    ok "tokenize hf_f32: ${#TEXTS[@]} texts, ids identical to upstream's algorithm"
  else
    bad "tokenize hf_f32: ids differ (< ours, > expected):"
    sed 's/^/       | /' "$TMP/diff"
  fi
fi
if run "tokenize --vocab" "$BIN" tokenize --vocab "$HF" --text "a photo of a cat."; then
  want=$(head -n 1 "$HF/texts_tokens.txt")
  got=$(sed 's/[[:space:]]*$//' "$TMP/out")
  [ "$got" = "$want" ] && ok "tokenize --vocab folder: '$got'" || bad "tokenize --vocab: '$got', expected '$want'"
fi
if run "tokenize --out" "$BIN" tokenize --model "$HF" --text-file "$HF/texts.txt" --out "$TMP/tok.npy"; then
  s=$(npy_shape "$TMP/tok.npy")
  d=$(npy_descr "$TMP/tok.npy")
  [ "$s" = "(${#TEXTS[@]}, 77)" ] && [ "$d" = "<i4" ] && ok "tokenize --out: $d $s" ||
    bad "tokenize --out: descr '$d' shape '$s', expected <i4 (${#TEXTS[@]}, 77)"
  if cmp -s <(tail -c $((${#TEXTS[@]} * 77 * 4)) "$TMP/tok.npy") <(tail -c $((${#TEXTS[@]} * 77 * 4)) "$HF/texts_tokens.npy"); then
    ok "tokenize --out: bytes equal texts_tokens.npy"
  else bad "tokenize --out: ids differ from texts_tokens.npy"; fi
fi

echo "== embed-text"
check_embed_text hf_f32 "$HF" "(3, 32)" "a photo of a cat." "a dog" "water and land"
check_embed_text hf_f32_threads1 "$HF" "(1, 32)" "a bird" --threads 1
run "embed-text --text-file" "$BIN" embed-text --model "$HF" --text-file "$HF/texts.txt" --out "$TMP/tf.npy" &&
  { [ "$(npy_shape "$TMP/tf.npy")" = "(${#TEXTS[@]}, 32)" ] && ok "embed-text --text-file: (${#TEXTS[@]}, 32)" ||
    bad "embed-text --text-file: shape $(npy_shape "$TMP/tf.npy")"; }

echo "== outputs are atomic"
leftover=$(find "$TMP" -name '*.tmp*' | head -n 3)
[ -z "$leftover" ] && ok "no temporary files left next to the outputs" || bad "temporary files left: $leftover"
printf 'keep me' >"$TMP/keep.npy"
"$BIN" embed-image --model "$FIX/openai_f32/openai_f32.safetensors" --pixels "$FIX/openai_b16_f16/pixels.npy" \
  --out "$TMP/keep.npy" >/dev/null 2>&1
rc=$?
[ $rc -ne 0 ] && [ "$(cat "$TMP/keep.npy")" = "keep me" ] && [ -z "$(find "$TMP" -name '*.tmp*')" ] &&
  ok "a failing embed-image (exit $rc) leaves the existing output untouched" ||
  bad "failing embed-image: exit $rc, output '$(head -c 20 "$TMP/keep.npy")'"

if [ -d "$REF" ]; then
  echo "== reference model ($REF)"
  if run "info reference" "$BIN" info --model "$REF"; then
    grep -q "parameters: " "$TMP/out" && grep -q "image 224, patch 32, grid 7x7" "$TMP/out" &&
      grep -q "context 77, vocab 49408" "$TMP/out" && ok "info reference: image 224/32, vocab 49408" ||
      { bad "info reference: unexpected output"; sed 's/^/       | /' "$TMP/out"; }
  fi
  check_embed_image reference "$REF" "$REF/golden/pixels.npy" "(6, 32)"
  check_embed_image reference_openai "$REF/openai.safetensors" "$REF/golden/pixels.npy" "(6, 32)"
  check_embed_text reference "$REF" "(2, 32)" "a photo of a cat." "a photo of a landbird."
  # Reference ids of "a photo of a cat." (first row of golden/tokens.npy), read without Python.
  hlen=$(od -An -t u2 -j 8 -N 2 "$REF/golden/tokens.npy" | tr -d ' ')
  want=$(od -An -v -t d4 -j $((10 + hlen)) -N $((77 * 4)) "$REF/golden/tokens.npy" |
    tr -s ' \n' '\n\n' | grep -v '^$' | awk '{ if (NR > 1 && $1 == 0) exit; printf "%s%s", (NR > 1 ? " " : ""), $1 }')
  if run "tokenize reference gz" "$BIN" tokenize --vocab ../shared/clip/bpe_simple_vocab_16e6.txt.gz --text "a photo of a cat."; then
    got=$(sed 's/[[:space:]]*$//' "$TMP/out")
    [ "$got" = "$want" ] && ok "tokenize (bpe .txt.gz): '$got'" || bad "tokenize (bpe .txt.gz): '$got', expected '$want'"
  fi
else
  echo "(no $REF: reference checks skipped)"
fi

echo "cli_model: $checks checks, $fails failed"
[ $fails -eq 0 ]
