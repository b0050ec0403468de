#!/usr/bin/env bash
# A data set embedded on a Slurm cluster: one array job whose task i runs
# `clipdebias embed --shard i/N` into CACHE.shardI, and a merge job that starts when every task
# has succeeded (afterok) and joins the shards into CACHE -- byte for byte what one unsharded
# `clipdebias embed` writes.
#
# usage: tools/slurm/embed_array.sh --shards N --out CACHE [--threads T] [--clipdebias PATH]
#                                   [--sbatch-args "ARGS"] [--wait] -- EMBED_ARGS...
#   EMBED_ARGS   the `clipdebias embed` options except --out, --shard and --threads
#                (--dataset, --root, --model, --skip-bad, ...)
#   --threads T  CPUs per task (sbatch --cpus-per-task, embed --threads); default 1
#   --sbatch-args passed to both sbatch calls (partition, account, time limit, ...)
#   --wait       block until the merge is done; exit 1 with one line per failed or cancelled
#                task (the task, its state, the last line it printed) when any did not finish
# Prints the two job ids. Task logs go to CACHE.slurm/. Running it again after a failure
# finishes the job: finished shards are reused as they are ("nothing to do") and an
# interrupted one resumes from its checkpoint. The paths must be on a file system every node
# sees; jobs start in the current directory.
set -u
me=embed_array
fail() { echo "$me: $*" >&2; exit 2; }

# ---- inside the array job: one shard --------------------------------------------------------
if [ "${1:-}" = --task ]; then
  shift
  bin=$1 out=$2 n=$3 threads=$4; shift 4
  i=${SLURM_ARRAY_TASK_ID:?--task runs inside a Slurm array job}
  exec "$bin" embed "$@" --threads "$threads" --shard "$i/$n" --out "$out.shard$i"
fi
if [ "${1:-}" = --merge ]; then
  shift
  bin=$1 out=$2 n=$3
  shards=()
  for ((i = 0; i < n; i++)); do shards+=("$out.shard$i"); done
  exec "$bin" merge --out "$out" "${shards[@]}"
fi

# ---- on the login node: submit --------------------------------------------------------------
shards= out= threads=1 bin=clipdebias sbatch_args= wait=0
while [ $# -gt 0 ]; do
  case $1 in
    --shards) shards=${2:-}; shift 2 || fail "--shards needs a value" ;;
    --out) out=${2:-}; shift 2 || fail "--out needs a value" ;;
    --threads) threads=${2:-}; shift 2 || fail "--threads needs a value" ;;
    --clipdebias) bin=${2:-}; shift 2 || fail "--clipdebias needs a value" ;;
    --sbatch-args) sbatch_args=${2:-}; shift 2 || fail "--sbatch-args needs a value" ;;
    --wait) wait=1; shift ;;
    --) shift; break ;;
    *) fail "unknown option '$1' (usage: embed_array.sh --shards N --out CACHE [--threads T] [--wait] -- EMBED_ARGS...)" ;;
  esac
done
[[ $shards =~ ^[1-9][0-9]*$ ]] || fail "--shards N must be a positive integer (got '$shards')"
[[ $threads =~ ^[1-9][0-9]*$ ]] || fail "--threads T must be a positive integer (got '$threads')"
[ -n "$out" ] || fail "--out CACHE is required"
[ $# -gt 0 ] || fail "no embed options after -- (--dataset, --root, --model ...)"
for a in "$@"; do
  case $a in --out|--shard|--threads) fail "'$a' is set by this script; leave it out of EMBED_ARGS" ;; esac
done
for c in sbatch squeue scontrol; do
  command -v "$c" >/dev/null 2>&1 || fail "'$c' not found: this needs a Slurm client (sbatch, squeue, scontrol) on PATH"
done
command -v "$bin" >/dev/null 2>&1 || fail "'$bin' not found (give the program with --clipdebias PATH)"
bin=$(command -v "$bin")
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
script=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
logs=$out.slurm
mkdir -p "$logs" || fail "$logs: cannot create the log folder"

# shellcheck disable=SC2086 # --sbatch-args is a list of options
array=$(sbatch --parsable $sbatch_args --job-name=embed --array="0-$((shards - 1))" --cpus-per-task="$threads" \
  -o "$logs/%A_%a.out" "$script" --task "$bin" "$out" "$shards" "$threads" "$@") ||
  fail "sbatch of the array job failed"
array=${array%%;*}
# shellcheck disable=SC2086
merge=$(sbatch --parsable $sbatch_args --job-name=embed-merge --dependency="afterok:$array" --kill-on-invalid-dep=yes \
  -o "$logs/%j.merge.out" "$script" --merge "$bin" "$out" "$shards") ||
  fail "sbatch of the merge job failed (the array job $array runs on; merge by hand when it is done)"
merge=${merge%%;*}
echo "$me: array job $array ($shards tasks), merge job $merge; logs in $logs/"
[ $wait = 1 ] || exit 0

# ---- --wait ----------------------------------------------------------------------------------
while [ -n "$(squeue -h -j "$array,$merge" 2>/dev/null)" ]; do sleep 0.5; done
# scontrol keeps finished jobs a few minutes (MinJobAge): one line per array task that started;
# a task cancelled while pending leaves none, so a shard is judged by its own cache too.
records=$(scontrol -o show job "$array" 2>/dev/null)
bad=0
for ((i = 0; i < shards; i++)); do
  line=$(grep -E "ArrayTaskId=$i( |$)" <<<"$records" | head -n 1)
  state=$(sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' <<<"$line")
  if [ -z "$line" ]; then
    grep -q '"complete": true' "$out.shard$i/cache.json" 2>/dev/null && continue
    state="CANCELLED while pending (it never ran)"
  fi
  [ "$state" = COMPLETED ] && continue
  bad=$((bad + 1))
  code=$(sed -n 's/.* ExitCode=\([0-9:]*\).*/\1/p' <<<"$line")
  last=$(tail -n 1 "$logs/${array}_$i.out" 2>/dev/null)
  echo "$me: shard $i/$shards (job ${array}_$i) $state${code:+ (exit $code)}${last:+: $last}" >&2
done
if [ $bad -gt 0 ]; then
  echo "$me: $bad of $shards shards did not finish, so $out was not merged; the finished shards are kept: run the same command again to finish" >&2
  exit 1
fi
if ! grep -q '"complete": true' "$out/cache.json" 2>/dev/null; then
  echo "$me: merge job $merge did not write $out: $(tail -n 1 "$logs/$merge.merge.out" 2>/dev/null)" >&2
  exit 1
fi
echo "$me: $out merged from $shards shards"
