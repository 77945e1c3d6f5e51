#!/usr/bin/env bash
# The SLURM path, run for real: a single-node SLURM cluster on this machine (no accounting, four fake
# GPUs so that `gpu=1` rules are scheduled as on a real cluster), the tiny preset's whole DAG
# submitted through profiles/slurm, every output and every job's request checked.
#
#   bash tests/slurm/run_slurm_test.sh       (as root; CI runs it after `make test`)
#
# Installs slurm-wlm and munge through apt-get when they are missing. Where SLURM cannot be started
# (not root, no apt-get) it prints why and exits 0 with "SKIPPED"; any other problem fails it.
# Daemons run from a fresh temporary folder (state, logs, sockets, ports of their own) and are
# stopped by their PIDs on every exit.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${VENV:-$REPO/.venv}"
# A guard against a hang (a lost job status waits forever), far above the run's few minutes.
WORKFLOW_TIMEOUT="${WORKFLOW_TIMEOUT:-1800}"

skip() { echo "SLURM test SKIPPED: $*"; exit 0; }
fail() { echo "SLURM test FAILED: $*" >&2; exit 1; }

[[ -x "$VENV/bin/snakemake" ]] || fail "no $VENV/bin/snakemake: build the environment first (make env)"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null \
   || ! command -v sbatch >/dev/null; then
    [[ "$(id -u)" == 0 ]] || skip "slurm-wlm/munge are not installed and installing them needs root"
    command -v apt-get >/dev/null || skip "slurm-wlm/munge are not installed and there is no apt-get"
    echo "Installing slurm-wlm and munge"
    apt-get update -qq || fail "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null \
        || fail "apt-get install slurm-wlm munge failed"
fi
# slurmd runs jobs as the submitting user and needs root for it.
[[ "$(id -u)" == 0 ]] || skip "slurmd must run as root to start jobs"

TMP="$(mktemp -d)"
PIDS=()
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "${SNAKEMAKE_PID:-}" ]] && kill -0 "$SNAKEMAKE_PID" 2>/dev/null; then
        # Cancelled jobs end at once, so a stopped Snakemake has nothing to wait for; `timeout -k`
        # kills it 30 s after the TERM if it still waits.
        scancel --full --quiet --user "$(id -un)" 2>/dev/null || true
        kill "$SNAKEMAKE_PID" 2>/dev/null || true
        wait "$SNAKEMAKE_PID" 2>/dev/null || true
    fi
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ $rc != 0 ]]; then
        for log in slurmctld.log slurmd.log munged.log; do
            [[ -f "$TMP/$log" ]] && { echo "--- last lines of $log"; tail -n 20 "$TMP/$log"; }
        done
        [[ -f "$TMP/snakemake.log" ]] && { echo "--- last lines of the Snakemake log"; tail -n 60 "$TMP/snakemake.log"; }
    fi
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

NODE="$(hostname -s)"
# Each job starts Snakemake twice (batch script, then srun) for seconds of work, so the node claims
# at least 8 CPUs: several jobs overlap as with `--cores` in local runs, instead of one 2-thread
# job at a time on a 2-core machine (15 minutes for the tiny DAG).
CPUS="$(( $(nproc) > 8 ? $(nproc) : 8 ))"
# Ports of our own, so that a SLURM already running on the machine is left alone.
CTLD_PORT=$((20000 + RANDOM % 20000))
SLURMD_PORT=$((CTLD_PORT + 1))
mkdir -p "$TMP/state" "$TMP/spool"

dd if=/dev/urandom of="$TMP/munge.key" bs=1024 count=1 status=none
chmod 400 "$TMP/munge.key"
MUNGE_SOCKET="$TMP/munge.socket"

# What a cluster without accounting looks like. MinJobAge keeps finished jobs visible to squeue
# (the plugin's status command here) and to the checks below. Memory is not a consumable
# resource (CR_Core), so the profile's mem_mb requests are checked against RealMemory only;
# config_overrides lets the node claim more CPUs and the memory of a GPU node without being drained.
cat > "$TMP/slurm.conf" <<CONF
ClusterName=andicamtest
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$TMP/state
SlurmdSpoolDir=$TMP/spool
SlurmctldPidFile=$TMP/slurmctld.pid
SlurmdPidFile=$TMP/slurmd.pid
SlurmctldLogFile=$TMP/slurmctld.log
SlurmdLogFile=$TMP/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
EnforcePartLimits=ALL
MinJobAge=3600
ReturnToService=2
SlurmdParameters=config_overrides
GresTypes=gpu
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=64000 Gres=gpu:4 State=UNKNOWN
PartitionName=cpu Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$NODE MaxTime=INFINITE State=UP
CONF
# Four fake GPUs, each a device file that is not a GPU (no job opens it): a `--gpus=1` job is
# scheduled as on a real GPU node, and four of the tiny DAG's 30 GPU jobs can run at once.
for dev in null zero full random; do echo "NodeName=$NODE Name=gpu File=/dev/$dev"; done >"$TMP/gres.conf"
export SLURM_CONF="$TMP/slurm.conf"
# The jobstep plugin drops every SLURM_* variable but a few before its `srun`, SLURM_CONF included,
# so srun inside a job looks for /etc/slurm/slurm.conf. A cluster has its config there (or is
# configless); this one must not touch the machine's, so srun gets the path from a wrapper.
mkdir -p "$TMP/bin"
printf '#!/bin/sh\nSLURM_CONF=%q exec %q "$@"\n' "$SLURM_CONF" "$(command -v srun)" > "$TMP/bin/srun"
chmod +x "$TMP/bin/srun"

munged --foreground --force --key-file="$TMP/munge.key" --socket="$MUNGE_SOCKET" \
    --pid-file="$TMP/munged.pid" --log-file="$TMP/munged.log" --seed-file="$TMP/munge.seed" 2>/dev/null &
PIDS+=($!)
for _ in $(seq 50); do [[ -S "$MUNGE_SOCKET" ]] && break; sleep 0.2; done
[[ -S "$MUNGE_SOCKET" ]] || fail "munged did not start"
slurmctld -D -f "$SLURM_CONF" >>"$TMP/slurmctld.log" 2>&1 &
PIDS+=($!)
slurmd -D -f "$SLURM_CONF" -N "$NODE" >>"$TMP/slurmd.log" 2>&1 &
PIDS+=($!)
state=""
for _ in $(seq 60); do
    state="$(sinfo -h -p cpu -n "$NODE" -o %T 2>/dev/null || true)"
    [[ "$state" == idle ]] && break
    sleep 1
done
[[ "$state" == idle ]] || fail "node $NODE is '${state:-unreachable}', not idle, after 60 s"
echo "$(sinfo --version) cluster up: node $NODE, $CPUS CPUs, partitions cpu and gpu, 4 fake GPUs"

WF="$TMP/wf"
mkdir -p "$WF"
for name in Snakefile config.yaml workflow presets profiles envs tests; do cp -r "$REPO/$name" "$WF/"; done
find "$WF" -name __pycache__ -prune -exec rm -rf {} +

# Only what a cluster without accounting and with jobs of seconds needs on top of the profile:
# squeue for job status, no account, and a short first status check.
start=$SECONDS
(cd "$WF" && PATH="$TMP/bin:$VENV/bin:$PATH" exec timeout -k 30 "$WORKFLOW_TIMEOUT" "$VENV/bin/snakemake" \
    --profile profiles/slurm --workflow-profile none --configfile presets/tiny.yaml \
    --slurm-status-command squeue --slurm-no-account --slurm-init-seconds-before-status-checks 3 \
    --verbose >"$TMP/snakemake.log" 2>&1) &
# In the background and waited for, so that an INT or TERM stops it (and the daemons) at once.
SNAKEMAKE_PID=$!
wait "$SNAKEMAKE_PID" || fail "Snakemake through SLURM failed or timed out (exit $?)"
echo "Workflow through SLURM: $((SECONDS - start)) s"

scontrol -o show job >"$TMP/jobs.txt"
grep -o 'sbatch call: .*' "$TMP/snakemake.log" >"$TMP/sbatch_calls.txt" || true
PATH="$VENV/bin:$PATH" "$VENV/bin/python" "$REPO/tests/slurm/check_slurm_run.py" \
    --workdir "$WF" --jobs "$TMP/jobs.txt" --sbatch-calls "$TMP/sbatch_calls.txt" \
    || fail "the run's outputs or jobs are not as expected"
echo "SLURM test PASSED"
