#!/usr/bin/env bash
# clipdebias run end to end on the synthetic Waterbirds tree: embedding into RUN_DIR/cache,
# every method over two seeds, the RUN_DIR schema (tool_runcheck), report.html well-formed and
# offline (tool_pagecheck), the stage commands reproducing run's files, a run killed in the
# middle of a pair and rerun giving the same files as an uninterrupted one (pairs in lockstep,
# also from different epochs), lockstep = one pair after the other bit for bit, and bad input (one
# "clipdebias:" line, exit 1). On the committed fixture model, and on ../shared/reference/tiny
# when it is there.
# usage: bash tests/cli_run.sh path/to/clipdebias   (from the repository root)
set -u
BIN=${1:?usage: cli_run.sh path/to/clipdebias}
RUNCHECK=$(dirname "$BIN")/tool_runcheck
PAGECHECK=$(dirname "$BIN")/tool_pagecheck
. tests/check_lib.sh
WB=tests/fixtures/datasets/waterbirds/wilds
CSV=tests/fixtures/datasets/csv

same() { cmp -s "$1" "$2"; }
# results.json / done.json equal apart from the wall time
same_but_wall() { diff <(grep -v wall_seconds "$1") <(grep -v wall_seconds "$2") >/dev/null; }

end_to_end() { # MODEL NAME
  local model=$1 name=$2 out=$TMP/$2
  echo "== $name: run on the Waterbirds tree"
  "$BIN" run --dataset waterbirds --root $WB --skip-bad --model "$model" --out "$out" --epochs 3 --seeds 0,1 \
    --methods zeroshot,erm,dpt,oracle,gdro,gdro-pseudo >"$TMP/log" 2>"$TMP/err"
  check "$name: run exits 0" test $? -eq 0
  check "$name: schema of RUN_DIR" "$RUNCHECK" "$out"
  check "$name: the pairs trained in lockstep" grep -q "^10 (method, seed) pairs trained in lockstep" "$TMP/log"
  "$BIN" run --cache "$out/cache" --model "$model" --out "$out-off" --epochs 3 --seeds 0,1 \
    --methods zeroshot,erm,dpt,oracle,gdro,gdro-pseudo --lockstep off >"$TMP/log-off" 2>&1
  check "$name: --lockstep off trains one pair after the other" test "$(grep -c 'lockstep' "$TMP/log-off")" -eq 0
  local f ok=1
  for f in metrics.jsonl a_pseudo.npy $(cd "$out" && ls */seed*/{metrics.jsonl,*.npy,ctx*.json}); do
    same "$out/$f" "$out-off/$f" || { ok=0; echo "       | $f differs"; }
  done
  check "$name: lockstep = one by one: every pair's files, bit for bit" test $ok -eq 1
  check "$name: ... and results.json apart from the wall time" same_but_wall "$out/results.json" "$out-off/results.json"
  check "$name: report.html well-formed and self-contained" "$PAGECHECK" xml "$out/report.html"
  check "$name: the table ends the output" grep -q -E "^gdro-pseudo +[0-9.]+ ± [0-9.]+" "$TMP/log"
  check "$name: pseudo-label accuracy printed" grep -q "^pseudo-label accuracy (train + val, " "$TMP/log"
  check "$name: embedded into RUN_DIR/cache" test -s "$out/cache/features.npy"
  for f in ctx_selected.npy ctx_selected.json ctx_last.npy ctx_last.optim.npy ctx.json predictions.npy metrics.jsonl done.json; do
    check "$name: dpt/seed1/$f" test -s "$out/dpt/seed1/$f"
  done
  check "$name: no resume state left" test ! -e "$out/dpt/seed1/state"
  "$BIN" eval --cache "$out/cache" --model "$model" --ctx "$out/dpt/seed1/ctx_selected.npy" --out "$TMP/ev" >/dev/null
  check "$name: eval of the selected context = the pair's predictions" same "$TMP/ev/predictions.npy" "$out/dpt/seed1/predictions.npy"
  "$BIN" zeroshot --cache "$out/cache" --model "$model" --out "$TMP/zs" >/dev/null
  check "$name: zeroshot = run's zero-shot predictions" same "$TMP/zs/predictions.npy" "$out/zeroshot/predictions.npy"
  "$BIN" pseudolabel --cache "$out/cache" --model "$model" --out "$TMP/a.npy" >/dev/null
  check "$name: pseudolabel = run's a_pseudo.npy" same "$TMP/a.npy" "$out/a_pseudo.npy"
  # tune on the cache: the same training job as run's pairs, so the same bits (ctx_init as run's default)
  local tc=(--cache "$out/cache" --model "$model" --ctx-init "a photo of a" --epochs 3 --seed 1)
  "$BIN" tune "${tc[@]}" --out "$TMP/tc-erm.npy" >/dev/null 2>&1
  "$BIN" tune "${tc[@]}" --weights-from dpt --attrs "$out/a_pseudo.npy" --out "$TMP/tc-dpt.npy" >/dev/null 2>&1
  "$BIN" tune "${tc[@]}" --weights-from gdro --out "$TMP/tc-gdro.npy" >/dev/null 2>&1
  for f in erm dpt gdro; do
    check "$name: tune --cache = run's $f pair, context" same "$TMP/tc-$f.npy" "$out/$f/seed1/ctx_last.npy"
    check "$name: ... and optimiser state" same "$TMP/tc-$f.optim.npy" "$out/$f/seed1/ctx_last.optim.npy"
  done
  # tune's DPT weighting on raw arrays: zero-shot labels, pseudo attributes; resumed weights
  local tune=(--model "$model" --features "$out/cache/features.npy" --labels "$out/zeroshot/predictions.npy"
              --classnames landbird,waterbird --weights-from dpt --attrs "$out/a_pseudo.npy" --batch 4)
  "$BIN" tune "${tune[@]}" --epochs 2 --out "$TMP/t.npy" >/dev/null 2>&1
  check "$name: tune --weights-from dpt" grep -q '"states": \[{"epoch": 1, .*{"epoch": 2,' "$TMP/t.weights.json"
  "$BIN" tune "${tune[@]}" --resume "$TMP/t.npy" --epochs 3 --out "$TMP/t.npy" >/dev/null 2>&1
  check "$name: ... resumed with its weights" grep -q '{"epoch": 3,' "$TMP/t.weights.json"
  "$BIN" run --dataset waterbirds --root $WB --skip-bad --model "$model" --out "$out" --epochs 3 --seeds 0,1 \
    --methods zeroshot,erm,dpt,oracle,gdro,gdro-pseudo >"$TMP/log2" 2>&1
  check "$name: a rerun reuses every pair" test "$(grep -c 'finished earlier' "$TMP/log2")" -eq 10
  check "$name: ... and the cache" grep -q "already there" "$TMP/log2"
  "$BIN" run --cache "$out/cache" --model "$model" --out "$out-linear" --head linear --epochs 2 --seeds 0 \
    --methods zeroshot,erm,dpt --lr 0.1 >/dev/null 2>&1
  check "$name: --head linear runs" test $? -eq 0
  check "$name: --head linear passes the schema" "$RUNCHECK" "$out-linear"
  "$BIN" eval --cache "$out/cache" --model "$model" --ctx "$out-linear/dpt/seed0/ctx_selected.npy" --out "$TMP/evl" >/dev/null
  check "$name: eval of a linear probe = its predictions" same "$TMP/evl/predictions.npy" "$out-linear/dpt/seed0/predictions.npy"
}

interrupted() { # MODEL: kill -9 inside a pair, rerun, compare with an uninterrupted run
  local model=$1 args=(--model "$1" --epochs 40 --batch 2 --seeds 0 --methods zeroshot,erm,dpt)
  # (the cache in $TMP/fixture was embedded by end_to_end with this model)
  echo "== interrupted run"
  "$BIN" run --cache "$TMP/fixture/cache" --out "$TMP/whole" "${args[@]}" >/dev/null 2>&1
  "$BIN" run --cache "$TMP/fixture/cache" --out "$TMP/cut" "${args[@]}" >/dev/null 2>&1 &
  local pid=$! n=0
  until ls "$TMP"/cut/*/seed0/state/state.json >/dev/null 2>&1 || [ $n -ge 3000 ]; do sleep 0.01; n=$((n + 1)); done
  kill -9 $pid 2>/dev/null
  wait $pid 2>/dev/null
  check "killed inside a pair (a state saved, the run unfinished)" test ! -e "$TMP/cut/results.json"
  "$BIN" run --cache "$TMP/fixture/cache" --out "$TMP/cut" "${args[@]}" >"$TMP/log" 2>&1
  check "the rerun finishes" test $? -eq 0
  check "the rerun continued the interrupted pair" grep -q "resumed after epoch" "$TMP/log"
  for f in metrics.jsonl erm/seed0/ctx_selected.npy erm/seed0/predictions.npy dpt/seed0/ctx_last.npy dpt/seed0/metrics.jsonl; do
    check "$f identical to the uninterrupted run" same "$TMP/whole/$f" "$TMP/cut/$f"
  done
  check "results.json identical apart from the wall time" same_but_wall "$TMP/whole/results.json" "$TMP/cut/results.json"
  check "no temporary file left" test -z "$(find "$TMP/cut" -name '*.tmp.*')"
  # one pair at a time, killed inside the first pair: the rerun steps the resumed pair and a
  # fresh one in lockstep from different epochs
  "$BIN" run --cache "$TMP/fixture/cache" --out "$TMP/cut2" "${args[@]}" --lockstep off >/dev/null 2>&1 &
  pid=$! n=0
  until ls "$TMP"/cut2/erm/seed0/state/state.json >/dev/null 2>&1 || [ $n -ge 3000 ]; do sleep 0.01; n=$((n + 1)); done
  kill -9 $pid 2>/dev/null
  wait $pid 2>/dev/null
  check "killed inside the first pair (--lockstep off)" test ! -e "$TMP/cut2/dpt/seed0/state/state.json"
  "$BIN" run --cache "$TMP/fixture/cache" --out "$TMP/cut2" "${args[@]}" >"$TMP/log" 2>&1
  check "the lockstep rerun resumed one pair and started the other" \
    grep -q "resumed after epoch" "$TMP/log"
  for f in metrics.jsonl erm/seed0/ctx_selected.npy dpt/seed0/ctx_last.npy dpt/seed0/metrics.jsonl erm/seed0/metrics.jsonl; do
    check "$f identical to the uninterrupted run (lockstep from different epochs)" same "$TMP/whole/$f" "$TMP/cut2/$f"
  done
}

bad_input() { # MODEL (the cache in $TMP/fixture was embedded with it)
  local model=$1 c=$TMP/fixture/cache
  echo "== bad input"
  expect_fail "no cache and no data set" "either --cache" "$BIN" run --model "$model" --out "$TMP/x"
  expect_fail "cache and data set" "either --cache" "$BIN" run --cache "$c" --dataset waterbirds --root $WB --model "$model" --out "$TMP/x"
  expect_fail "unknown method" "unknown method 'dtp'" "$BIN" run --cache "$c" --model "$model" --out "$TMP/x" --methods erm,dtp
  expect_fail "seed twice" "listed twice" "$BIN" run --cache "$c" --model "$model" --out "$TMP/x" --seeds 0,0
  expect_fail "unknown selection" "--select must be" "$BIN" run --cache "$c" --model "$model" --out "$TMP/x" --select best
  expect_fail "lockstep neither on nor off" "--lockstep must be on or off" "$BIN" run --cache "$c" --model "$model" --out "$TMP/x" --lockstep yes
  expect_fail "unknown head" "--head must be" "$BIN" run --cache "$c" --model "$model" --out "$TMP/x" --head conv
  expect_fail "three attribute prompts for two values" "3 attribute prompts for 2 attribute values" \
    "$BIN" run --cache "$c" --model "$model" --out "$TMP/x" --attr-prompt "land." --attr-prompt "water." --attr-prompt "sky."
  expect_fail "other settings into a finished RUN_DIR" "another \"epochs\"" \
    "$BIN" run --cache "$c" --model "$model" --out "$TMP/fixture" --epochs 4 --seeds 0,1 --methods zeroshot,erm,dpt,oracle,gdro,gdro-pseudo
  expect_fail "cache of another model" "embedded with another model" \
    "$BIN" run --cache "$c" --model tests/fixtures/model/hf_bf16 --vocab tests/fixtures/model/hf_f32 --out "$TMP/x"
  expect_fail "csv data set without attribute prompts" "no default attribute prompts.*0 = plain" \
    "$BIN" run --dataset csv --root $CSV/basic --csv $CSV/basic/data.csv --attr-names plain,striped --model "$model" --out "$TMP/csv"
  expect_fail "oracle without the true attribute" "method oracle needs the true attribute" \
    "$BIN" run --dataset csv --root $CSV/noattr --csv $CSV/noattr/labels.csv --attr-prompt "a plain shape." \
    --attr-prompt "a striped shape." --model "$model" --out "$TMP/noattr" --methods erm,oracle
  expect_fail "template without {}" "must contain \"\\{\\}\"" \
    "$BIN" zeroshot --cache "$c" --model "$model" --out "$TMP/x" --template "a photo."
  expect_fail "eval of a missing context" "ctx_nope.npy needs its sidecar" \
    "$BIN" eval --cache "$c" --model "$model" --ctx "$TMP/ctx_nope.npy" --out "$TMP/x"
  expect_fail "tune --weights-from without --attrs" "needs --attrs" \
    "$BIN" tune --model "$model" --features x.npy --labels y.npy --classnames a,b --out "$TMP/c.npy" --weights-from dpt
}

end_to_end tests/fixtures/model/hf_f32 fixture
interrupted tests/fixtures/model/hf_f32
bad_input tests/fixtures/model/hf_f32
if [ -d ../shared/reference/tiny ]; then
  end_to_end ../shared/reference/tiny reference
else
  echo "(../shared/reference absent: the reference model part is skipped)"
fi
finish cli_run
