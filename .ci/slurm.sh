#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for `hydra/launcher=slurm` (and its tests):
# munge, slurmctld and slurmd on localhost, one node with this machine's cores and memory
# (`slurmd -C`), one partition `debug`, no accounting. Run as root; installs Debian's
# slurm-wlm and munge with apt where they are missing. Idempotent: a second call finds the
# cluster up and returns at once. Exits 0 once `sinfo` shows the node taking jobs, non-zero
# (with the reason on stderr) where the cluster cannot be brought up here.
#
#   sudo .ci/slurm.sh          # then: python train.py -m hydra/launcher=slurm ...
#
# It writes /etc/slurm/slurm.conf only where none is there or the one there is its own (a real
# cluster's configuration is never replaced); state under /var/spool/slurm*, logs under
# /var/log/slurm.
set -euo pipefail

CONF=/etc/slurm/slurm.conf
MARK="# written by gan-lab .ci/slurm.sh"

fail() { echo "slurm.sh: $*" >&2; exit 1; }

# The node takes jobs: idle, or running some (mixed, allocated).
ready() { sinfo -h -N -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; }

# This host as controller and only node, reached on 127.0.0.1 (no DNS), as `slurmd -C` sees
# it; no accounting; a time limit's signal and a requeue answered within seconds.
conf() {
  local host node
  host=$(hostname -s)
  node=$(slurmd -C | head -1)  # NodeName=host CPUs=... RealMemory=...
  [[ $node == NodeName=* ]] || fail "slurmd -C gave no node line: $node"
  cat <<END
$MARK: a single-node cluster on localhost.
ClusterName=local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
# A requeued job (at its time limit) may start again after this many seconds (default 120).
AuthInfo=cred_expire=10
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
# Pending jobs (a requeued one among them) are looked at every second, not every 30 or 60.
SchedulerParameters=bf_interval=1,sched_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
END
}

ours() { [ ! -e "$CONF" ] || grep -qF "$MARK" "$CONF"; }

if command -v sinfo >/dev/null && command -v slurmd >/dev/null && ready \
    && { ! ours || [ "$(conf)" = "$(cat "$CONF")" ]; }; then
  echo "slurm.sh: the cluster is up"
  sinfo
  exit 0
fi

[ "$(id -u)" = 0 ] || fail "needs root (to install and start munge, slurmctld, slurmd)"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
    || ! command -v munged >/dev/null || ! command -v sinfo >/dev/null; then
  command -v apt-get >/dev/null \
    || fail "slurmctld, slurmd or munged missing, and no apt-get to install them"
  echo "slurm.sh: installing slurm-wlm and munge (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || fail "apt-get update failed"
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null \
    || fail "apt-get install slurm-wlm munge failed"
fi

# munge: the daemons' authentication. Debian's package makes the key; made here if not.
mkdir -p /run/munge /var/lib/munge /var/log/munge /etc/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
fi
chown -R munge:munge /run/munge /var/lib/munge /var/log/munge /etc/munge
chmod 0700 /etc/munge /var/lib/munge /var/log/munge
chmod 0400 /etc/munge/munge.key
chmod 0755 /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  runuser -u munge -- munged || fail "munged did not start (see /var/log/munge/munged.log)"
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n | unmunge >/dev/null || fail "munge does not answer"
fi

# The daemons, each once (their pid files name the running ones); restarted where this script
# changed the configuration they run with.
running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
stop() {
  running "$1" || return 0
  kill "$(cat "$1")"
  for _ in $(seq 100); do running "$1" || return 0; sleep 0.1; done
  fail "the daemon of $1 did not stop"
}
if ! ours; then
  echo "slurm.sh: $CONF is not this script's: kept as it is"
elif [ "$(conf)" != "$(cat "$CONF" 2>/dev/null)" ]; then
  stop /run/slurmd.pid
  stop /run/slurmctld.pid
  mkdir -p /etc/slurm
  conf >"$CONF"
fi
mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
running /run/slurmctld.pid || slurmctld \
  || fail "slurmctld did not start (see /var/log/slurm/slurmctld.log)"
running /run/slurmd.pid || slurmd || fail "slurmd did not start (see /var/log/slurm/slurmd.log)"

host=$(hostname -s)
for _ in $(seq 120); do
  ready && break
  # A node left drained or down by an earlier run (a job that would not die): back in service.
  if sinfo -h -N -o %t 2>/dev/null | grep -qE '^(drain|down)'; then
    scontrol update NodeName="$host" State=RESUME 2>/dev/null || true
  fi
  sleep 0.5
done
ready || fail "the node takes no jobs after 60 s: $(sinfo -h -N -o '%t %E' 2>&1)"
echo "slurm.sh: the cluster is up (brought up in ${SECONDS} s)"
sinfo
