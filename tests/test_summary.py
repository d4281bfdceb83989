"""The headline analysis on hand-made results: the blog's count line, best strategies, the comparison, the
class the CNN reads in each best OIP against the map's class profile."""

import numpy as np
import pytest

from mnist_oip import summary
from mnist_oip.results import LayerExamples, MapResult, StrategyResult


def strategy(name, losses, read_as=0, seconds=1.0, image_steps=100):
    n = len(losses)
    images = np.full((n, 28, 28, 1), float(max(losses)), np.float32)
    return StrategyResult(name, images, images, np.zeros((3, n)), np.zeros((0, n)), np.array(losses, np.float32),
                          np.full(n, read_as), np.full(n, 0.9, np.float32), seconds, image_steps)  # fmt: skip


def one_map(index, random, precursor, random_warm, precursor_warm, read_as=0):
    losses = {"random": random, "precursor": precursor, "random_warm": random_warm, "precursor_warm": precursor_warm}
    return MapResult("conv3", index, {name: strategy(name, value, read_as) for name, value in losses.items()})


MAPS = [
    one_map(0, [1.0, 2.0], [3.0, 0.5], [2.5, 0.0], [1.0, 1.0], read_as=4),  # everything finds it; precursor best
    one_map(1, [0.0, 0.0], [0.0, 0.7], [0.0, 0.1], [0.2, 0.0], read_as=1),  # random misses, precursor recovers
    one_map(2, [0.0, 0.0], [0.0, 0.0], [0.0, 0.4], [0.0, 0.0], read_as=2),  # only the warm start from random starts
    one_map(3, [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], read_as=7),  # nothing moves it
]


def examples_peaking_on(classes):
    """Layer examples whose map m's profile peaks on classes[m], over the classes 0..9."""
    profiles = np.full((len(classes), 10), 0.1, np.float32)
    profiles[np.arange(len(classes)), classes] = 1.0
    top = np.zeros((len(classes), 1), int)
    return LayerExamples("conv3", np.arange(10), profiles, np.arange(len(classes)), top, top.astype(np.float32),
                         top, np.zeros((len(classes), 1, 28, 28, 1), np.float32), np.array([-1.0]), np.array([3.0]))  # fmt: skip


def test_the_count_line_names_the_recovered_maps():
    done, _ = summary.summarize("conv3", MAPS, [2, 1, 1, 0], "halving")
    assert done.count_line == "3 of 4 maps had no OIP from random starts; the precursor recovered 1 of them (1)."
    assert done.unreached == [3] and done.scoring == "halving"


def test_each_map_gets_its_best_strategy_and_image():
    done, best = summary.summarize("conv3", MAPS, [2, 1, 1, 0], "halving")
    assert [row["best_strategy"] for row in done.rows] == ["precursor", "precursor", "random_warm", ""]
    assert [row["distinct_oips"] for row in done.rows] == [2, 1, 1, 0]
    assert (best[1].map, best[1].loss, best[1].found) == (1, np.float32(0.7).item(), True)
    assert best[1].image.max() == np.float32(0.7) and best[1].read_as == 1
    assert best[3].found is False


def test_classes_agree_only_where_the_best_oip_is_read_as_the_profile_class():
    done, _ = summary.summarize("conv3", MAPS, [2, 1, 1, 0], "halving", examples_peaking_on([4, 3, 2, 7]))
    assert [row["profile_class"] for row in done.rows] == [4, 3, 2, 7]
    assert [row["class_agrees"] for row in done.rows] == [True, False, True, False]  # map 3 has no OIP
    assert done.class_line.startswith("The CNN reads the best OIP of 2 of 3 maps with an OIP as the class")


def test_without_examples_there_is_no_class_profile():
    done, _ = summary.summarize("conv3", MAPS, [2, 1, 1, 0], "halving")
    assert done.class_line == summary.NO_EXAMPLES and "profile_class" not in done.rows[0]
    assert [row["oip_class"] for row in done.rows] == [4, 1, 2, 7]


def test_a_layer_summary_reads_back_as_written(tmp_path):
    done, _ = summary.summarize("conv3", MAPS, [2, 1, 1, 0], "halving", examples_peaking_on([4, 3, 2, 7]))
    done.save(tmp_path / "summary.json")
    assert summary.LayerSummary.load(tmp_path / "summary.json") == done


def test_the_comparison_counts_maps_and_takes_medians():
    table = {row["strategy"]: row for row in summary.comparison(MAPS)}
    assert list(table) == ["random", "precursor", "random_warm", "precursor_warm"]
    assert [table[name]["maps_with_oip"] for name in table] == [1, 2, 3, 2]
    assert table["precursor"]["median_best_loss"] == pytest.approx(0.35)
    assert table["random_warm"]["min_best_loss"] == 0.0 and table["random"]["image_steps_per_map"] == 100
