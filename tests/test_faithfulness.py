"""The faithfulness measures on images whose answers are known, and their summary per strategy."""

import numpy as np
import pytest
import scipy.signal

from mnist_oip import data, faithfulness
from mnist_oip.results import Faithfulness, MapResult, StrategyResult


def test_kept_is_one_for_a_map_blind_to_position_low_for_one_that_is_not_and_undefined_where_inactive():
    def mean_relu(images):
        return np.maximum(images, 0).mean(axis=(1, 2, 3))

    blob = np.zeros((2, 20, 20, 1), np.float32)
    blob[:, 8:12, 8:12] = 1.0
    blob[1] *= -1  # never active
    found = faithfulness.kept(mean_relu, blob, lambda image: faithfulness.novel(image, 0)[:8])  # the shifts
    np.testing.assert_allclose(found[0], 1.0, atol=0.05)
    assert np.isnan(found[1])
    corner = np.zeros((1, 20, 20, 1), np.float32)
    corner[0, 0, 0] = 1.0

    def top_left(images):
        return images[:, 0, 0, 0]

    assert faithfulness.kept(top_left, corner, faithfulness.novel)[0] < 0.5  # a map that reads one pixel


def test_novel_copies_are_the_listed_shifts_then_turns_scales_deformations_and_strokes():
    image = np.zeros((20, 20, 1), np.float32)
    image[8:12, 9:11] = 1.0
    copies = faithfulness.novel(image, 0)
    shifts = len(faithfulness.NOVEL_SHIFTS)
    turns_and_scales = len(faithfulness.NOVEL_ROTATIONS) + len(faithfulness.NOVEL_SCALES)
    assert copies.shape == (shifts + turns_and_scales + faithfulness.ELASTIC[0] + 2, 20, 20, 1)
    for copy, (dy, dx) in zip(copies, faithfulness.NOVEL_SHIFTS):
        np.testing.assert_array_equal(copy[8 + dy : 12 + dy, 9 + dx : 11 + dx], 1.0)
    thicker, thinner = copies[-2], copies[-1]
    assert thicker.sum() > image.sum() > thinner.sum() > 0
    np.testing.assert_array_equal(faithfulness.novel(image, 0), copies)  # the same deformations for a seed


def test_best_correlations_find_a_digit_shifted_by_up_to_two_pixels():
    digit = np.zeros((20, 20, 1), np.float32)
    digit[6:14, 9:11], digit[6:8, 9:14] = 1.0, 1.0  # a stroke and a bar, away from the edges
    digits = np.stack([np.roll(digit, (2, -1), axis=(0, 1)), np.roll(digit, (4, 0), axis=(0, 1))])
    found = faithfulness.best_correlations(digit, digits)
    assert found[0] > 0.95 > found[1], "two pixels are within reach, four are not"


def strategy(name, losses, classes):
    n = len(losses)
    images = np.zeros((n, 4, 4, 1), np.float32)
    return StrategyResult(name, images, images, np.zeros((1, n)), np.zeros((0, n)), np.array(losses, np.float32),
                          np.array(classes), np.ones(n), 1.0, 10)  # fmt: skip


@pytest.fixture(scope="module")
def stroke_map():
    """A map set by hand to detect a thin vertical stroke (a line between two darker flanks, rectified, averaged
    over positions), on real held-out digits (the embedded MNIST): its top digits are ones."""
    *_, x_test, y_test = data.load_embedded(0.2, 42)
    held_out, labels = data.standardize(x_test, 0.13, 0.31)[:600], y_test[:600]
    kernel = np.zeros((14, 6), np.float32)
    kernel[:, 2:4], kernel[:, :2], kernel[:, 4:] = 1.0, -1.0, -1.0

    def losses(images):
        responses = np.stack([scipy.signal.correlate2d(image[..., 0], kernel, mode="valid") for image in images])
        return np.maximum(responses - 4.0, 0).mean(axis=(1, 2)).astype(np.float32)

    target = faithfulness.Map(losses, None, held_out, 0)
    assert (labels[target.top_b] == 1).sum() >= 7, "a stroke detector: its top digits are ones"
    return target, held_out


def test_a_stroke_the_map_detects_scores_with_its_digits_and_a_pattern_made_to_fool_it_does_not(stroke_map):
    target, held_out = stroke_map
    stroke = np.full((28, 28, 1), held_out.min(), np.float32)
    stroke[4:24, 13:15] = held_out.max()  # the stroke, at the digits' range
    fool = (np.random.default_rng(0).normal(size=(28, 28, 1)) * 20).astype(np.float32)  # rectified: a high loss
    raw = target.losses(np.stack([stroke, fool]))
    assert raw[1] > 3 * raw[0], "the fool's raw activation is far above the stroke's"
    found = faithfulness.measure(target, {"stroke": stroke, "fool": fool}, held_out[:10])
    digits, stroke, fool = found["digits"], found["stroke"], found["fool"]
    for key in ("data_scale", "predicts_auc", "occlusion", "novel_robustness"):
        assert stroke[key] >= digits[key] - 0.1, (key, stroke[key], digits[key])
    assert fool["data_scale"] < 0.3 < digits["data_scale"] - 0.5, "at a digit's contrast it drives the map little"
    assert fool["occlusion"] < digits["occlusion"] - 0.3 and fool["predicts_auc"] < digits["predicts_auc"] - 0.1
    assert digits["occlusion_ink"] is not None and digits["path"] is None, "no layer below this map"


def test_the_measures_are_plain_values_per_candidate_and_undefined_ones_are_none(stroke_map):
    target, held_out = stroke_map
    flat = np.zeros((28, 28, 1), np.float32)
    found = faithfulness.measure(target, {"flat": flat}, held_out[:4])
    assert set(found) == {"digits", "starts", "flat"} and list(found["flat"]) == list(faithfulness.MEASURES)
    assert all(v is None or type(v) is float for values in found.values() for v in values.values())
    assert found["flat"]["predicts_auc"] is None and found["flat"]["occlusion"] is None, "a flat image predicts nothing"
    assert found["flat"]["novel_robustness"] is None, "a flat image does not activate the map: nothing to keep"


def test_the_summary_covers_every_map_with_intervals_failures_and_the_digits():
    maps = [MapResult("c", m, {"random": strategy("random", [loss], [1])}) for m, loss in enumerate([2.0, 0.0, 3.0])]
    values = [0.9, 0.1, 0.7]
    measured = [
        Faithfulness("c", m, {"random": {"data_scale": value}, "digits": {"data_scale": 0.8}, "starts": {"data_scale": 0.2}})
        for m, value in enumerate(values)
    ]  # fmt: skip
    medians, paired = faithfulness.summarize(maps, measured)
    rows = {row["candidate"]: row for row in medians}
    assert rows["random"]["data_scale"].startswith("0.7 [") and rows["digits"]["data_scale"] == "0.8 [0.8, 0.8]"
    assert rows["random"]["path"] == "–"
    random = paired[0]
    assert random["fails"] == "1/3", "map 1 has no OIP (and is below the starts)"
    assert random["data_scale"].startswith("-0.1 [") and random["data_scale"].endswith("above on 1/3")


def test_the_bootstrap_interval_holds_the_median_and_narrows_with_more_maps():
    few = faithfulness.bootstrap_median(list(np.random.default_rng(1).normal(size=10)))
    many = faithfulness.bootstrap_median(list(np.random.default_rng(1).normal(size=1000)))
    assert few[1] <= few[0] <= few[2] and many[1] <= many[0] <= many[2]
    assert many[2] - many[1] < (few[2] - few[1]) / 3
    assert faithfulness.bootstrap_median([None, None]) == (None, None, None)
