# A real one-node Slurm cluster on localhost for tests, sourced by the tests that submit jobs
# (tests/cli_slurm.sh). Debian 12's Slurm 22.05 + munge, no systemd, no cgroups:
#
#   slurm_install          installs slurmctld slurmd slurm-client munge with apt when missing
#                          (root only); returns 1 with SLURM_WHY set when that is not possible
#   slurm_start DIR        writes DIR/slurm.conf and starts munged, slurmctld and a one-node
#                          slurmd (node "localhost") whose files all live under DIR; exports
#                          SLURM_CONF so sbatch/squeue/scancel (and the jobs) use this cluster
#   slurm_stop             stops the daemons slurm_start started, by their pids, and waits until
#                          each has exited (kill -0 fails)
#
# Nothing is shared with another cluster on the machine: the daemons listen on free ports picked
# at start, munged has its own socket, key copy and pid file, and /etc/slurm is never written,
# so two test runs at once (or a system Slurm) do not meet. Never kills anything by name.
# SLURM_TIMES collects "name seconds" lines for the phases (install, start, stop).

SLURM_PIDS=()
SLURM_TIMES=${SLURM_TIMES:-}
SLURM_WHY=

slurm_now() { date +%s.%N; }
slurm_since() { awk -v a="$1" -v b="$(slurm_now)" 'BEGIN { printf "%.1f", b - a }'; }

slurm_have() {
  command -v slurmctld >/dev/null 2>&1 && command -v slurmd >/dev/null 2>&1 && command -v sbatch >/dev/null 2>&1 &&
    command -v munged >/dev/null 2>&1 && command -v munge >/dev/null 2>&1
}

slurm_install() {
  slurm_have && return 0
  if [ "$(id -u)" != 0 ]; then SLURM_WHY="Slurm is not installed and installing it needs root"; return 1; fi
  if ! command -v apt-get >/dev/null 2>&1; then SLURM_WHY="Slurm is not installed and there is no apt-get"; return 1; fi
  local t0; t0=$(slurm_now)
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge; } \
      >/tmp/slurm_install.$$.log 2>&1; then
    SLURM_WHY="apt-get install slurmctld slurmd slurm-client munge failed: $(tail -n 1 /tmp/slurm_install.$$.log)"
    rm -f /tmp/slurm_install.$$.log
    return 1
  fi
  rm -f /tmp/slurm_install.$$.log
  SLURM_TIMES+="install $(slurm_since "$t0")"$'\n'
  slurm_have || { SLURM_WHY="the Slurm packages installed, but their programs are not on PATH"; return 1; }
}

# A TCP port nothing listens on (the daemons bind it a moment later).
slurm_free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}

# wait_for SECONDS CMD...: polls CMD every 0.2 s.
slurm_wait_for() {
  local n=$(($1 * 5)); shift
  for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  return 1
}

slurm_node_idle() { [ "$(sinfo -h -n localhost -o %T 2>/dev/null)" = idle ]; }

# The node's size, never more than slurmd -C reports (a node claiming more is drained).
slurm_write_conf() {
  local dir=$1 ctld_port=$2 d_port=$3 cpus mem
  cpus=$(slurmd -C | sed -n 's/.*CPUs=\([0-9]*\).*/\1/p')
  mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
  cpus=${cpus:-1}; mem=$(( ${mem:-1000} > 4000 ? 4000 : ${mem:-1000} ))
  cat > "$dir/slurm.conf" <<EOF
ClusterName=test
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
MailProg=/bin/true
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

# slurm_daemon NAME PIDFILE: the pid the daemon wrote, once it is alive, appended to SLURM_PIDS.
slurm_daemon() {
  local name=$1 pidfile=$2 pid
  if ! slurm_wait_for 10 test -s "$pidfile"; then SLURM_WHY="$name did not start (no $pidfile)"; return 1; fi
  pid=$(cat "$pidfile")
  if ! kill -0 "$pid" 2>/dev/null; then SLURM_WHY="$name (pid $pid) exited at start"; return 1; fi
  SLURM_PIDS+=("$pid")
}

slurm_start() {
  local dir=$1 t0 ctld_port d_port
  t0=$(slurm_now)
  SLURM_DIR=$dir
  # munged runs as the munge user: it must reach its folder, and refuses group/world-writable ones.
  mkdir -p "$dir" && chmod 755 "$dir"
  mkdir -p "$dir/state" "$dir/spool" "$dir/log"
  install -d -o munge -g munge -m 755 "$dir/munge"
  runuser -u munge -- test -x "$dir/munge" ||
    { SLURM_WHY="the munge user cannot reach $dir (make its parent folders world-executable)"; return 1; }
  install -o munge -g munge -m 400 /etc/munge/munge.key "$dir/munge/munge.key"
  runuser -u munge -- munged --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" \
    >"$dir/log/munged.out" 2>&1 || { SLURM_WHY="munged did not start: $(tail -n 1 "$dir/log/munged.out")"; return 1; }
  slurm_daemon munged "$dir/munge/munged.pid" || return 1
  slurm_wait_for 10 munge -S "$dir/munge/munge.socket" -n ||
    { SLURM_WHY="munged does not answer on $dir/munge/munge.socket"; return 1; }
  ctld_port=$(slurm_free_port) && d_port=$(slurm_free_port) || { SLURM_WHY="no free TCP port"; return 1; }
  slurm_write_conf "$dir" "$ctld_port" "$d_port"
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -f "$SLURM_CONF" >"$dir/log/slurmctld.out" 2>&1 || { SLURM_WHY="slurmctld failed: $(tail -n 1 "$dir/log/slurmctld.out")"; return 1; }
  slurm_daemon slurmctld "$dir/slurmctld.pid" || return 1
  slurmd -f "$SLURM_CONF" -N localhost >"$dir/log/slurmd.out" 2>&1 || { SLURM_WHY="slurmd failed: $(tail -n 1 "$dir/log/slurmd.out")"; return 1; }
  slurm_daemon slurmd "$dir/slurmd.pid" || return 1
  if ! slurm_wait_for 30 slurm_node_idle; then
    SLURM_WHY="the node did not become idle: $(sinfo -h -N -o '%T %E' 2>&1 | head -n 1)"
    return 1
  fi
  SLURM_TIMES+="start $(slurm_since "$t0")"$'\n'
}

# Stops in reverse order of start; each one waited for (its ports stay held until it exits).
slurm_stop() {
  local t0 i pid
  t0=$(slurm_now)
  for ((i = ${#SLURM_PIDS[@]} - 1; i >= 0; i--)); do
    pid=${SLURM_PIDS[i]}
    kill "$pid" 2>/dev/null
    slurm_wait_for 30 bash -c "! kill -0 $pid" || { kill -9 "$pid" 2>/dev/null; slurm_wait_for 5 bash -c "! kill -0 $pid"; }
  done
  SLURM_PIDS=()
  SLURM_TIMES+="stop $(slurm_since "$t0")"$'\n'
}
