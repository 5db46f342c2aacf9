#!/usr/bin/env bash
# Stop the test cluster started by tests/slurm/start_cluster.sh: cancel its jobs, then end exactly
# the daemons whose pid files that script wrote (slurmd, slurmctld, munged), checking each pid
# still belongs to that program first. `--purge` also removes the state dir and the config
# files the start script wrote (only if they carry its marker line).
set -euo pipefail

STATE=${GENOGAN_SLURM_DIR:-/tmp/genogan-slurm}
CONF_DIR=${GENOGAN_SLURM_CONF_DIR:-/etc/slurm}
MARKER="# written by genogan tests/slurm/start_cluster.sh"
export SLURM_CONF="$CONF_DIR/slurm.conf"

say() { printf 'stop_cluster: %s\n' "$*"; }

stop_daemon() {  # stop_daemon NAME: SIGTERM the pid in our pid file if it is that program
  local pidfile="$STATE/run/$1.pid" pid comm
  [ -s "$pidfile" ] || { say "$1: no pid file, nothing to stop"; return 0; }
  pid=$(cat "$pidfile")
  comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
  if [ "$comm" != "$1" ]; then
    say "$1: pid $pid is not running (or is '$comm'), not touching it"
    rm -f "$pidfile"
    return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    say "$1 (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  say "$1 (pid $pid) stopped"
}

# Jobs first, while the controller can still cancel them (all jobs on this private cluster are
# the tests' own).
if [ -s "$STATE/run/slurmctld.pid" ] && command -v squeue >/dev/null \
    && jobs=$(squeue -h -t PENDING,RUNNING,COMPLETING -o %i 2>/dev/null) && [ -n "$jobs" ]; then
  say "cancelling jobs: $(echo $jobs)"
  # shellcheck disable=SC2086
  scancel $jobs || true
  sleep 2
fi

stop_daemon slurmd
stop_daemon slurmctld
stop_daemon munged

if [ "${1:-}" = "--purge" ]; then
  for f in "$CONF_DIR/slurm.conf" "$CONF_DIR/gres.conf"; do
    if [ -f "$f" ] && grep -qF "$MARKER" "$f"; then rm -f "$f"; say "removed $f"; fi
  done
  case "$STATE" in /tmp/*) rm -rf "$STATE"; say "removed $STATE" ;; esac
fi
