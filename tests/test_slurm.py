"""The tiny workflow through profiles/slurm on a real single-node Slurm cluster started on this machine.

It writes /etc/slurm and starts Slurm and munge daemons, so it runs only where $MNIST_OIP_TEST_CLUSTER is 1
(`.ci/run` sets it, on the machine it sets up), as root with Debian's slurm-wlm and munge (`.ci/run`
installs them); it skips with the reason otherwise.
The cluster defines one `gpu` GRES, so the profile's gpu=1 jobs are scheduled by Slurm one at a time.
"""

import importlib.util
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from helpers import ROOT, TINY, assert_same_results, command, files_of

from mnist_oip import jobs, paths

CONF = Path("/etc/slurm")  # srun inside the jobs reads slurm.conf from here
MARK = "# single-node test cluster written by mnist-oip's tests"
OPT_IN = "MNIST_OIP_TEST_CLUSTER"

SLURM_CONF = """{mark}
ClusterName=mnistoip
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation={run}/state
SlurmdSpoolDir={run}/spool
SlurmctldPidFile={run}/slurmctld.pid
SlurmdPidFile={run}/slurmd.pid
SlurmctldLogFile={run}/slurmctld.log
SlurmdLogFile={run}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MinJobAge=600
NodeName={host} CPUs={cpus} RealMemory=8000 Gres=gpu:1 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def _why_not():
    """Why a test cluster cannot be started here, or None."""
    if os.environ.get(OPT_IN) != "1":
        return f"starting a test Slurm cluster writes {CONF} and starts daemons: set {OPT_IN}=1 to allow it"
    if os.geteuid() != 0:
        return "starting Slurm daemons needs root"
    missing = [b for b in ("munged", "slurmctld", "slurmd", "sbatch", "squeue") if not shutil.which(b)]
    if missing:
        return f"{', '.join(missing)} not found: apt-get install slurm-wlm munge"
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "snakemake-executor-plugin-slurm is not installed"
    conf = CONF / "slurm.conf"
    if conf.exists() and MARK not in conf.read_text():
        return f"{conf} belongs to a real cluster: not touching it"
    if _running("slurmctld"):
        return "a slurmctld is already running here"
    return None


def _wait(check, seconds, what, logs=()):
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            tails = "".join(f"\n{p}:\n" + p.read_text()[-1500:] for p in logs if p.exists())
            pytest.skip(f"the test cluster did not come up: {what}{tails}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    run = tmp_path_factory.mktemp("slurm")
    (run / "state").mkdir()
    (run / "spool").mkdir()
    host = socket.gethostname().split(".")[0]
    started_munge = not _running("munged")
    try:
        (CONF / "slurm.conf").write_text(SLURM_CONF.format(mark=MARK, host=host, run=run, cpus=os.cpu_count()))
        (CONF / "gres.conf").write_text(f"{MARK}\nNodeName={host} Name=gpu Count=1 File=/dev/null\n")
        if started_munge:
            Path("/run/munge").mkdir(exist_ok=True)
            shutil.chown("/run/munge", "munge", "munge")
            subprocess.run(["runuser", "-u", "munge", "--", "munged"], check=True)
        subprocess.run(["slurmctld"], check=True)
        subprocess.run(["slurmd"], check=True)
        logs = (run / "slurmctld.log", run / "slurmd.log")
        _wait(lambda: "idle" in _sinfo(), 60, "node not idle", logs)
        yield run
    finally:  # also when the cluster did not come up: no daemon or config of ours stays behind
        subprocess.run(["scancel", "--user", "root"], check=False, capture_output=True)
        for daemon in ("slurmd", "slurmctld"):
            pid = run / f"{daemon}.pid"
            if pid.exists():
                subprocess.run(["kill", pid.read_text().strip()], check=False)
        if started_munge:
            subprocess.run(["pkill", "-x", "munged"], check=False)
        for name in ("slurm.conf", "gres.conf"):
            (CONF / name).unlink(missing_ok=True)


def _running(name):
    return subprocess.run(["pgrep", "-x", name], check=False, capture_output=True).returncode == 0


def _sinfo():
    return subprocess.run(["sinfo", "--noheader", "--format=%T"], check=False, capture_output=True, text=True).stdout


def test_tiny_workflow_through_the_slurm_profile_matches_a_local_run(cluster, tiny_run, tmp_path):
    args = ["--profile", str(ROOT / "profiles/slurm"), "--jobs", "2"]
    args += ["--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2"]  # no slurmdbd
    done = subprocess.run(
        command(tmp_path, *args, configs=(TINY,)), capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stderr[-4000:]
    # data, training, its plot, the dataset examples and the two summaries went through sbatch one by one;
    # every map's jobs (6 per map)
    # in one Slurm job, the profile packing up to 16 maps per allocation
    assert done.stderr.count("has been submitted with SLURM jobid") == 6 + 1
    assert "gpu=1" in done.stderr  # the profile's GPU request reached the jobs that run the CNN
    assert_same_results(tiny_run, tmp_path)
    here, there = files_of((tmp_path, tiny_run), paths.SUMMARY_CSV)
    assert here.read_text() == there.read_text()


def test_the_profile_packs_the_per_map_rules_and_gives_a_gpu_to_the_rules_that_run_the_cnn():
    profile = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    assert {group.split("=")[0] for group in profile["groups"]} == set(jobs.PER_MAP_RULES)
    assert {name for name, wanted in profile["set-resources"].items() if wanted.get("gpu")} == set(jobs.CNN_RULES)
