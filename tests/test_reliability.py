"""Interrupted and failing runs: nothing half-written, only the unfinished or failed maps run again."""

import os
import signal
import subprocess
import time

import yaml
from helpers import TINY, assert_same_results, command, plan, snakemake


def test_a_failed_map_does_not_stop_the_others_and_alone_reruns(tmp_path):
    os.environ["MNIST_OIP_FAIL_MAPS"] = "7"
    try:
        failed = snakemake(tmp_path, "--keep-going")
    finally:
        del os.environ["MNIST_OIP_FAIL_MAPS"]
    assert failed.returncode != 0
    log = (tmp_path / "results/logs/score_precursor/conv3/7.log").read_text()
    assert "map 7: fault injected through MNIST_OIP_FAIL_MAPS" in log
    maps = tmp_path / "results/maps/conv3"
    assert (maps / "3/figure.png").exists() and not (maps / "7/scores.npy").exists()
    done_before = (maps / "3/oips.npz").stat().st_mtime_ns
    assert plan(tmp_path) == {
        "score_precursor": 1,
        "select_seeds": 1,
        "optimize_oips": 1,
        "compare_oips": 1,
        "plot_map": 1,
        "summarize": 1,
        "all": 1,
    }
    assert snakemake(tmp_path).returncode == 0
    assert (maps / "7/figure.png").exists() and (tmp_path / "results/summary.csv").exists()
    assert (maps / "3/oips.npz").stat().st_mtime_ns == done_before


def test_killed_run_redoes_only_the_unfinished_map(tmp_path):
    slow = tmp_path / "slow.yaml"  # scoring long enough to be caught in the act
    config = yaml.safe_load(TINY.read_text())
    config["precursor"] |= {"grid": 3, "steps": 200}
    slow.write_text(yaml.safe_dump(config))
    run = subprocess.Popen(
        command(tmp_path, configs=(slow,), cores=1),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    maps, logs = tmp_path / "results/maps/conv3", tmp_path / "results/logs/score_precursor/conv3"
    deadline = time.monotonic() + 300
    finished = running = None
    while time.monotonic() < deadline and running is None:
        time.sleep(0.2)
        done = [m for m in (3, 7) if (maps / f"{m}/scores.npy").exists()]
        started = [
            m for m in (3, 7) if (logs / f"{m}.log").exists() and "image-steps" in (logs / f"{m}.log").read_text()
        ]
        if len(done) == 1 and set(started) == {3, 7}:
            finished, running = done[0], ({3, 7} - set(done)).pop()
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    assert running is not None, "never saw one map scored while the other was scoring"
    assert not (maps / f"{running}/scores.npy").exists(), "a killed job left an output that looks finished"
    kept = (maps / f"{finished}/scores.npy").stat().st_mtime_ns
    # As after a power loss: the lock stays until --unlock; no output needs --rerun-incomplete.
    assert snakemake(tmp_path, "--unlock", configs=(slow,)).returncode == 0
    assert plan(tmp_path, configs=(slow,))["score_precursor"] == 1
    again = snakemake(tmp_path, configs=(slow,))
    assert again.returncode == 0, again.stderr[-3000:]
    assert (maps / f"{finished}/scores.npy").stat().st_mtime_ns == kept
    assert (maps / f"{running}/scores.npy").exists()


def test_same_config_same_results(tiny_run, tmp_path):
    assert snakemake(tmp_path).returncode == 0
    assert_same_results(tiny_run, tmp_path)
