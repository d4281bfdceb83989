"""Scoring every grid pattern: exhaustive like a direct ascent, halving from the right survivors, a
forward-only first round, and what scoring records about itself."""

import dataclasses

import keras
import numpy as np
import pytest
from helpers import Counted

from mnist_oip import ascent, blog_cnn, patterns, precursor, selection, settings

SETTINGS = settings.Precursor(grid=2, levels=(0.2, 0.5, 0.8), steps=6, keep=4, distinct=False, strategy="exhaustive",
                              halving_steps=(1, 2), halving_keep=0.25, precision="float32", screen_precision="float32",
                              guided_starts=8, guided_beam=2, guided_pass_on=20, guided_seed=0)  # fmt: skip


@pytest.fixture(scope="module")
def layer():
    keras.utils.set_random_seed(11)
    return ascent.LayerAscent(blog_cnn.build_cnn(), "conv3", 0.05)


@pytest.fixture(scope="module")
def all_patterns():
    """The 81 patterns of SETTINGS' grid, upscaled, in index order."""
    return patterns.upscale(patterns.coarse_patterns(np.arange(81), 2, SETTINGS.levels))


@pytest.fixture(scope="module")
def start_losses(layer, all_patterns):
    """Every map's loss of each of the 81 patterns, (maps, 81), each map climbed alone."""
    return np.stack([layer.map(index).losses(all_patterns) for index in range(layer.maps)])


@pytest.fixture(scope="module")
def climb(layer, start_losses):
    """A map that leaves some patterns at 0 and activates at most 41 (the screens below pass 41 on); the
    backends initialize the CNN differently, so which map that is depends on the backend."""
    fits = [i for i, losses in enumerate(start_losses) if (losses == 0).any() and 0 < (losses > 0).sum() <= 41]
    return layer.map(fits[0])


def test_exhaustive_scores_every_pattern_like_a_direct_ascent(climb, all_patterns, tmp_path):
    done = precursor.score_patterns(climb, SETTINGS, 20, tmp_path / "scores.npy")
    scores = np.load(tmp_path / "scores.npy")
    assert scores.shape == (81,) and np.isfinite(scores).all()
    np.testing.assert_allclose(scores, climb.run(all_patterns, 6)[2], rtol=1e-5, atol=1e-6)
    assert (done.strategy, done.patterns, done.image_steps) == ("exhaustive", 81, 81 * 6) and done.seconds > 0
    assert not list(tmp_path.glob(".*")), "no temporary file left"


def test_halving_takes_the_survivors_on_to_the_full_steps(climb, all_patterns, tmp_path):
    halving = dataclasses.replace(SETTINGS, strategy="halving")
    assert precursor.rounds(81, halving) == [(81, 1), (21, 2), (6, 6)]
    precursor.score_patterns(climb, SETTINGS, 20, tmp_path / "full.npy")
    counted = Counted(climb)
    done = precursor.score_patterns(counted, halving, 20, tmp_path / "halving.npy")
    # Each round goes on from the last one's images: 81 patterns 1 step, 21 of them 1 more, 6 of those 4 more.
    assert done.image_steps == counted.image_steps == 126
    full, halved = np.load(tmp_path / "full.npy"), np.load(tmp_path / "halving.npy")
    finalists = np.flatnonzero(np.isfinite(halved))
    assert len(finalists) == 6
    np.testing.assert_allclose(halved[finalists], full[finalists], rtol=1e-5, atol=1e-6)
    one_step = climb.run(all_patterns, 1)[2]
    assert set(finalists) <= set(np.argsort(-one_step, kind="stable")[:21]), "finalists come from round 1's best"
    two_steps = climb.run(all_patterns, 2)[2]
    survivors = np.argsort(-one_step, kind="stable")[:21]
    assert set(finalists) == set(survivors[np.argsort(-two_steps[survivors], kind="stable")[:6]])


def test_a_round_with_fewer_steps_than_the_last_starts_again_from_the_patterns(climb, all_patterns, tmp_path):
    backwards = dataclasses.replace(SETTINGS, strategy="halving", halving_steps=(4, 2), halving_keep=0.5, steps=3)
    counted = Counted(climb)
    done = precursor.score_patterns(counted, backwards, 20, tmp_path / "scores.npy")
    # 81 patterns 4 steps; 41 of them again from the patterns, 2 steps; 21 of those 1 step more.
    assert done.image_steps == counted.image_steps == 427
    scores = np.load(tmp_path / "scores.npy")
    finalists = np.flatnonzero(np.isfinite(scores))
    np.testing.assert_allclose(scores[finalists], climb.run(all_patterns, 3)[2][finalists], rtol=1e-5, atol=1e-6)


def test_the_screen_passes_on_each_maps_best_patterns_at_the_forward_pass(layer, start_losses):
    screening = dataclasses.replace(SETTINGS, strategy="halving", halving_steps=(0, 2), halving_keep=0.25)
    assert screening.screens and precursor.rounds(81, screening) == [(81, 0), (21, 2), (6, 6)]
    screen = precursor.screen_patterns(layer, screening, batch_size=16)
    assert screen.indices.shape == (128, 21) and screen.patterns == 81
    np.testing.assert_array_equal(screen.pre_activation, (start_losses <= 0).all(axis=1))
    live = np.flatnonzero(~screen.pre_activation)
    for index in (live[0], live[len(live) // 2], live[-1]):
        # The best 21 by value: patterns that standardize to the same image tie, and the forward pass of every
        # map at once may order a tie otherwise than one map's own.
        start = start_losses[index]
        np.testing.assert_allclose(screen.scores[index], start[screen.indices[index]], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(screen.scores[index], np.sort(start)[::-1][:21], rtol=1e-5, atol=1e-6)


def test_a_map_that_no_pattern_activates_is_screened_and_climbed_by_its_pre_activation(tmp_path):
    keras.utils.set_random_seed(11)
    cnn = blog_cnn.build_cnn()
    target = cnn.get_layer("conv3")
    bias = keras.ops.convert_to_numpy(target.bias).copy()
    bias[5] = -1000.0  # no input of the standardized kind reaches above this
    target.bias.assign(bias)
    layer = ascent.LayerAscent(cnn, "conv3", 0.05)
    screening = dataclasses.replace(SETTINGS, strategy="halving", halving_steps=(0,), halving_keep=0.25)
    screen = precursor.screen_patterns(layer, screening, batch_size=32)
    patterns_81 = keras.ops.convert_to_numpy(
        patterns.upscale(patterns.coarse_patterns(np.arange(81), 2, SETTINGS.levels))
    )
    dead = [index for index in range(128) if (layer.map(index).losses(patterns_81) <= 0).all()]
    assert 5 in dead and screen.pre_activation.tolist() == [index in dead for index in range(128)]
    pre = layer.map(5, pre_activation=True)
    np.testing.assert_array_equal(screen.indices[5], selection.best_first(np.arange(81), pre.losses(patterns_81), 21))
    done = precursor.score_patterns(pre, screening, 8, tmp_path / "scores.npy", screen.survivors(5))
    scores = np.load(tmp_path / "scores.npy")
    finalists = np.flatnonzero(np.isfinite(scores))
    np.testing.assert_allclose(scores[finalists], pre.run(patterns_81[finalists], 6)[2], rtol=1e-5, atol=1e-5)
    assert done.objective == "pre_activation" and (scores[finalists] < 0).all()


def test_scoring_after_the_screen_drops_only_patterns_that_can_never_rise(layer, climb, all_patterns, tmp_path):
    screening = dataclasses.replace(SETTINGS, strategy="halving", halving_steps=(0,), halving_keep=0.5)
    assert precursor.rounds(81, screening) == [(81, 0), (41, 6)]
    start, (_, _, full) = climb.losses(all_patterns), climb.run(all_patterns, 6)
    dead = start == 0
    assert dead.any() and (~dead).sum() <= 41, "the map must leave some patterns at 0, and at most 41 (round 2) active"
    np.testing.assert_array_equal(full[dead], 0)  # a map at 0 everywhere has no gradient to climb
    survivors = precursor.screen_patterns(layer, screening, 81).survivors(climb.index)
    counted = Counted(climb)
    done = precursor.score_patterns(counted, screening, 20, tmp_path / "scores.npy", survivors)
    scores = np.load(tmp_path / "scores.npy")
    finalists = np.flatnonzero(np.isfinite(scores))
    np.testing.assert_array_equal(finalists, survivors)
    assert set(np.flatnonzero(~dead)) <= set(finalists)
    np.testing.assert_allclose(scores[finalists], full[finalists], rtol=1e-5, atol=1e-6)
    # The screen is a forward pass: no step; the 41 it passes on climb 6 steps.
    assert done.image_steps == counted.image_steps == 246
    assert done.objective == "activation"
    with pytest.raises(ValueError, match="screen"):
        precursor.score_patterns(climb, screening, 20, tmp_path / "unscreened.npy")


def test_a_temporary_left_by_a_killed_run_is_removed(climb, tmp_path):
    stale = tmp_path / ".scores.npy.abc123.npy"
    stale.write_bytes(b"\0" * 1000)
    precursor.score_patterns(climb, SETTINGS, 40, tmp_path / "scores.npy")
    assert not stale.exists() and (tmp_path / "scores.npy").exists()


def test_distinct_scoring_scores_each_image_once_and_as_every_pattern_would(climb, tmp_path):
    every = tmp_path / "every.npy"
    precursor.score_patterns(climb, SETTINGS, 16, every)
    distinct = dataclasses.replace(SETTINGS, distinct=True)
    counted = Counted(climb)
    done = precursor.score_patterns(counted, distinct, 16, tmp_path / "distinct.npy")
    scores, all_scores = np.load(tmp_path / "distinct.npy"), np.load(every)
    kept = np.concatenate(list(patterns.distinct_indices(81, 2, SETTINGS.levels, 81)))
    np.testing.assert_array_equal(np.flatnonzero(np.isfinite(scores)), kept)
    np.testing.assert_allclose(scores[kept], all_scores[kept], rtol=1e-5, atol=1e-6)
    assert len(kept) == 51 and done.distinct  # of the 81 patterns, 51 distinct images once standardized
    assert done.image_steps == counted.image_steps == 51 * 6
