#!/usr/bin/env bash
# What progress checkpoints cost: `embed-image` over a synthetic list of photo-sized JPEGs with
# a ViT-B/32-sized random checkpoint (512 floats per row, as for CelebA), a checkpoint after
# every batch. For each binary given (e.g. an older build next to this one) it reports the
# bytes the process wrote (traced with strace: write/pwrite) to the checkpoint files
# (*.partial.npy, *.partial.json, with their temp files) and to the final output, and the bytes
# per checkpoint. Then embed throughput of the binaries side by side in one run (interleaved,
# best of ROUNDS=3, wall and CPU time), once with no checkpoint falling due (the default 60 s)
# and once with one every second.
# usage: bench/bench_checkpoint.sh BIN [BIN...]   (env: N images (96), BATCH (16), THREADS, MODEL, ROUNDS)
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: bench_checkpoint.sh BIN [BIN...]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-/usr/bin/python3}
n=${N:-96}
batch=${BATCH:-16}
threads=${THREADS:-$(nproc)}
work=${CD_BENCH_DIR:-/tmp/clipdebias-bench}/checkpoint
. "$here/bench_lock.sh" && cd_bench_lock "$work"
mkdir -p "$work"
tree=$work/wb_tree_$n
[ -d "$tree" ] || "$py" "$here/../tools/gen/gen_dataset_fixtures.py" --bench-tree "$tree" "$n" >/dev/null
folder=$tree/waterbird_complete95_forest2water2
list=$work/list_$n.txt
tail -n +2 "$folder/metadata.csv" | cut -d, -f2 | sed "s|^|$folder/|" > "$list"
ckpt=${MODEL:-$work/vitb32.safetensors}
[ -f "$ckpt" ] || "$py" "$here/../tools/gen/make_random_checkpoint.py" "$ckpt" >/dev/null
command -v strace >/dev/null || { echo "strace is needed for the byte counts" >&2; exit 1; }

# From an strace log (openat/write/pwrite64/rename): the bytes written to the checkpoint files
# between consecutive checkpoints (a checkpoint ends with the rename of its .partial.json),
# then totals per file class. Prints: checkpoints, first, last, mean bytes per checkpoint,
# rows-file bytes, json bytes, output bytes.
tally() {
  awk '
    function cls(p) { sub(/\.tmp\.[0-9]+$/, "", p); if (p ~ /\.partial\.npy$/) return "rows"; if (p ~ /\.partial\.json$/) return "json";
                      if (p ~ /\.npy$/) return "out"; return "other" }
    /openat\(/ && / = [0-9]+$/ { match($0, /"[^"]*"/); p = substr($0, RSTART + 1, RLENGTH - 2); fd[$NF] = cls(p) }
    /^[0-9]+ +(write|pwrite64)\(/ && / = [0-9]+$/ {
      split($2, a, /[(,]/); c = fd[a[2]]; if (c == "") c = "other"; b[c] += $NF; if (c == "rows" || c == "json") since += $NF }
    /rename\(/ && /\.partial\.json"\) = 0/ { ck++; if (ck == 1) first = since; last = since; sum += since; since = 0 }
    END { printf "%d %d %d %.0f %d %d %d\n", ck, first, last, ck ? sum / ck : 0, b["rows"], b["json"], b["out"] }' "$1"
}

printf '%d images, batch %d, %d threads, a checkpoint after every batch (%s)\n' "$n" "$batch" "$threads" "$(basename "$ckpt")"
printf '%-30s %5s %12s %12s %12s %12s %12s %12s %7s\n' binary ckpts "B 1st ckpt" "B last ckpt" "B/ckpt mean" "rows file B" \
  "json B" "output B" "written"
for bin in "$@"; do
  rm -f "$work"/out.npy*
  strace -f -qq -e trace=openat,write,pwrite64,rename -e signal=none -o "$work/trace.txt" \
    "$bin" embed-image --model "$ckpt" --list "$list" --batch "$batch" --threads "$threads" \
    --checkpoint-every 0.000001 --out "$work/out.npy" >/dev/null 2>&1
  read -r ck first last mean rows json out < <(tally "$work/trace.txt")
  size=$(stat -c %s "$work/out.npy")
  printf '%-30s %5d %12d %12d %12d %12d %12d %12d %6.2fx\n' "$(basename "$bin")" "$ck" "$first" "$last" "$mean" "$rows" "$json" \
    "$out" "$(awk -v a="$((rows + json + out))" -v b="$size" 'BEGIN { print a / b }')"
done
echo "(B n-th ckpt: bytes written to the checkpoint files since the previous checkpoint; written: all"
echo " feature and checkpoint bytes over the size of the final output, $((n)) rows)"

# wall and CPU (user + sys) seconds of one run; CPU time is the steadier number on a busy machine.
times() { /usr/bin/time -f "%e %U %S" -o "$work/time.txt" "$@" >/dev/null 2>&1; awk '{ print $1, $2 + $3 }' "$work/time.txt"; }
rounds=${ROUNDS:-3}
for every in 60 1; do
  declare -A wall=() cpu=()
  for ((round = 0; round < rounds; round++)); do
    for bin in "$@"; do
      read -r w c < <(times "$bin" embed-image --model "$ckpt" --list "$list" --batch "$batch" --threads "$threads" \
        --checkpoint-every "$every" --out "$work/t.npy")
      wall[$bin]=$(awk -v a="$w" -v b="${wall[$bin]:-1e9}" 'BEGIN { print (a < b ? a : b) }')
      cpu[$bin]=$(awk -v a="$c" -v b="${cpu[$bin]:-1e9}" 'BEGIN { print (a < b ? a : b) }')
    done
  done
  for bin in "$@"; do
    awk -v b="$(basename "$bin")" -v w="${wall[$bin]}" -v c="${cpu[$bin]}" -v w0="${wall[$1]}" -v c0="${cpu[$1]}" -v n="$n" -v e="$every" \
      'BEGIN { printf "--checkpoint-every %-3s %-26s %7.1f img/s wall (x%.2f)  %7.2f s CPU (x%.3f of the first)\n", e, b, n / w, w0 / w, c, c / c0 }'
  done
  unset wall cpu
done
