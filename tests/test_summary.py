"""The headline analysis on hand-made results: the blog's count line, best strategies, the comparison."""

import numpy as np
import pytest

from mnist_oip import summary
from mnist_oip.results import MapResult, StrategyResult


def strategy(name, losses, seconds=1.0, image_steps=100):
    n = len(losses)
    images = np.full((n, 28, 28, 1), float(max(losses)), np.float32)
    return StrategyResult(name, images, images, np.zeros((3, n)), np.zeros((0, n)), np.array(losses, np.float32),
                          seconds, image_steps)  # fmt: skip


def one_map(index, random, precursor, random_warm, precursor_warm):
    losses = {"random": random, "precursor": precursor, "random_warm": random_warm, "precursor_warm": precursor_warm}
    return MapResult("conv3", index, {name: strategy(name, value) for name, value in losses.items()})


MAPS = [
    one_map(0, [1.0, 2.0], [3.0, 0.5], [2.5, 0.0], [1.0, 1.0]),  # everything finds it; precursor best
    one_map(1, [0.0, 0.0], [0.0, 0.7], [0.0, 0.1], [0.2, 0.0]),  # random misses, precursor recovers
    one_map(2, [0.0, 0.0], [0.0, 0.0], [0.0, 0.4], [0.0, 0.0]),  # only the warm start from random starts
    one_map(3, [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]),  # nothing moves it
]


def test_the_count_line_names_the_recovered_maps():
    done = summary.summarize(MAPS, [2, 1, 1, 0])
    assert done.count_line == "3 of 4 maps had no OIP from random starts; the precursor recovered 1 of them (1)."
    assert done.unreached == [3]


def test_each_map_gets_its_best_strategy_and_image():
    done = summary.summarize(MAPS, [2, 1, 1, 0])
    assert [row["best_strategy"] for row in done.rows] == ["precursor", "precursor", "random_warm", ""]
    assert [row["distinct_oips"] for row in done.rows] == [2, 1, 1, 0]
    index, image, loss, found = done.best[1]
    assert (index, loss, found) == (1, np.float32(0.7).item(), True) and image.max() == np.float32(0.7)
    assert done.best[3][3] is False


def test_the_comparison_counts_maps_and_takes_medians():
    table = {row["strategy"]: row for row in summary.comparison(MAPS)}
    assert list(table) == ["random", "precursor", "random_warm", "precursor_warm"]
    assert [table[name]["maps_with_oip"] for name in table] == [1, 2, 3, 2]
    assert table["precursor"]["median_best_loss"] == pytest.approx(0.35)
    assert table["random_warm"]["min_best_loss"] == 0.0 and table["random"]["image_steps_per_map"] == 100
