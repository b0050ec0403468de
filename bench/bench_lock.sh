# Sourced by the bench scripts: one benchmark at a time per work folder. Two runs sharing a
# folder (the default /tmp/clipdebias-bench) would rebuild or delete each other's model, cache
# and outputs mid-run; the second one waits for the first instead (CD_BENCH_DIR gives a
# benchmark its own folder). The lock is held until the script exits and covers the scripts
# it calls (CD_BENCH_LOCKED). Without flock(1) (util-linux) nothing is locked.
cd_bench_lock() { # folder
  [ -n "${CD_BENCH_LOCKED:-}" ] && return 0
  command -v flock >/dev/null 2>&1 || return 0
  mkdir -p "$1"
  exec 9>"$1/.bench.lock"
  if ! flock -n 9; then
    echo "bench: $1 is in use by another benchmark; waiting for it (CD_BENCH_DIR=... gives this one its own folder)" >&2
    flock 9
  fi
  export CD_BENCH_LOCKED=1
}
