#!/usr/bin/env bash
# prompt-grad / tune end to end on the reference tiny model (skipped when it is absent):
# the printed loss matches upstream's, tune writes ctx + optimiser state + sidecar and
# resumes, and bad input gives exit 1 with one "clipdebias:" line.
set -u
bin=$1
ref=../shared/reference/tiny
[ -d "$ref" ] || { echo "SKIP: $ref not found"; exit 77; }
g=$ref/golden
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
common=(--model "$ref" --classnames landbird,waterbird --features "$g/coop_features.npy" --labels "$g/coop_labels.npy")

out=$("$bin" prompt-grad "${common[@]}" --n-ctx 4 --ctx "$g/coop_ctx.npy" --weights "$g/coop_weights.npy" --out-grad "$tmp/g.npy") || fail=1
want=$(sed -n 's/.*"loss": *\([0-9.eE+-]*\).*/\1/p' "$g/coop.json")
echo "prompt-grad: $out (upstream $want)"
awk -v a="${out#loss }" -v b="$want" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-5 * b) }' || { echo "FAIL: loss"; fail=1; }
[ -s "$tmp/g.npy" ] || { echo "FAIL: no gradient file"; fail=1; }

"$bin" tune "${common[@]}" --n-ctx 4 --epochs 2 --batch 4 --out "$tmp/ctx.npy" >/dev/null || { echo "FAIL: tune"; fail=1; }
for f in ctx.npy ctx.optim.npy ctx.json; do [ -s "$tmp/$f" ] || { echo "FAIL: tune did not write $f"; fail=1; }; done
grep -q '"epoch": 2' "$tmp/ctx.json" || { echo "FAIL: sidecar epoch"; fail=1; }
"$bin" tune "${common[@]}" --resume "$tmp/ctx.npy" --epochs 3 --out "$tmp/ctx.npy" | grep -q "train accuracy" || { echo "FAIL: resume"; fail=1; }
grep -q '"epoch": 3' "$tmp/ctx.json" || { echo "FAIL: resumed sidecar epoch"; fail=1; }

bad() { # expects exit 1 and exactly one "clipdebias:" line on stderr
  "$bin" "$@" >/dev/null 2>"$tmp/err"
  rc=$?
  if [ $rc -ne 1 ] || [ "$(grep -c '^clipdebias: ' "$tmp/err")" -ne 1 ]; then
    echo "FAIL (rc $rc): $*"; cat "$tmp/err"; fail=1
  fi
}
bad prompt-grad "${common[@]}" --n-ctx 3 --ctx "$g/coop_ctx.npy" --out-grad "$tmp/x.npy"
bad prompt-grad "${common[@]}" --n-ctx 4 --csc --ctx "$g/coop_ctx.npy" --out-grad "$tmp/x.npy"
bad prompt-grad --model "$ref" --classnames landbird --features "$g/coop_features.npy" --labels "$g/coop_labels.npy" --n-ctx 4 --ctx "$g/coop_ctx.npy" --out-grad "$tmp/x.npy"
bad prompt-grad "${common[@]}" --n-ctx 4 --ctx "$g/coop_ctx.npy" --position sideways --out-grad "$tmp/x.npy"
bad prompt-grad "${common[@]}" --n-ctx 4 --ctx "$g/coop_ctx.npy"
bad tune "${common[@]}" --out "$tmp/y.npy" --optim rmsprop
bad tune "${common[@]}" --out "$tmp/y.npy" --resume "$tmp/missing.npy"
bad tune --model "$ref" --classnames "a,,b" --features "$g/coop_features.npy" --labels "$g/coop_labels.npy" --out "$tmp/y.npy"
exit $fail
