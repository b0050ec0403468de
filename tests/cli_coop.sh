#!/usr/bin/env bash
# prompt-grad / tune end to end. With ../shared/reference/tiny: the printed loss matches
# upstream's. Always (on the committed HF fixture when the reference is absent): tune writes
# ctx + optimiser state + sidecar and resumes, prompt-grad runs on the tuned context, and bad
# input gives exit 1 with one "clipdebias:" line.
set -u
bin=$1
ref=../shared/reference/tiny
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
if [ -d "$ref" ]; then
  model=$ref
  g=$ref/golden
  features=$g/coop_features.npy
  labels=$g/coop_labels.npy
else
  echo "(../shared/reference absent: running on tests/fixtures/model/hf_f32, no upstream loss check)"
  model=tests/fixtures/model/hf_f32
  "$bin" embed-image --model "$model" --pixels "$model/pixels.npy" --out "$tmp/features.npy" || fail=1
  features=$tmp/features.npy
  labels=tests/fixtures/coop/labels2.npy
fi
common=(--model "$model" --classnames landbird,waterbird --features "$features" --labels "$labels")

if [ -d "$ref" ]; then
  out=$("$bin" prompt-grad "${common[@]}" --n-ctx 4 --ctx "$g/coop_ctx.npy" --weights "$g/coop_weights.npy" --out-grad "$tmp/g.npy") || fail=1
  want=$(sed -n 's/.*"loss": *\([0-9.eE+-]*\).*/\1/p' "$g/coop.json")
  echo "prompt-grad: $out (upstream $want)"
  awk -v a="${out#loss }" -v b="$want" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-5 * b) }' || { echo "FAIL: loss"; fail=1; }
  [ -s "$tmp/g.npy" ] || { echo "FAIL: no gradient file"; fail=1; }
fi

"$bin" tune "${common[@]}" --n-ctx 4 --epochs 2 --batch 2 --out "$tmp/ctx.npy" >/dev/null || { echo "FAIL: tune"; fail=1; }
for f in ctx.npy ctx.optim.npy ctx.json; do [ -s "$tmp/$f" ] || { echo "FAIL: tune did not write $f"; fail=1; }; done
grep -q '"epoch": 2' "$tmp/ctx.json" || { echo "FAIL: sidecar epoch"; fail=1; }
"$bin" tune "${common[@]}" --resume "$tmp/ctx.npy" --epochs 3 --out "$tmp/ctx.npy" | grep -q "train accuracy" || { echo "FAIL: resume"; fail=1; }
grep -q '"epoch": 3' "$tmp/ctx.json" || { echo "FAIL: resumed sidecar epoch"; fail=1; }
out=$("$bin" prompt-grad "${common[@]}" --n-ctx 4 --ctx "$tmp/ctx.npy" --out-grad "$tmp/g2.npy") || fail=1
echo "prompt-grad on the tuned context: $out"
awk -v a="${out#loss }" 'BEGIN { exit !(a == a + 0 && a >= 0 && a < 100) }' || { echo "FAIL: loss not a finite number"; fail=1; }
[ -s "$tmp/g2.npy" ] || { echo "FAIL: no gradient file"; fail=1; }
ctx=$tmp/ctx.npy

bad() { # expects exit 1 and exactly one "clipdebias:" line on stderr
  "$bin" "$@" >/dev/null 2>"$tmp/err"
  rc=$?
  if [ $rc -ne 1 ] || [ "$(grep -c '^clipdebias: ' "$tmp/err")" -ne 1 ]; then
    echo "FAIL (rc $rc): $*"; cat "$tmp/err"; fail=1
  fi
}
bad prompt-grad "${common[@]}" --n-ctx 3 --ctx "$ctx" --out-grad "$tmp/x.npy"
bad prompt-grad "${common[@]}" --n-ctx 4 --csc --ctx "$ctx" --out-grad "$tmp/x.npy"
bad prompt-grad --model "$model" --classnames landbird --features "$features" --labels "$labels" --n-ctx 4 --ctx "$ctx" --out-grad "$tmp/x.npy"
bad prompt-grad "${common[@]}" --n-ctx 4 --ctx "$ctx" --position sideways --out-grad "$tmp/x.npy"
bad prompt-grad "${common[@]}" --n-ctx 4 --ctx "$ctx"
bad tune "${common[@]}" --out "$tmp/y.npy" --optim rmsprop
bad tune "${common[@]}" --out "$tmp/y.npy" --resume "$tmp/missing.npy"
bad tune --model "$model" --classnames "a,,b" --features "$features" --labels "$labels" --out "$tmp/y.npy"
exit $fail
