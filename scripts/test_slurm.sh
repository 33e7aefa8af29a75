#!/usr/bin/env bash
# Cluster test of `diffmem sweep --emit slurm`: starts a single-node Slurm on localhost
# (Debian's slurmctld, slurmd and munge; no systemd needed), submits a two-task sweep through
# the emitted job-array script with `sbatch --wait`, and checks that `diffmem report` sees both
# runs. Daemons started here are stopped on exit; every wait is bounded.
#
#   scripts/test_slurm.sh            # as root on Debian 12; DIFFMEM=path/to/diffmem to choose the binary
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${DIFFMEM:-${CARGO_TARGET_DIR:-$HOME/.cache/diffmem-target}/release/diffmem}"
[ -x "$BIN" ] || { echo "test_slurm: no diffmem binary at $BIN (cargo build --release first)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "test_slurm: needs root (it starts munged, slurmctld and slurmd)" >&2; exit 1; }

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null \
  || ! command -v sbatch >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    slurmctld slurmd slurm-client munge >/dev/null
fi

WORK="$(mktemp -d /tmp/diffmem-slurm.XXXXXX)"
STATE="$WORK/state"
mkdir -p "$STATE/ctld" "$STATE/d"
PIDS=()
cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  if [ "$rc" != 0 ]; then
    echo "--- slurmctld.log"; tail -n 30 "$STATE/slurmctld.log" 2>/dev/null || true
    echo "--- slurmd.log"; tail -n 30 "$STATE/slurmd.log" 2>/dev/null || true
    echo "--- job output"; cat "$WORK"/sweep/slurm/*.out 2>/dev/null | tail -n 40 || true
    echo "test_slurm: FAILED (files in $WORK)"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# munge: reuse a running munged, else start one as the munge user.
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  if [ ! -s /etc/munge/munge.key ]; then
    (command -v mungekey >/dev/null && mungekey --create --keyfile=/etc/munge/munge.key) \
      || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  fi
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  runuser -u munge -- /usr/sbin/munged --foreground >"$STATE/munged.out" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.2; done
  munge -n | unmunge >/dev/null || { echo "test_slurm: munged did not start" >&2; exit 1; }
fi

CPUS=$(nproc)
MEM_MB=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 8 / 10 ))
export SLURM_CONF="$WORK/slurm.conf"
cat > "$SLURM_CONF" <<CONF
ClusterName=diffmemci
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=6917
SlurmdPort=6918
AuthType=auth/munge
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF

/usr/sbin/slurmctld -D -i -f "$SLURM_CONF" >"$STATE/slurmctld.out" 2>&1 &
PIDS+=($!)
/usr/sbin/slurmd -D -N localhost -f "$SLURM_CONF" >"$STATE/slurmd.out" 2>&1 &
PIDS+=($!)
state=""
for _ in $(seq 60); do
  state=$(timeout 5 sinfo -h -N -o %T 2>/dev/null | head -n1 || true)
  [ "$state" = idle ] && break
  sleep 1
done
if [ "$state" != idle ]; then
  echo "test_slurm: node not idle after 60 s (state '$state')" >&2
  timeout 5 scontrol show node localhost >&2 || true
  exit 1
fi
echo "test_slurm: single-node Slurm up ($CPUS CPUs, ${MEM_MB} MB)"

cat > "$WORK/two.toml" <<'SPEC'
name = "slurm-two"
description = "two-task sweep run through sbatch"
[base]
data.spec = "gaussian:d=4,spectrum=power:1"
data.heldout = 32
diffusion.timesteps = 50
sample.num = 8
[axes]
model = ["linear-exact"]
n = [16, 32]
[eval]
metrics = ["mem", "gaussian"]
args = ["--num", "64", "--sampler", "ddpm"]
SPEC
"$BIN" sweep "$WORK/two.toml" --out "$WORK/sweep" --emit slurm --partition debug \
  --time 00:05:00 --cpus 1 --mem 256M
if ! timeout 300 sbatch --wait "$WORK/sweep/sweep.sbatch"; then
  echo "test_slurm: the job array failed or timed out" >&2
  exit 1
fi
report=$("$BIN" report "$WORK/sweep")
echo "$report"
echo "$report" | grep -q "2 runs (2 done, 0 failed)" \
  || { echo "test_slurm: report does not see both runs" >&2; exit 1; }
[ "$(wc -l < "$WORK/sweep/report.csv")" = 3 ] || { echo "test_slurm: report.csv is not 2 rows" >&2; exit 1; }
echo "test_slurm: 1 passed, 0 failed"
