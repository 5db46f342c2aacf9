#!/usr/bin/env bash
# Start a throwaway single-node SLURM cluster on this machine (controller + compute node = this host,
# one `gpu` GRES declared), for the `slurm` test tier (tests/slurm/test_slurm.py, `make test-slurm`).
#
#   sudo tests/slurm/start_cluster.sh        # installs slurm-wlm + munge with apt-get if missing
#   tests/slurm/stop_cluster.sh              # kills exactly the daemons started here
#
# Needs root (the daemons and the jobs run as root) and, if SLURM is not installed yet, a Debian/Ubuntu
# apt. Works without systemd and without cgroups (containers, CI VMs): process tracking is
# proctrack/linuxproc, no task plugin, no accounting database (so `sacct` does not work and the
# Snakemake plugin must poll with `squeue`; MinJobAge keeps finished jobs visible to it).
#
# Everything the cluster writes (munge key/socket, spool, state, logs, pid files) lives under
# $GENOGAN_SLURM_DIR (default /tmp/genogan-slurm). The config goes to $GENOGAN_SLURM_CONF_DIR
# (default /etc/slurm, where SLURM's client commands look for it); a slurm.conf there that this
# script did not write is never overwritten. With another conf dir, export
# SLURM_CONF=$GENOGAN_SLURM_CONF_DIR/slurm.conf before using sbatch/squeue.
set -euo pipefail

STATE=${GENOGAN_SLURM_DIR:-/tmp/genogan-slurm}
CONF_DIR=${GENOGAN_SLURM_CONF_DIR:-/etc/slurm}
# At least 2 CPUs (the demo rules use threads: 2; SlurmdParameters=config_overrides lets a
# 1-core machine declare 2).
CPUS=${GENOGAN_SLURM_CPUS:-$(( $(nproc) > 2 ? $(nproc) : 2 ))}
PARTITION=debug
MARKER="# written by genogan tests/slurm/start_cluster.sh"
HOST=$(hostname -s)
export SLURM_CONF="$CONF_DIR/slurm.conf"

say() { printf 'start_cluster: %s\n' "$*"; }
die() {
  printf 'start_cluster: ERROR: %s\n' "$*" >&2
  for f in "$STATE"/log/*.log; do [ -f "$f" ] && { echo "--- tail $f" >&2; tail -n 5 "$f" >&2; }; done
  exit 1
}

alive() {  # alive NAME: the daemon whose pid file we wrote is running
  local pidfile="$STATE/run/$1.pid"
  [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

install_packages() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
      && command -v munged >/dev/null && command -v sbatch >/dev/null; then
    return
  fi
  command -v apt-get >/dev/null || die "slurm-wlm/munge missing and no apt-get to install them"
  say "installing slurm-wlm and munge (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

write_config() {
  local mem
  # RealMemory in MiB as slurmd measures it, minus a margin so the node never registers as
  # "low memory" (which would drain it).
  mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
  mem=$(( mem > 1024 ? mem - 512 : mem ))
  mkdir -p "$CONF_DIR"
  if [ -e "$CONF_DIR/slurm.conf" ] && ! grep -qF "$MARKER" "$CONF_DIR/slurm.conf"; then
    die "$CONF_DIR/slurm.conf exists and was not written by this script; refusing to overwrite it
       (set GENOGAN_SLURM_CONF_DIR to another directory and export SLURM_CONF accordingly)"
  fi
  cat >"$CONF_DIR/slurm.conf" <<EOF
$MARKER
# Single-node test cluster: controller and compute node are this host ($HOST).
ClusterName=genogan
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$STATE/munge/munge.socket
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldPort=${GENOGAN_SLURMCTLD_PORT:-6817}
SlurmdPort=${GENOGAN_SLURMD_PORT:-6818}
# No cgroups (containers, CI VMs): track processes by parent pid, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
# Jobs without --mem get a modest default instead of the whole node. (The GPU request of a job shows
# as TresPerJob in scontrol/squeue; AccountingStorageTRES=gres/gpu would need slurmdbd.)
DefMemPerCPU=1000
# Finished jobs stay visible to squeue/scontrol for an hour: the Snakemake plugin polls job
# states with squeue when there is no accounting, and the test reads the jobs back.
MinJobAge=3600
ReturnToService=2
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
InactiveLimit=0
KillWait=5
Waittime=0
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$mem Gres=gpu:1 State=UNKNOWN
PartitionName=$PARTITION Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
  cat >"$CONF_DIR/gres.conf" <<EOF
$MARKER
# A declared GPU with no device behind it: enough for SLURM to schedule --gpus/--gres requests.
NodeName=$HOST Name=gpu File=/dev/null
EOF
  # Debian's plugstack.conf includes an (empty) directory; keep whatever is there.
}

start_munge() {
  alive munged && return
  mkdir -p -m 0755 "$STATE/munge"  # clients need x on the socket dir; the key is 0400
  if [ ! -s "$STATE/munge/munge.key" ]; then
    if command -v mungekey >/dev/null; then
      mungekey --create --keyfile="$STATE/munge/munge.key" --force
    else
      dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none
    fi
    chmod 0400 "$STATE/munge/munge.key"
  fi
  munged --force --key-file="$STATE/munge/munge.key" \
    --socket="$STATE/munge/munge.socket" \
    --pid-file="$STATE/run/munged.pid" \
    --log-file="$STATE/log/munged.log" \
    --seed-file="$STATE/munge/munged.seed"
  for _ in $(seq 50); do [ -S "$STATE/munge/munge.socket" ] && break; sleep 0.1; done
  munge -S "$STATE/munge/munge.socket" -n </dev/null | unmunge -S "$STATE/munge/munge.socket" \
    >/dev/null || die "munge does not work (see $STATE/log/munged.log)"
}

start_slurm() {
  # -c: start from a clean controller state (no jobs or node states from an earlier run).
  alive slurmctld || slurmctld -c -f "$SLURM_CONF"
  for _ in $(seq 100); do scontrol ping >/dev/null 2>&1 && break; sleep 0.2; done
  scontrol ping >/dev/null 2>&1 || die "slurmctld did not come up (see $STATE/log/slurmctld.log)"
  alive slurmd || slurmd -f "$SLURM_CONF"
}

wait_for_node() {
  local state=""
  for _ in $(seq 150); do
    state=$(sinfo -h -n "$HOST" -o %T 2>/dev/null || true)
    case "$state" in
      idle*|mixed*|allocated*) return 0 ;;
      down*|drain*|unknown*|inval*)
        # Registered but not usable yet (e.g. first contact): bring it back.
        scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true ;;
    esac
    sleep 0.2
  done
  die "node $HOST not usable (state '$state'; see $STATE/log/slurmd.log, scontrol show node)"
}

main() {
  [ "$(id -u)" = 0 ] || die "run as root (the SLURM daemons and munged need it)"
  install_packages
  mkdir -p "$STATE/run" "$STATE/log" "$STATE/slurmctld" "$STATE/slurmd"
  if alive slurmctld && alive slurmd && alive munged && scontrol ping >/dev/null 2>&1; then
    say "already running (state in $STATE)"
  else
    write_config
    start_munge
    start_slurm
  fi
  wait_for_node
  sinfo
  scontrol show node "$HOST" | grep -E "Gres=|CfgTRES=" | sed 's/^ */  /'
  [ "$(srun -N1 -n1 -t 1 hostname)" = "$(hostname)" ] || die "srun hostname failed"
  srun -N1 -n1 -t 1 --gpus=1 true || die "a job asking for the declared GPU did not run"
  say "cluster up: partition '$PARTITION', node $HOST ($CPUS CPUs, gpu:1); state in $STATE"
}

main "$@"
