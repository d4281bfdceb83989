"""The guided search: each map's best patterns found without enumerating, checked against the enumeration."""

import dataclasses

import keras
import numpy as np
import pytest
from helpers import Counted

from mnist_oip import ascent, blog_cnn, guided, patterns, precursor, settings

LEVELS = (0.2, 0.5, 0.8)
SETTINGS = settings.Precursor(grid=3, levels=LEVELS, steps=6, keep=4, distinct=True, strategy="guided",
                              halving_steps=(0, 2), halving_keep=0.5, precision="float32", screen_precision="float32",
                              guided_starts=64, guided_beam=4, guided_pass_on=50, guided_seed=0)  # fmt: skip


@pytest.fixture(scope="module")
def layer():
    keras.utils.set_random_seed(11)
    return ascent.LayerAscent(blog_cnn.build_cnn(), "conv3", 0.05)


@pytest.fixture(scope="module")
def searched(layer):
    return guided.search_patterns(layer, SETTINGS, batch_size=256)


@pytest.fixture(scope="module")
def enumerated_keys(layer):
    """Every distinct 3x3 pattern's key for every map, (patterns, maps), as the search ranks them."""
    indices = np.concatenate(list(patterns.distinct_indices(3**9, 3, LEVELS, 4096)))
    post, pre = layer.screen(patterns.coarse_patterns(indices, 3, LEVELS))
    return np.where(post > 0, post, np.minimum(pre, 0))


def test_the_search_finds_each_maps_best_screen_score_without_enumerating(searched, enumerated_keys):
    assert searched.patterns < len(enumerated_keys), "it screened fewer patterns than there are"
    best = enumerated_keys.max(axis=0)
    found = searched.scores[:, 0]
    assert (found <= best + 1e-6).all()
    assert np.mean(np.isclose(found, best, rtol=1e-6, atol=1e-7)) >= 0.95
    np.testing.assert_array_equal(searched.pre_activation, best <= 0)


def test_it_passes_on_distinct_patterns_best_first_with_their_own_scores(layer, searched):
    maps, passed, cells = searched.digits.shape
    assert (maps, passed, cells) == (layer.maps, SETTINGS.guided_pass_on, 9)
    assert (np.diff(searched.scores, axis=1) <= 0).all()
    for m in (0, 17, 101):
        digits = searched.digits[m]
        np.testing.assert_array_equal(patterns.canonical(digits, LEVELS), digits)
        assert len(np.unique(digits, axis=0)) == passed
        post, pre = layer.screen(patterns.grey_of(digits, 3, LEVELS))
        np.testing.assert_allclose(np.where(post > 0, post, np.minimum(pre, 0))[:, m], searched.scores[m], rtol=1e-5)


def test_the_search_is_deterministic_under_its_seed(layer, searched):
    again = guided.search_patterns(layer, SETTINGS, batch_size=100)  # batches change nothing either
    np.testing.assert_array_equal(again.digits, searched.digits)
    other = guided.search_patterns(layer, dataclasses.replace(SETTINGS, guided_seed=1), batch_size=256)
    assert not np.array_equal(other.digits, searched.digits)


def test_a_search_at_rest_before_enough_are_found_screens_more_at_random(layer):
    small = dataclasses.replace(SETTINGS, grid=2, guided_starts=1, guided_beam=1, guided_pass_on=40)
    found = guided.search_patterns(layer, small, batch_size=64)
    assert found.digits.shape[1] == 40 and found.patterns >= 40
    assert found.patterns <= patterns.distinct_count(2, LEVELS)


def test_neighbours_are_every_one_cell_change():
    digits = np.array([[0, 1, 2, 0]], np.uint8)
    found = guided._neighbours(digits, 3)
    assert len(found) == 4 * 2 and len(np.unique(found, axis=0)) == 8
    assert ((found != digits).sum(axis=1) == 1).all()


def test_scoring_takes_the_searchs_patterns_through_halvings_later_rounds(layer, searched, tmp_path):
    climb = layer.map(5)
    candidates = patterns.grey_of(searched.digits[5], 3, LEVELS)
    counted = Counted(climb)
    done = precursor.score_patterns(counted, SETTINGS, 16, tmp_path / "s.npy", searched.survivors(5), candidates)
    scores = np.load(tmp_path / "s.npy")
    assert scores.shape == (50,) and np.isfinite(scores).sum() == 25  # half of the 50 go on to the 6 steps
    survivors = np.flatnonzero(np.isfinite(scores))
    direct = climb.run(patterns.upscale(candidates[survivors]), 6)[2]
    np.testing.assert_allclose(scores[survivors], direct, rtol=1e-4, atol=1e-6)
    # 50 patterns 2 steps, 25 of them 4 more.
    assert done.image_steps == counted.image_steps == 200 and done.strategy == "guided"
