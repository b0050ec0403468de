#!/usr/bin/env bash
# clipdebias vs ONNX Runtime (its MLAS CPU kernels) on the same CPU, in one run: a random
# ViT-B/32 checkpoint, its image tower exported to ONNX, both engines encoding the same pixels
# with the same thread count. Prints a Markdown table: steady-state images/s of each side
# (median [min-max] over rounds), the per-round ratio, the smallest row cosine between the
# outputs, and the whole-process time of encoding one image (load + encode + write vs node
# start + session creation + encode + write). PyTorch (oneDNN linear) is a third column
# unless --no-torch.
#
# usage: bench/compare_ort.sh [options]
#   --build DIR       CMake build directory (default build-bench; configured as Release and
#                     built here, so the numbers are those of the checked-out commit)
#   --work DIR        scratch folder for the checkpoint, ONNX file, onnxruntime-node, outputs
#                     (default $CD_BENCH_DIR or /tmp/clipdebias-bench; never inside the repo)
#   --threads N       threads of every side (default 2)
#   --rounds N        rounds; each runs every side once per batch size (default 5)
#   --batches "1 32"  batch sizes (default "1 32")
#   --reps N          timed runs per process (default: 20 at batch 1, 3 above)
#   --isa "avx512 avx2"       clipdebias kernel levels to race (CLIPDEBIAS_ISA); default: the
#                             level the CPU picks (CLIPDEBIAS_ISA from the environment is kept)
#   --precision "fp32 bf16"   clipdebias precisions; default: every value `embed-image --help`
#                             lists for --precision (fp32 alone when it has no such option)
#   --whole-batch N   images of the whole-process comparison (default 1; 0 skips it)
#   --no-torch        leave PyTorch out
#   --no-spin         idle worker threads sleep instead of spinning, on every side
#                     (OMP_WAIT_POLICY=passive; ORT session.intra_op.allow_spinning=0): on a
#                     machine with more runnable threads than cores, spinning workers steal
#                     the time slices of the threads they wait for. Default: each engine's
#                     own default, as a user gets it.
#
# Needs: cmake + a C compiler, node + npm, /usr/bin/python3 (or $PYTHON) with torch and numpy.
# Missing ones are installed from Debian when running as root with apt-get; onnxruntime-node
# is installed with npm into the scratch folder (--ignore-scripts: its install script would
# fetch GPU libraries; the CPU binaries are in the package; $ORT_VERSION pins a version).
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
py=${PYTHON:-/usr/bin/python3}

build=$root/build-bench
work=${CD_BENCH_DIR:-/tmp/clipdebias-bench}
threads=2 rounds=5 batches="1 32" reps="" isas="" precisions="" whole_batch=1 torch=1 spin=1
die() { echo "compare_ort: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=${2:?--build needs a directory}; shift 2 ;;
    --work) work=${2:?--work needs a directory}; shift 2 ;;
    --threads) threads=${2:?}; shift 2 ;;
    --rounds) rounds=${2:?}; shift 2 ;;
    --batches) batches=${2:?}; shift 2 ;;
    --reps) reps=${2:?}; shift 2 ;;
    --isa) isas=${2:?}; shift 2 ;;
    --precision) precisions=${2:?}; shift 2 ;;
    --whole-batch) whole_batch=${2:?}; shift 2 ;;
    --no-torch) torch=0; shift ;;
    --no-spin) spin=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
for n in "$threads" "$rounds" "$whole_batch" $batches ${reps:+"$reps"}; do
  [[ $n =~ ^[0-9]+$ ]] || die "'$n' is not a number"
done
case $work in "$root"|"$root"/*) die "--work $work is inside the repository; use a scratch folder" ;; esac
mkdir -p "$work/out"
work=$(cd "$work" && pwd)
. "$here/bench_lock.sh" && cd_bench_lock "$work"
rm -f "$work/out/"*.npy  # the cosines must never come from an earlier run

# ---- prerequisites ---------------------------------------------------------------------
missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v cc >/dev/null || missing+=(gcc)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
"$py" -c 'import torch, numpy' 2>/dev/null || missing+=(python3-torch python3-numpy)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "compare_ort: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    die "missing: ${missing[*]} (install them, or run as root on Debian)"
  fi
fi

log() { echo "compare_ort: $*" >&2; }

# ---- the engine, built from this checkout ------------------------------------------------
log "building clipdebias (Release) in $build"
[ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target clipdebias bench_encode_steady >/dev/null
bin=$build/clipdebias
steady=$build/bench_encode_steady

# ---- ONNX Runtime ------------------------------------------------------------------------
ort_dir=$work/ort
if [ ! -f "$ort_dir/node_modules/onnxruntime-node/package.json" ]; then
  log "npm install onnxruntime-node${ORT_VERSION:+@$ORT_VERSION} into $ort_dir"
  mkdir -p "$ort_dir"
  (cd "$ort_dir" && npm install "onnxruntime-node${ORT_VERSION:+@$ORT_VERSION}" --ignore-scripts \
     --no-audit --no-fund --loglevel=error >/dev/null)
fi
export NODE_PATH=$ort_dir/node_modules

# ---- checkpoint, ONNX export, pixels -----------------------------------------------------
ckpt=$work/vitb32.safetensors
onnx=$work/vitb32-image.onnx
if [ ! -f "$ckpt" ]; then
  log "writing a random ViT-B/32 checkpoint to $ckpt"
  "$py" "$root/tools/gen/make_random_checkpoint.py" "$ckpt" >/dev/null
fi
if [ ! -f "$onnx" ] || [ "$ckpt" -nt "$onnx" ] || [ "$root/tools/gen/export_onnx.py" -nt "$onnx" ]; then
  log "exporting the image tower to $onnx"
  "$py" "$root/tools/gen/export_onnx.py" export "$ckpt" "$onnx" >/dev/null
fi
max_batch=$(printf '%s\n' $batches "$whole_batch" | sort -n | tail -n 1)
"$py" - "$work" "$max_batch" "$whole_batch" <<'PY'
import sys, numpy as np
work, n, w = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
px = np.random.default_rng(0).standard_normal((n, 3, 224, 224)).astype(np.float32)
np.save(f"{work}/pixels.npy", px)
np.save(f"{work}/pixels_whole.npy", px[:max(w, 1)])
PY
px=$work/pixels.npy

# The exported graph must be upstream encode_image: ORT's output against clip_torch.py.
log "checking ONNX Runtime's output against PyTorch encode_image ($max_batch images)"
node "$here/ort_encode.js" "$onnx" "$px" --batch "$max_batch" --threads "$threads" --warmup 1 --reps 0 \
  --out "$work/out/ort_check.npy" >/dev/null
export_check=$(OMP_NUM_THREADS=$threads "$py" "$root/tools/gen/export_onnx.py" verify "$ckpt" "$px" \
  "$work/out/ort_check.npy" --out "$work/torch_ref.npy") || die "ONNX export differs from PyTorch: $export_check"
log "$export_check"
export_check=${export_check#*: }

# ---- what to race ------------------------------------------------------------------------
if [ -z "$precisions" ]; then
  # The values `embed-image --help` names on its --precision line (and the two after it).
  precisions=$("$bin" embed-image --help | grep -A2 -e '--precision' | grep -oE '\<(fp|bf|tf|int)[0-9]+(x[0-9]+)?\>' |
               awk '!seen[$0]++' | tr '\n' ' ' || true)
  precisions=${precisions% }
  prec_flag=${precisions:+1}
  precisions=${precisions:-fp32}
else
  prec_flag=1
fi
isas=${isas:-${CLIPDEBIAS_ISA:-default}}
isa_env() { [ "$1" = default ] && echo "" || echo "$1"; }
ort_spin=()
if [ "$spin" = 0 ]; then export OMP_WAIT_POLICY=passive; ort_spin=(--no-spin); fi

cpu_name() {
  local name fam model brand
  name=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
  fam=$(sed -n 's/^cpu family[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
  model=$(sed -n 's/^model[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
  brand=$("$bin" info 2>/dev/null | sed -n 's/^cpu: *//p' | head -n 1)
  printf '%s' "${name:-unknown}"
  [ -n "$fam" ] && printf ' (family %s model %s)' "$fam" "$model"
  [ -n "$brand" ] && [ "$brand" != "$name" ] && printf ', CPUID "%s"' "$brand"
  printf ', %s logical CPUs' "$(nproc)"
}
commit=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# The kernel level each requested ISA really runs, as `clipdebias info` reports it.
isa_info=""
for isa in $isas; do
  isa_info+="$isa=$(CLIPDEBIAS_ISA=$(isa_env "$isa") "$bin" info 2>/dev/null | sed -n 's/^kernels: *//p' | head -n 1);"
done
CPU=$(cpu_name) COMMIT=$commit THREADS=$threads ROUNDS=$rounds ISA_INFO=$isa_info EXPORT_CHECK=$export_check \
ORT_VERSION_USED=$(node -p "require('onnxruntime-node/package.json').version") \
TORCH_VERSION=$([ "$torch" = 1 ] && "$py" -c 'import torch; print(torch.__version__)' || true) \
SPIN=$spin LOAD_START=$(loadavg) "$py" - "$work/meta.json" <<'PY'
import json, os, sys
e = os.environ
isa = dict(kv.split("=", 1) for kv in e["ISA_INFO"].split(";") if kv)
json.dump({"cpu": e["CPU"], "commit": e["COMMIT"], "threads": int(e["THREADS"]), "rounds": int(e["ROUNDS"]),
           "isa_info": isa, "export_check": e["EXPORT_CHECK"], "ort_version": e["ORT_VERSION_USED"],
           "torch_version": e["TORCH_VERSION"], "load_start": e["LOAD_START"],
           "spin": e["SPIN"] == "1"}, open(sys.argv[1], "w"))
PY
results=$work/results.jsonl
: > "$results"

# record KIND ROUND [key value]... : prefixes the JSON line on stdin with these fields.
record() {
  local kind=$1 round=$2 extra=""
  shift 2
  while [ $# -gt 0 ]; do extra+="\"$1\": \"$2\", "; shift 2; done
  sed "s/^{/{\"kind\": \"$kind\", \"round\": $round, $extra/" >> "$results"
}
reps_for() { [ -n "$reps" ] && echo "$reps" || { [ "$1" -le 1 ] && echo 20 || echo 3; }; }
warmup_for() { [ "$1" -le 1 ] && echo 3 || echo 2; }

run_ours() { # round batch isa precision
  local env; env=$(isa_env "$3")
  CLIPDEBIAS_ISA=$env "$steady" --model "$ckpt" --pixels "$px" --batch "$2" --threads "$threads" \
    --warmup "$(warmup_for "$2")" --reps "$(reps_for "$2")" ${prec_flag:+--precision "$4"} \
    --out "$work/out/clipdebias_$3_$4_b$2.npy" | record steady "$1" isa_req "$3" precision "$4"
}
run_ort() { # round batch
  node "$here/ort_encode.js" "$onnx" "$px" --batch "$2" --threads "$threads" --warmup "$(warmup_for "$2")" "${ort_spin[@]}" \
    --reps "$(reps_for "$2")" --out "$work/out/ort_b$2.npy" | record steady "$1"
}
run_torch() { # round batch
  "$py" "$here/torch_encode_steady.py" "$ckpt" "$px" --batch "$2" --threads "$threads" \
    --warmup "$(warmup_for "$2")" --reps "$(reps_for "$2")" --out "$work/out/pytorch_b$2.npy" | record steady "$1"
}

# ---- steady state: rounds, sides alternating (the order flips every round) ----------------
ours_all() { for isa in $isas; do for p in $precisions; do run_ours "$r" "$b" "$isa" "$p"; done; done; }
others() { run_ort "$r" "$b"; if [ "$torch" = 1 ]; then run_torch "$r" "$b"; fi; }
for ((r = 1; r <= rounds; r++)); do
  for b in $batches; do
    log "round $r/$rounds, batch $b (load average $(loadavg))"
    if ((r % 2)); then ours_all; others; else others; ours_all; fi
  done
done

# ---- whole process: start to exit, one small batch ----------------------------------------
now() { date +%s.%N; }
if [ "$whole_batch" -gt 0 ]; then
  first_isa=${isas%% *}
  for ((r = 1; r <= rounds; r++)); do
    log "whole process, round $r/$rounds"
    for side in $( ((r % 2)) && echo "clipdebias ort" || echo "ort clipdebias"); do
      t0=$(now)
      if [ "$side" = clipdebias ]; then
        CLIPDEBIAS_ISA=$(isa_env "$first_isa") "$bin" embed-image --model "$ckpt" --pixels "$work/pixels_whole.npy" \
          --batch "$whole_batch" --threads "$threads" --out "$work/out/whole_clipdebias.npy" >/dev/null
        line="{\"side\": \"clipdebias\", \"batch\": $whole_batch}"
      else
        line=$(node "$here/ort_encode.js" "$onnx" "$work/pixels_whole.npy" --batch "$whole_batch" \
          --threads "$threads" --warmup 1 --reps 0 "${ort_spin[@]}" --out "$work/out/whole_ort.npy")
      fi
      t1=$(now)
      echo "$line" | sed "s/}\$/, \"wall_s\": $(echo "$t0 $t1" | awk '{printf "%.6f", $2 - $1}')}/" | record whole "$r"
    done
  done
fi

"$py" - "$work/meta.json" "$(loadavg)" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["load_end"] = sys.argv[2]; json.dump(m, open(sys.argv[1], "w"))
PY
"$py" "$here/compare_ort_table.py" "$work" | tee "$work/compare_ort.md"
