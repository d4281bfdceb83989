"""The faithfulness measures on images whose answers are known, and their summary per strategy."""

import numpy as np

from mnist_oip import faithfulness
from mnist_oip.results import Faithfulness, MapResult, StrategyResult


def test_moved_copies_are_the_listed_shifts_and_rotations():
    image = np.zeros((9, 9, 1), np.float32)
    image[4, 4] = 1.0
    copies = faithfulness.moved(image)
    assert copies.shape == (len(faithfulness.SHIFTS) + len(faithfulness.ROTATIONS), 9, 9, 1)
    for copy, (dy, dx) in zip(copies, faithfulness.SHIFTS):
        assert copy[4 + dy, 4 + dx, 0] == 1.0 and copy.sum() == 1.0
    for copy in copies[len(faithfulness.SHIFTS) :]:
        assert copy[4, 4, 0] == copy.max() > 0.5  # a turn about the centre keeps the centre


def test_robustness_is_one_for_a_map_blind_to_position_low_for_one_that_is_not_and_undefined_where_inactive():
    def mean_relu(images):
        return np.maximum(images, 0).mean(axis=(1, 2, 3))

    blob = np.zeros((2, 12, 12, 1), np.float32)
    blob[:, 4:8, 4:8] = 1.0
    blob[1] *= -1  # never active
    found = faithfulness.robustness(mean_relu, blob)
    np.testing.assert_allclose(found[0], 1.0, atol=0.05)
    assert np.isnan(found[1])
    corner = np.zeros((1, 12, 12, 1), np.float32)
    corner[0, 0, 0] = 1.0

    def top_left(images):
        return images[:, 0, 0, 0]

    assert faithfulness.robustness(top_left, corner)[0] < 0.5  # a map that reads one pixel: moves lose it


def test_blend_wins_are_one_for_the_pattern_the_map_matches_and_a_half_for_a_flat_one():
    rng = np.random.default_rng(1)
    template = rng.normal(size=(10, 10, 1)).astype(np.float32)

    def matches(images):
        return (images * template).sum(axis=(1, 2, 3))

    held_out = rng.normal(size=(40, 10, 10, 1)).astype(np.float32)
    oips = np.stack([template, np.full_like(template, 3.0), -template])
    wins = faithfulness.blend_wins(matches, oips, held_out, np.random.default_rng(2))
    np.testing.assert_allclose(wins, [1.0, 0.5, 0.0])


def test_a_scrambled_pattern_keeps_its_norm_and_spectrum_but_not_its_arrangement():
    rng = np.random.default_rng(3)
    pattern = np.zeros((12, 10, 2), np.float32)
    pattern[3:6, 2:8] = [1.0, -0.5]
    pattern -= pattern.mean(axis=(0, 1))
    copies = faithfulness.scrambled(pattern, faithfulness.random_phases(rng, 5, pattern.shape))
    assert copies.shape == (5, 12, 10, 2)
    for copy in copies:
        np.testing.assert_allclose(np.linalg.norm(copy), np.linalg.norm(pattern), rtol=1e-4)
        np.testing.assert_allclose(np.abs(np.fft.fft2(copy, axes=(0, 1))), np.abs(np.fft.fft2(pattern, axes=(0, 1))),
                                   atol=1e-4)  # fmt: skip
        assert np.abs((copy * pattern).sum()) < 0.9 * (pattern**2).sum()
        np.testing.assert_allclose(copy[..., 1], -0.5 * copy[..., 0], atol=1e-5)  # one arrangement for both channels


def strategy(name, losses, classes):
    n = len(losses)
    images = np.zeros((n, 4, 4, 1), np.float32)
    return StrategyResult(name, images, images, np.zeros((1, n)), np.zeros((0, n)), np.array(losses, np.float32),
                          np.array(classes), np.ones(n), 1.0, 10)  # fmt: skip


def test_the_summary_takes_each_strategy_s_best_oip_where_it_found_one():
    maps = [
        MapResult("c", 0, {"random": strategy("random", [0.0, 2.0], [1, 3]), "random_robust": strategy("random_robust", [0.0, 0.0], [1, 1])}),
        MapResult("c", 1, {"random": strategy("random", [4.0, 1.0], [5, 5]), "random_robust": strategy("random_robust", [1.0, 0.5], [2, 2])}),
    ]  # fmt: skip
    measures = {"relative_activation": [0.1, 0.2], "robustness": [None, 0.8], "class_agrees": [False, True], "blend_wins": [0.5, 0.9]}  # fmt: skip
    measured = [Faithfulness("c", m, {"random": measures, "random_robust": measures}) for m in (0, 1)]
    table = {row["strategy"]: row for row in faithfulness.summarize(maps, measured)}
    assert table["random"]["maps_with_oip"] == 2 and table["random_robust"]["maps_with_oip"] == 1
    assert table["random"]["median_robustness"] == 0.8  # map 0's best is OIP 1 (0.8), map 1's is OIP 0 (None)
    assert table["random"]["median_relative_activation"] == (0.2 + 0.1) / 2
    assert table["random"]["class_agreement"] == 1 and table["random_robust"]["class_agreement"] == 0
    assert table["random_robust"]["median_blend_wins"] == 0.5


def test_every_measure_of_every_oip_in_plain_json_types():
    rng = np.random.default_rng(4)
    template = rng.normal(size=(8, 8, 1)).astype(np.float32)

    def matches(images):
        return np.maximum((images * template).sum(axis=(1, 2, 3)), 0)

    run = strategy("random", [2.0, 0.0], [3, 5])
    run = StrategyResult(**{**run.__dict__, "oips": np.stack([template, -template])})
    found = faithfulness.measure(matches, run, rng.normal(size=(20, 8, 8, 1)).astype(np.float32), 4.0, 3, [0])
    assert list(found) == list(faithfulness.MEASURES)
    assert found["relative_activation"] == [0.5, 0.0] and found["class_agrees"] == [True, False]
    assert found["robustness"][1] is None and isinstance(found["robustness"][0], float)
    assert found["blend_wins"][0] > 0.7 and all(type(v) is float for v in found["blend_wins"])
    assert faithfulness.measure(matches, run, template[None], 0.0, 3, [0])["relative_activation"] == [None, None]
