#!/usr/bin/env bash
# Bad input to the model commands: every case must exit non-zero (and < 128: no crash), print
# exactly one stderr line "clipdebias: ..." naming the file or tensor and the problem, and
# no sanitizer report. Hostile files are derived from the committed fixtures with shell tools
# only (head, tail, od, printf, sed on the safetensors JSON header).
# usage: bash tests/cli_badinput.sh path/to/clipdebias   (from the repository root)
set -u
export LC_ALL=C
BIN=${1:?usage: cli_badinput.sh path/to/clipdebias}
FIX=tests/fixtures/model
GOOD=$FIX/openai_f32/openai_f32.safetensors
PIX=$FIX/openai_f32/pixels.npy
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
checks=0

# expect_fail NAME PATTERN CMD...: non-zero exit < 128, one stderr line starting
# "clipdebias: " that matches every |-separated extended regex in PATTERN... (all must match;
# separate alternatives with '|' inside one regex, several regexes with ';;').
expect_fail() {
  local name=$1 pat=$2
  shift 2
  "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$? lines why=""
  checks=$((checks + 1))
  lines=$(grep -c '' "$TMP/err")
  [ $rc -eq 0 ] && why="exit 0"
  [ $rc -ge 128 ] && why="crashed (exit $rc)"
  grep -q -e Sanitizer -e 'runtime error' -e 'LeakSanitizer' "$TMP/err" && why="$why sanitizer report"
  [ "$lines" -ne 1 ] && why="$why $lines stderr lines"
  head -n 1 "$TMP/err" | grep -q '^clipdebias: ' || why="$why no 'clipdebias: ' prefix"
  local p rest=$pat
  while [ -n "$rest" ]; do
    p=${rest%%;;*}
    [ "$p" = "$rest" ] && rest="" || rest=${rest#*;;}
    grep -q -i -E -e "$p" "$TMP/err" || why="$why message lacks /$p/"
  done
  if [ -z "$why" ]; then
    echo "  ok   $name (exit $rc): $(head -c 220 "$TMP/err")"
  else
    fails=$((fails + 1))
    echo "  FAIL $name:$why"
    sed 's/^/       | /' "$TMP/err" | head -n 8
  fi
}

# le64 N: N as 8 little-endian bytes.
le64() {
  local n=$1 s="" i
  for i in 0 1 2 3 4 5 6 7; do s="$s$(printf '\\%03o' $(((n >> (8 * i)) & 255)))"; done
  printf "$s"
}
HLEN=$(od -An -t u8 -N 8 "$GOOD" | tr -d ' ')
SIZE=$(wc -c <"$GOOD")
# edit_header OUT SED-EXPR: a copy of GOOD with its JSON header rewritten (length updated).
edit_header() {
  head -c $((8 + HLEN)) "$GOOD" | tail -c "$HLEN" | sed -E -e "$2" >"$TMP/hdr"
  cmp -s "$TMP/hdr" <(head -c $((8 + HLEN)) "$GOOD" | tail -c "$HLEN") && echo "edit_header: '$2' changed nothing" >&2
  { le64 "$(wc -c <"$TMP/hdr")"; cat "$TMP/hdr"; tail -c +$((9 + HLEN)) "$GOOD"; } >"$1"
}
ei() { "$BIN" embed-image --model "$1" --pixels "${2:-$PIX}" --out "$TMP/e.npy"; }
# info loads both towers (embed-image reads only the image tower's tensors)
inf() { "$BIN" info --model "$1"; }

echo "== model paths and folders"
expect_fail "missing model folder" "$TMP/nope;;no such|not found|does not exist" ei "$TMP/nope"
mkdir -p "$TMP/empty_dir"
expect_fail "folder without configs" "empty_dir;;config" ei "$TMP/empty_dir"
mkdir -p "$TMP/noweights"
cp "$FIX/hf_f32/config.json" "$TMP/noweights/"
expect_fail "config.json but no weights" "noweights/model.safetensors;;not found|missing|no such|does not exist" ei "$TMP/noweights"
mkdir -p "$TMP/ocnoweights"
cp "$FIX/openclip_f32/open_clip_config.json" "$TMP/ocnoweights/"
expect_fail "open_clip_config.json but no weights" "open_clip_model.safetensors" ei "$TMP/ocnoweights"
cp "$GOOD" "$TMP/model.pt"
expect_fail "a .pt pickle" "model.pt;;safetensors" ei "$TMP/model.pt"

echo "== malformed configs"
mkdir -p "$TMP/badcfg"
cp "$FIX/hf_f32/model.safetensors" "$TMP/badcfg/"
printf '{"text_config": {"hidden_size": 64,' >"$TMP/badcfg/config.json"
expect_fail "truncated config.json" "badcfg/config.json" ei "$TMP/badcfg"
printf '{"text_config": {"hidden_size": 64}, "vision_config": [1, 2]}' >"$TMP/badcfg/config.json"
expect_fail "config.json with wrong types" "badcfg/config.json" ei "$TMP/badcfg"
printf '[]' >"$TMP/badcfg/config.json"
expect_fail "config.json not an object" "badcfg/config.json" ei "$TMP/badcfg"
mkdir -p "$TMP/badoc"
cp "$FIX/openclip_f32/open_clip_model.safetensors" "$TMP/badoc/"
printf '{"model_cfg": {"embed_dim": 24, "vision_cfg": {"width": 64}' >"$TMP/badoc/open_clip_config.json"
expect_fail "truncated open_clip_config.json" "open_clip_config.json" ei "$TMP/badoc"
sed 's/"heads": 1/"heads": 3/' "$FIX/openclip_f32/open_clip_config.json" >"$TMP/badoc/open_clip_config.json"
expect_fail "open_clip heads not dividing width" "heads" inf "$TMP/badoc"

echo "== hostile safetensors"
: >"$TMP/empty.safetensors"
expect_fail "empty file" "empty.safetensors" ei "$TMP/empty.safetensors"
head -c 300 "$GOOD" >"$TMP/trunc_header.safetensors"
expect_fail "truncated inside the header" "trunc_header.safetensors;;header|exceed|short" ei "$TMP/trunc_header.safetensors"
head -c $((SIZE - 100)) "$GOOD" >"$TMP/trunc_data.safetensors"
expect_fail "truncated inside the data" "trunc_data.safetensors;;exceed|bytes|offset" ei "$TMP/trunc_data.safetensors"
{ le64 4000000000; printf '{"a":1}'; } >"$TMP/hlen.safetensors"
expect_fail "header length beyond the file" "hlen.safetensors;;header length" ei "$TMP/hlen.safetensors"
{ le64 18446744073709551615; printf '{}'; } >"$TMP/hlen_max.safetensors"
expect_fail "header length 2^64-1" "hlen_max.safetensors;;header length" ei "$TMP/hlen_max.safetensors"
{ le64 8; printf '{"a":[1,'; } >"$TMP/badjson.safetensors"
expect_fail "header not JSON" "badjson.safetensors" ei "$TMP/badjson.safetensors"
edit_header "$TMP/offsets.safetensors" 's/("ln_final\.bias":\{[^}]*"data_offsets":\[[0-9]+,)[0-9]+\]/\1999999999]/'
expect_fail "data_offsets out of range" "offsets.safetensors;;ln_final.bias;;data_offsets|offset" ei "$TMP/offsets.safetensors"
edit_header "$TMP/offsets_rev.safetensors" 's/("ln_final\.bias":\{[^}]*"data_offsets":\[)[0-9]+,([0-9]+)\]/\1999999999,\2]/'
expect_fail "data_offsets end before begin" "offsets_rev.safetensors;;ln_final.bias" ei "$TMP/offsets_rev.safetensors"
edit_header "$TMP/size.safetensors" 's/("ln_final\.weight":\{"dtype":"F32","shape":\[)64\]/\165]/'
expect_fail "shape disagrees with byte size" "size.safetensors;;ln_final.weight" ei "$TMP/size.safetensors"
edit_header "$TMP/huge_shape.safetensors" 's/("ln_final\.weight":\{"dtype":"F32","shape":\[)64\]/\14294967296,4294967296,4294967296]/'
expect_fail "shape overflowing size_t" "huge_shape.safetensors;;ln_final.weight" ei "$TMP/huge_shape.safetensors"
edit_header "$TMP/dtype.safetensors" 's/("ln_final\.weight":\{"dtype":)"F32"/\1"Q4_K"/'
expect_fail "unknown dtype" "dtype.safetensors;;ln_final.weight;;dtype" ei "$TMP/dtype.safetensors"
edit_header "$TMP/intdtype.safetensors" 's/("ln_final\.weight":\{"dtype":)"F32"/\1"I32"/'
expect_fail "integer dtype for a weight" "intdtype.safetensors;;ln_final.weight;;I32|dtype" inf "$TMP/intdtype.safetensors"
checks=$((checks + 1))
if ei "$TMP/intdtype.safetensors" >/dev/null 2>&1; then
  echo "  ok   embed-image does not read the (broken) text tower"
else
  echo "  FAIL embed-image read the text tower it does not use"
  fails=$((fails + 1))
fi
edit_header "$TMP/missing.safetensors" 's/"visual\.ln_post\.weight"/"visual.ln_post.weighx"/'
expect_fail "missing tensor" "missing.safetensors;;visual.ln_post.weight;;missing" ei "$TMP/missing.safetensors"
edit_header "$TMP/wrongshape.safetensors" 's/("text_projection":\{"dtype":"F32","shape":\[)64,24\]/\124,64]/'
expect_fail "tensor shape wrong for the model" "wrongshape.safetensors;;text_projection" inf "$TMP/wrongshape.safetensors"
# 16 rows instead of 1 + 4*4 with a byte range that agrees (a 256-byte hole is left behind):
# the loader, not the file reader, has to notice that 16 is not 1 + a square.
POSEND=$(head -c $((8 + HLEN)) "$GOOD" | tail -c "$HLEN" |
  sed -n -E 's/.*"visual\.positional_embedding":\{"dtype":"F32","shape":\[17,64\],"data_offsets":\[[0-9]+,([0-9]+)\].*/\1/p')
edit_header "$TMP/pos.safetensors" "s/(\"visual\\.positional_embedding\":\\{\"dtype\":\"F32\",\"shape\":\\[)17,64\\],(\"data_offsets\":\\[[0-9]+,)$POSEND\\]/\\116,64],\\2$((POSEND - 256))]/"
expect_fail "positional embedding rows" "pos.safetensors;;visual.positional_embedding" ei "$TMP/pos.safetensors"
edit_header "$TMP/dup.safetensors" 's/"ln_final\.bias"/"ln_final.weight"/'
expect_fail "a tensor named twice" "dup.safetensors;;ln_final.weight" ei "$TMP/dup.safetensors"

echo "== tokenizer and inputs"
expect_fail "embed-text without tokenizer files" "tokenizer|vocab" \
  "$BIN" embed-text --model "$GOOD" --text "a cat" --out "$TMP/t.npy"
expect_fail "embed-text with a missing --vocab" "nonexistent.txt.gz" \
  "$BIN" embed-text --model "$GOOD" --vocab "$TMP/nonexistent.txt.gz" --text "a cat" --out "$TMP/t.npy"
expect_fail "pixels for a 64 model given to a 32 model" "pixels.npy;;shape|64" ei "$GOOD" "$FIX/openai_b16_f16/pixels.npy"
expect_fail "pixels file missing" "nopix.npy" ei "$GOOD" "$TMP/nopix.npy"
expect_fail "pixels not a .npy" "openai_f32.safetensors|npy" ei "$GOOD" "$GOOD"
expect_fail "token ids instead of pixels" "tokens.npy" ei "$GOOD" "$FIX/openai_f32/tokens.npy"
head -c 100 "$PIX" >"$TMP/short.npy"
expect_fail "truncated pixels .npy" "short.npy" ei "$GOOD" "$TMP/short.npy"
expect_fail "embed-image without --pixels" "pixels" "$BIN" embed-image --model "$GOOD" --out "$TMP/e.npy"
expect_fail "output in a missing folder" "$TMP/no/such/dir" \
  "$BIN" embed-image --model "$GOOD" --pixels "$PIX" --out "$TMP/no/such/dir/e.npy"
expect_fail "text too long without --truncate" "too long|context|77" \
  "$BIN" embed-text --model "$FIX/hf_f32" --text "$(printf 'cat %.0s' $(seq 1 100))" --out "$TMP/t.npy"

echo "cli_badinput: $checks checks, $fails failed"
[ $fails -eq 0 ]
