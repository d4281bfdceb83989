"""Interrupted and failing runs: nothing half-written, and the same command redoes only unfinished maps.

Each interruption is sent as a user or a system sends it: Ctrl-C in a terminal (SIGINT to the process
group), SIGINT or SIGTERM to Snakemake alone, SIGKILL (then `--unlock`, as after a power loss).
"""

import base64
import os
import signal
import subprocess
import time

import pytest
import yaml
from helpers import MAPS, TINY, assert_same_results, command, plan, results_of, snakemake

from mnist_oip import paths


def scored(folder, index):
    """The scoring record of map `index` in the run in `folder`: written once its scores are."""
    return results_of(folder)(paths.SCORING, layer="conv3", map=index)


def scoring_log(folder, index):
    """The log of the scoring of map `index` in the run in `folder`."""
    return folder / paths.log("score_precursor", "map").format(layer="conv3", map=index)


def temporary_scores(folder):
    """Temporary files of scores being written, left in the maps' folders of the run in `folder`."""
    maps = paths.MAP.format(layer="*", map="*")
    return list(results_of(folder).folder.glob(f"{maps}/.{paths.file_name(paths.SCORES)}.*"))


def test_a_failed_map_does_not_stop_the_others_and_alone_reruns(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_OIP_FAIL_MAPS", "7")
    failed = snakemake(tmp_path, "--keep-going")
    monkeypatch.delenv("MNIST_OIP_FAIL_MAPS")
    assert failed.returncode != 0
    log = scoring_log(tmp_path, 7).read_text()
    assert "map 7: fault injected through MNIST_OIP_FAIL_MAPS" in log
    run = results_of(tmp_path)
    assert run(paths.MAP_FIGURE, layer="conv3", map=3).exists() and not run(paths.SCORES, layer="conv3", map=7).exists()
    random_7 = run(paths.START_RESULT, layer="conv3", map=7, start="random")
    assert random_7.exists(), "the random baseline does not wait for the precursor"
    precursor_3 = run(paths.START_RESULT, layer="conv3", map=3, start="precursor")
    done_before = precursor_3.stat().st_mtime_ns
    assert plan(tmp_path) == {"score_precursor": 1, "select_seeds": 1, "optimize_oips": 1, "compare_oips": 1,
                              "plot_map": 1, "measure_oips": 1, "summarize_layer": 1, "summarize": 1, "all": 1}  # fmt: skip
    assert snakemake(tmp_path).returncode == 0
    assert run(paths.MAP_FIGURE, layer="conv3", map=7).exists() and run(paths.SUMMARY_CSV).exists()
    assert precursor_3.stat().st_mtime_ns == done_before


def slow_config(folder):
    """The tiny config with a scoring long enough to be caught in the act."""
    config = yaml.safe_load(TINY.read_text())
    config["precursor"] |= {"grid": 3, "steps": 200}
    path = folder / "slow.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def wait_for(check, what, seconds=300):
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.1)


def scoring_started(folder, index):
    log = scoring_log(folder, index)
    return log.exists() and "image-steps" in log.read_text()


def interrupt_while_scoring(folder, config, deliver, env=None):
    """Start the workflow with one core, wait until one map is scored and the other is scoring, interrupt
    it with `deliver(process)`, and return (finished map, interrupted map)."""
    run = subprocess.Popen(command(folder, configs=(config,), cores=1), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True, env=env)  # fmt: skip
    state = {}

    def one_done_one_running():
        done = [m for m in MAPS if scored(folder, m).exists()]
        running = [m for m in MAPS if m not in done and scoring_started(folder, m)]
        state.update(done=done, running=running)
        return len(done) == 1 and len(running) == 1

    try:
        wait_for(one_done_one_running, "one map scored while the other was scoring")
        deliver(run)
        run.wait(timeout=600)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    return state["done"][0], state["running"][0]


def marked_incomplete(folder):
    """The outputs that Snakemake recorded as started and not finished in `folder`: Snakemake 9 keeps a file
    per output in `.snakemake/incomplete`, named by its path in URL-safe base64 (cut into "@" folders where
    long), beside a "migration_underway" marker of its own."""
    records = folder / ".snakemake" / "incomplete"
    found = set()
    for record in records.rglob("*"):
        if record.is_file() and record.name != "migration_underway":
            name = "".join(part.removeprefix("@") for part in record.relative_to(records).parts)
            found.add(folder / base64.urlsafe_b64decode(name).decode())
    return found


@pytest.mark.parametrize(
    "name, deliver, may_mark",
    [  # a running job always ends; after SIGINT Snakemake may have marked it incomplete before it did
        ("Ctrl-C in the terminal", lambda run: os.killpg(run.pid, signal.SIGINT), True),
        ("SIGINT to Snakemake", lambda run: run.send_signal(signal.SIGINT), True),
        ("SIGTERM to Snakemake", lambda run: run.send_signal(signal.SIGTERM), False),
    ],
)
def test_an_interrupted_run_carries_on_with_the_same_command(tmp_path, name, deliver, may_mark):
    slow = slow_config(tmp_path)
    finished, interrupted = interrupt_while_scoring(tmp_path, slow, deliver)
    kept = scored(tmp_path, finished).stat().st_mtime_ns
    assert "scoring done" in scoring_log(tmp_path, interrupted).read_text(), f"{name}: the running job was cut off"
    assert not list(tmp_path.rglob(f"{paths.RESULTS}/**/.*.npy")), "an interrupted job left a temporary file"
    marked = scored(tmp_path, interrupted) in marked_incomplete(tmp_path)
    assert may_mark or not marked, f"{name}: the job that ran to its end is marked incomplete"
    counts = plan(tmp_path, configs=(slow,))
    assert counts.get("score_precursor", 0) == int(marked), f"{name}: redone only if marked incomplete"
    again = snakemake(tmp_path, configs=(slow,))
    assert again.returncode == 0, f"{name}: " + again.stderr[-3000:]
    assert scored(tmp_path, finished).stat().st_mtime_ns == kept
    assert scored(tmp_path, interrupted).exists() and results_of(tmp_path)(paths.SUMMARY_MARKDOWN).exists()


def test_killed_between_a_jobs_two_outputs_redoes_that_job(tmp_path):
    slow = slow_config(tmp_path)
    env = os.environ | {"MNIST_OIP_STALL_MAPS": ",".join(map(str, MAPS))}
    run = subprocess.Popen(command(tmp_path, configs=(slow,), cores=1), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True, env=env)  # fmt: skip
    scores, other = (results_of(tmp_path)(paths.SCORES, layer="conv3", map=index) for index in MAPS[:2])
    try:
        wait_for(lambda: scores.exists() or other.exists(), "a scores file written")
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    written = MAPS[0] if scores.exists() else MAPS[1]
    assert not scored(tmp_path, written).exists(), "killed between scores.npy and scoring.json"
    assert snakemake(tmp_path, "--unlock", configs=(slow,)).returncode == 0
    assert plan(tmp_path, configs=(slow,))["score_precursor"] == len(MAPS), "the half-done job runs again"
    again = snakemake(tmp_path, configs=(slow,))
    assert again.returncode == 0, again.stderr[-3000:]
    assert scored(tmp_path, written).exists()


def test_killed_run_leaves_no_finished_looking_output(tmp_path):
    slow = slow_config(tmp_path)
    finished, interrupted = interrupt_while_scoring(tmp_path, slow, lambda run: os.killpg(run.pid, signal.SIGKILL))
    assert not results_of(tmp_path)(paths.SCORES, layer="conv3", map=interrupted).exists()
    assert temporary_scores(tmp_path), "the killed job's temporary file is there..."
    kept = scored(tmp_path, finished).stat().st_mtime_ns
    assert snakemake(tmp_path, "--unlock", configs=(slow,)).returncode == 0
    assert plan(tmp_path, configs=(slow,))["score_precursor"] == 1
    assert snakemake(tmp_path, configs=(slow,)).returncode == 0
    assert not temporary_scores(tmp_path), "...and the next run of that job removes it"
    assert scored(tmp_path, finished).stat().st_mtime_ns == kept


def test_same_config_same_results(tiny_run, tmp_path):
    assert snakemake(tmp_path).returncode == 0
    assert_same_results(tiny_run, tmp_path)
