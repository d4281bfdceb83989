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


def write_map(results, index, seeds, best_loss, scoring_steps):
    folder = results / "maps/conv3" / str(index)
    folder.mkdir(parents=True)
    storage.save_npz(folder / "seeds.npz", indices=np.array(seeds), scoring_image_steps=scoring_steps)
    ascent_steps = len(seeds) * 10
    storage.save_json(
        folder / "summary.json",
        {"map": index, "precursor": {"best_loss": best_loss, "image_steps": scoring_steps + ascent_steps}},
    )


def test_compare_precursor_counts_kept_seeds_losses_and_steps(tmp_path):
    exhaustive, halving = tmp_path / "exhaustive", tmp_path / "halving"
    write_map(exhaustive, 0, [1, 2, 3, 4], 5.0, 1000)
    write_map(halving, 0, [1, 2, 3, 9], 5.0, 300)
    write_map(exhaustive, 1, [5, 6, 7, 8], 2.0, 1000)
    write_map(halving, 1, [5, 6, 7, 8], 1.5, 300)
    write_map(exhaustive, 2, [1, 2, 3, 4], 1.0, 1000)  # not in the other run: left out
    done = cli("compare-precursor", exhaustive, halving, "--out", tmp_path / "compare.json")
    assert done.returncode == 0, done.stderr[-2000:]
    report = storage.load_json(tmp_path / "compare.json")
    assert report["maps"] == 2
    assert [r["seeds_kept"] for r in report["per_map"]] == [3, 4]
    assert report["min_seeds_kept"] == 3 and report["median_seeds_kept"] == 3.5
    assert report["maps_best_loss_lower"] == 1 and report["median_best_loss_difference"] == -0.25
    assert report["scoring_image_steps_ratio"] == 0.3
    assert report["image_steps_ratio"] == 340 / 1040


def test_compare_precursor_without_common_maps_says_so(tmp_path):
    write_map(tmp_path / "a", 0, [1, 2], 1.0, 10)
    (tmp_path / "b").mkdir()
    done = cli("compare-precursor", tmp_path / "a", tmp_path / "b")
    assert done.returncode != 0 and "no map has a summary.json under both" in done.stderr
