"""The result files: what a job writes is what every reader loads, in the summary's strategy order."""

import json

import numpy as np
import pytest

from mnist_oip import results, storage
from mnist_oip.results import LayerExamples, MapResult, Scoring, Screen, Seeds, StartResult, StrategyResult


def strategy(name, losses, image_steps=50):
    n = len(losses)
    rng = np.random.default_rng(n)
    images = rng.normal(size=(n, 28, 28, 1)).astype(np.float32)
    return StrategyResult(name, images, images + 1, rng.normal(size=(4, n)), np.zeros((0, n)),
                          np.array(losses, np.float32), rng.integers(0, 10, n), rng.uniform(size=n), 0.5,
                          image_steps)  # fmt: skip


def test_a_start_kind_round_trips_through_its_two_files(tmp_path):
    written = StartResult("conv3", 7, "precursor", 4, {"precursor": strategy("precursor", [0.0, 2.5, 1.0]),
                                                         "precursor_warm": strategy("precursor_warm", [3.0, 0.1])})  # fmt: skip
    written.save(tmp_path / "precursor.npz", tmp_path / "precursor.json")
    read = StartResult.load(tmp_path / "precursor.npz")
    assert (read.layer, read.map, read.start, read.steps) == ("conv3", 7, "precursor", 4)
    for name, before in written.strategies.items():
        after = read.strategies[name]
        for key in results.ARRAYS:
            np.testing.assert_array_equal(getattr(after, key), getattr(before, key))
        assert (after.seconds, after.image_steps) == (before.seconds, before.image_steps)
    assert read.strategies["precursor"].best == 1 and read.strategies["precursor"].best_loss == 2.5


def test_a_map_puts_its_start_kinds_in_the_summary_order():
    precursor = StartResult("conv3", 1, "precursor", 4, {"precursor_warm": strategy("precursor_warm", [0.2]),
                                                          "precursor": strategy("precursor", [0.0])})  # fmt: skip
    random = StartResult("conv3", 1, "random", 4, {"random": strategy("random", [0.0]),
                                                    "random_warm": strategy("random_warm", [0.0])})  # fmt: skip
    combined = MapResult.combine([precursor, random])
    assert list(combined.strategies) == ["random", "precursor", "random_warm", "precursor_warm"]
    assert combined.best.name == "precursor_warm"
    assert [s.found for s in combined.strategies.values()] == [False, False, False, True]


def test_scoring_record_round_trips_with_what_it_scored(tmp_path):
    written = Scoring("halving", 19683, 10398, 12.5, "pre_activation", 3, [0.2, 0.5, 0.8])
    written.save(tmp_path / "scoring.json")
    assert Scoring.load(tmp_path / "scoring.json") == written
    older = {"strategy": "exhaustive", "patterns": 16, "image_steps": 48, "seconds": 0.1}  # before grid and levels
    (tmp_path / "older.json").write_text(json.dumps(older))
    assert Scoring.load(tmp_path / "older.json").objective == "activation"


def test_seeds_round_trip_and_a_file_without_their_images_is_named(tmp_path):
    coarse = np.random.default_rng(0).choice([0.2, 0.5, 0.8], size=(8, 3, 3)).astype(np.float32)
    Seeds(np.arange(8) * 7, np.linspace(2, 1, 8, dtype=np.float32), coarse).save(tmp_path / "seeds.npz")
    back = Seeds.load(tmp_path / "seeds.npz")
    assert back.indices.tolist() == list(range(0, 56, 7)) and np.array_equal(back.coarse, coarse)
    storage.save_npz(tmp_path / "old.npz", indices=np.arange(8), scores=np.ones(8))
    with pytest.raises(storage.StorageError, match="coarse"):
        Seeds.load(tmp_path / "old.npz")


def test_a_screen_round_trips_and_gives_each_maps_patterns_in_index_order(tmp_path):
    written = Screen("conv3", 81, np.array([[5, 2, 9], [0, 1, 2]]), np.array([[3.0, 2.0, 1.0], [-1, -2, -3]]),
                     np.array([False, True]), 0.7)  # fmt: skip
    written.save(tmp_path / "screen.npz")
    read = Screen.load(tmp_path / "screen.npz")
    assert (read.layer, read.patterns, read.seconds) == ("conv3", 81, 0.7)
    np.testing.assert_array_equal(read.survivors(0), [2, 5, 9])
    assert read.pre_activation.tolist() == [False, True]


def test_layer_examples_round_trip_and_name_the_class_each_map_peaks_on(tmp_path):
    profiles = np.array([[0.1, 0.5, 0.2], [0.9, 0.0, 0.3]], np.float32)
    top = np.array([[4, 2], [0, 1]])
    written = LayerExamples("block1", np.array([0, 3, 7]), profiles, np.array([1, 0]), top,
                            np.ones((2, 2), np.float32), top % 3, np.zeros((2, 2, 32, 32, 3), np.float32),
                            np.array([-1.0, 0, 0]), np.array([1.0, 2, 3]))  # fmt: skip
    written.save(tmp_path / "examples.npz")
    read = LayerExamples.load(tmp_path / "examples.npz")
    assert read.layer == "block1"
    for key in ("classes", "profiles", "order", "top_indices", "top_activations", "top_labels", "top_images", "low",
                "high"):  # fmt: skip
        np.testing.assert_array_equal(getattr(read, key), getattr(written, key))
    inside = np.ones((2, 2, 3))
    below_channel_0 = inside - np.array([3.0, 0, 0])  # channel 0 at -2, below its -1
    assert read.outside_range(inside) == 0 and read.outside_range(below_channel_0) == pytest.approx(1 / 3)
    assert (read.profile_class(0), read.profile_class(1)) == (3, 0), "classes by label, not by column"
