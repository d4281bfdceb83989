import subprocess
import sys

import keras
import numpy as np
from helpers import TINY

from mnist_oip import model, storage


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "mnist_oip.cli", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_help_explains_each_option():
    for command, option in (("score", "--map"), ("select", "--scores"), ("optimize", "--seeds")):
        done = cli(command, "--help")
        assert done.returncode == 0 and option in done.stdout and "help" not in done.stderr
    assert "compare-precursor" in cli("--help").stdout


def test_one_map_through_score_select_optimize(tmp_path):
    keras.utils.set_random_seed(2)
    model.build_cnn().save(tmp_path / "cnn.keras")
    scores, seeds, oips = tmp_path / "scores.npy", tmp_path / "seeds.npz", tmp_path / "oips.npz"
    for args in (
        ("score", "--model", tmp_path / "cnn.keras", "--map", 3, "--out", scores),
        ("select", "--scores", scores, "--out", seeds),
        ("optimize", "--model", tmp_path / "cnn.keras", "--map", 3, "--seeds", seeds, "--out", oips),
    ):
        done = cli("--config", TINY, *args)
        assert done.returncode == 0, done.stderr[-2000:]
    assert np.load(scores).shape == (16,)
    assert storage.load_npz(seeds)["indices"].shape == (4,)
    assert storage.load_json(tmp_path / "oips.json")["precursor"]["image_steps"] == 16 * 3 + 4 * 20


def test_bad_config_is_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("precursor:\n  grid: 0\n")
    done = cli("--config", bad, "select", "--scores", "x.npy", "--out", "y.npz")
    assert done.returncode != 0 and "precursor.grid: 0 is less than the minimum of 1" in done.stderr
