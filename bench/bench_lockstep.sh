#!/usr/bin/env bash
# Lockstep training against one pair after the other: `clipdebias run` of erm, dpt, oracle and
# gdro x 3 seeds (12 prompt-tuned pairs) on a ViT-B/32-sized text tower (random weights, real
# shapes; bench_run.sh's checkpoint and Waterbirds-shaped toy cache), --lockstep on and off in
# alternating rounds so that a shared machine disturbs both alike. Per round: each run's wall
# time (run's own, results.json), its pair-steps/s (12 pairs x epochs x steps per epoch / that
# time), its CPU time (user + system, all threads: what other processes on a shared machine
# cannot inflate) and the paired ratios of both; then the median, min and max of the ratios,
# and whether the two runs' results agree (every pair's files, bit for bit). Beside the whole
# run (model load, zero-shot and pseudo-labels included, which a run of a few hundred
# pair-steps like this one spends a good share on), the training alone: pair-steps over the
# pairs' own training time (each pair's done.json: the sum over pairs one by one, the group's
# time once in lockstep), what a Waterbirds-size run of ~90,000 pair-steps is made of.
# With precision bf16 the lockstep side runs --precision bf16 against --lockstep off in fp32
# (the issue's comparison), and a bf16 --lockstep off run in each round is held to the bf16
# lockstep run's files bit for bit instead (bf16 and fp32 results differ by design).
# The prompts are run's default (--ctx-init "a photo of a": 4 context vectors, 13 rows a pair
# with the two class names, 156 stacked); n_ctx N gives N random context vectors instead
# (--n-ctx 16: 25 rows a pair, 300 stacked).
# usage: bench/bench_lockstep.sh BUILD_DIR [threads] [train_rows] [epochs] [rounds] [fp32|bf16] [n_ctx]
set -euo pipefail
build=${1:?usage: bench_lockstep.sh BUILD_DIR [threads] [train_rows] [epochs] [rounds] [fp32|bf16] [n_ctx]}
threads=${2:-$(nproc)}
n_train=${3:-320}
epochs=${4:-2}
rounds=${5:-3}
precision=${6:-fp32}
n_ctx=${7:-}
run_args=() # flags both sides of the comparison pass to run
[ -n "$n_ctx" ] && run_args=(--n-ctx "$n_ctx")
# run warms up for 1 epoch by default, which needs a second: one epoch trains at --lr throughout
[ "$epochs" -lt 2 ] && run_args+=(--warmup-epochs 0)
case $precision in fp32 | bf16) ;; *) echo "bench_lockstep: precision must be fp32 or bf16, not '$precision'" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
work=${CD_BENCH_DIR:-/tmp/clipdebias-bench}
. "$here/bench_lock.sh" && cd_bench_lock "$work"
CD_BENCH_PREPARE_ONLY=1 CD_BENCH_DIR=$work bash "$here/bench_run.sh" "$build" "$threads" "$n_train" "$epochs" >/dev/null
bin=$build/clipdebias
batch=32
steps=$((n_train / batch))
pair_steps=$((12 * epochs * steps))
echo "== run: erm,dpt,oracle,gdro x seeds 0,1,2, $epochs epochs of $steps steps (batch $batch): $pair_steps pair-steps; threads $threads; prompts: ${n_ctx:+n_ctx $n_ctx (random)}$([ -n "$n_ctx" ] || echo "run's default (4 context vectors)")"
[ "$precision" = bf16 ] && echo "   lockstep side: --precision bf16; off side: fp32 --lockstep off"
one() { # on|off round [precision] -> "wall_seconds cpu_seconds"
  local p=${3:-fp32} out=$work/lockstep-$1-$2${3:+-$3}
  rm -rf "$out"
  TIMEFORMAT='%U %S'
  { time "$bin" run --cache "$work/cache" --model "$work/vitb32.safetensors" --out "$out" --methods erm,dpt,oracle,gdro \
    --seeds 0,1,2 --epochs "$epochs" --batch $batch --threads "$threads" --lockstep "$1" --precision "$p" ${run_args[@]+"${run_args[@]}"} >"$work/log-$1" 2>&1; } 2>"$work/time-$1" ||
    { echo "bench_lockstep: run --lockstep $1 --precision $p failed:" >&2; tail -n 3 "$work/log-$1" >&2; exit 1; }
  echo "$(sed -n 's/.*"wall_seconds": \([0-9.]*\).*/\1/p' "$out/results.json" | tail -1) $(awk '{ print $1 + $2 }' "$work/time-$1")"
}
# the lockstep side's precision: with bf16 its files are compared with a bf16 --lockstep off run
on_p=""
[ "$precision" = bf16 ] && on_p=bf16
# seconds of training in a run's folder: the pairs' wall_seconds summed (off) or their largest
# (lockstep: every pair carries the group's time)
train_seconds() { # dir sum|max
  cat "$1"/*/seed*/done.json | sed -n 's/.*"wall_seconds": \([0-9.]*\).*/\1/p' |
    awk -v m="$2" '{ s += $1; if ($1 > x) x = $1 } END { printf "%.3f", m == "sum" ? s : x }'
}
ratios=() cpu_ratios=() train_ratios=()
for r in $(seq 1 "$rounds"); do
  # (a failed run exits its command substitution only: stop here too)
  if [ $((r % 2)) -eq 1 ]; then off=$(one off $r) && on=$(one on $r $on_p) || exit 1
  else on=$(one on $r $on_p) && off=$(one off $r) || exit 1; fi
  read -r off_s off_c <<<"$off"
  read -r on_s on_c <<<"$on"
  ratio=$(awk -v a="$off_s" -v b="$on_s" 'BEGIN { printf "%.2f", a / b }')
  cpu_ratio=$(awk -v a="$off_c" -v b="$on_c" 'BEGIN { printf "%.2f", a / b }')
  ratios+=("$ratio")
  cpu_ratios+=("$cpu_ratio")
  awk -v a="$off_s" -v b="$on_s" -v ca="$off_c" -v cb="$on_c" -v n=$pair_steps -v r=$r -v x="$ratio" -v cx="$cpu_ratio" 'BEGIN {
    printf "round %d: off %.1f s (%.2f pair-steps/s, cpu %.1f s), lockstep %.1f s (%.2f pair-steps/s, cpu %.1f s): %sx wall, %sx cpu\n",
           r, a, n / a, ca, b, n / b, cb, x, cx }'
  t_off=$(train_seconds "$work/lockstep-off-$r" sum) t_on=$(train_seconds "$work/lockstep-on-$r${on_p:+-$on_p}" max)
  train_ratios+=("$(awk -v a="$t_off" -v b="$t_on" 'BEGIN { printf "%.2f", a / b }')")
  awk -v a="$t_off" -v b="$t_on" -v n=$pair_steps 'BEGIN {
    printf "         training alone: off %.1f s (%.2f pair-steps/s), lockstep %.1f s (%.2f pair-steps/s): %.2fx\n", a, n / a, b, n / b, a / b }'
  same=yes ref=$work/lockstep-off-$r
  if [ "$precision" = bf16 ]; then
    b=$(one off $r bf16) || exit 1
    read -r b_s b_c <<<"$b"
    ref=$work/lockstep-off-$r-bf16
    echo "         bf16 --lockstep off: $b_s s (cpu $b_c s), compared with bf16 lockstep below"
  fi
  for f in $(cd "$ref" && ls */seed*/{metrics.jsonl,*.npy} metrics.jsonl); do
    cmp -s "$ref/$f" "$work/lockstep-on-$r${on_p:+-$on_p}/$f" || same="NO ($f)"
  done
  echo "         results identical (every pair's metrics.jsonl and .npy files${on_p:+, bf16 lockstep on vs off}): $same"
done
printf '%s\n' "${cpu_ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END {
  printf "cpu time, off / lockstep, paired over %d rounds: median %.2fx (min %.2fx, max %.2fx)\n", NR, v[int((NR + 1) / 2)], v[1], v[NR] }'
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END {
  printf "pair-steps/s, lockstep / off, paired over %d rounds: median %.2fx (min %.2fx, max %.2fx)\n", NR, v[int((NR + 1) / 2)], v[1], v[NR] }'
printf '%s\n' "${train_ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END {
  printf "training pair-steps/s (training time only), lockstep / off, paired over %d rounds: median %.2fx (min %.2fx, max %.2fx)\n", NR, v[int((NR + 1) / 2)], v[1], v[NR] }'
echo "(load average: $(cut -d' ' -f1-3 /proc/loadavg))"
