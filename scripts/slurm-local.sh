#!/usr/bin/env bash
# A single-node Slurm on this machine, from Debian's packages (slurm-wlm, munge), for trying
# `ioamsim sweep --executor slurm` and for test/sweep.slurm.test.ts. Needs root.
#
#   scripts/slurm-local.sh start    # install if missing, start munged, slurmctld, slurmd; prints SLURM_CONF
#   scripts/slurm-local.sh status   # sinfo of the running cluster
#   scripts/slurm-local.sh stop     # stop the daemons (by their pid files)
#   scripts/slurm-local.sh env      # prints `export SLURM_CONF=...` for clients (sbatch, squeue)
#
# State, spool, logs and pid files live under $IOAMSIM_SLURM_DIR (default /tmp/ioamsim-slurm).
# Clients need SLURM_CONF=$IOAMSIM_SLURM_DIR/slurm.conf. One node (this host, all its CPUs,
# RealMemory=4000 MB), one default partition "local"; no accounting (squeue, not sacct).
set -euo pipefail
DIR="${IOAMSIM_SLURM_DIR:-/tmp/ioamsim-slurm}"
CONF="$DIR/slurm.conf"
HOST="$(hostname -s)"

install() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null && command -v munged >/dev/null; then return; fi
  echo "slurm-local: installing slurm-wlm and munge (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq slurm-wlm munge >/dev/null
}

running() { # pidfile
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

start_munge() {
  if [ -S /run/munge/munge.socket.2 ] && munge -n </dev/null >/dev/null 2>&1; then return; fi
  mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown munge:munge /etc/munge /etc/munge/munge.key /run/munge /var/lib/munge /var/log/munge
  chmod 400 /etc/munge/munge.key
  chmod 700 /etc/munge
  chmod 755 /run/munge
  # munged drops nothing itself: start it as the munge user.
  if command -v runuser >/dev/null; then runuser -u munge -- munged; else su -s /bin/sh munge -c munged; fi
  mkdir -p "$DIR/run"
  touch "$DIR/run/munged.started-here" # stop ends munged only if this script started it
  for _ in $(seq 1 50); do munge -n </dev/null >/dev/null 2>&1 && return; sleep 0.1; done
  echo "slurm-local: munged did not start (see /var/log/munge/munged.log)" >&2
  exit 1
}

write_conf() {
  mkdir -p "$DIR"/{state,spool,log,run}
  cat >"$CONF" <<EOF
ClusterName=ioamsim
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MaxArraySize=1001
MinJobAge=300
SlurmdTimeout=300
InactiveLimit=0
KillWait=5
NodeName=$HOST CPUs=$(nproc) RealMemory=4000 State=UNKNOWN
PartitionName=local Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
  # Some Slurm tools read cgroup.conf even with these plugins: give them an empty one.
  echo "# none: ProctrackType=proctrack/linuxproc, TaskPlugin=task/none" >"$DIR/cgroup.conf"
}

start() {
  install
  start_munge
  if running "$DIR/run/slurmctld.pid" && running "$DIR/run/slurmd.pid"; then
    echo "slurm-local: already running (SLURM_CONF=$CONF)" >&2
  else
    write_conf
    running "$DIR/run/slurmctld.pid" || slurmctld -f "$CONF"
    running "$DIR/run/slurmd.pid" || slurmd -f "$CONF"
  fi
  export SLURM_CONF="$CONF"
  for _ in $(seq 1 100); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
      echo "slurm-local: up: $(sinfo -h -o '%P %D nodes %c CPUs %T')" >&2
      echo "export SLURM_CONF=$CONF"
      return
    fi
    sleep 0.2
  done
  scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true
  if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then echo "export SLURM_CONF=$CONF"; return; fi
  echo "slurm-local: the node did not become idle; logs: $DIR/log/" >&2
  sinfo >&2 || true
  tail -n 20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
  exit 1
}

stop() {
  for d in slurmd slurmctld; do
    local pf="$DIR/run/$d.pid"
    if running "$pf"; then
      local pid
      pid="$(cat "$pf")"
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
      echo "slurm-local: stopped $d ($pid)" >&2
    fi
    rm -f "$pf"
  done
  local mp=/run/munge/munged.pid
  if [ -f "$DIR/run/munged.started-here" ] && running "$mp"; then
    kill "$(cat "$mp")" && echo "slurm-local: stopped munged ($(cat "$mp"))" >&2
  fi
  rm -f "$DIR/run/munged.started-here"
}

status() {
  if running "$DIR/run/slurmctld.pid" && running "$DIR/run/slurmd.pid"; then
    SLURM_CONF="$CONF" sinfo
  else
    echo "slurm-local: not running" >&2
    exit 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
