import keras
import numpy as np
import pytest

from mnist_oip import ascent, model, patterns, precursor

SETTINGS = {
    "grid": 2,
    "levels": [0.2, 0.5, 0.8],
    "steps": 6,
    "keep": 4,
    "strategy": "exhaustive",
    "halving_steps": [1, 2],
    "halving_keep": 0.25,
}


@pytest.fixture(scope="module")
def climb():
    keras.utils.set_random_seed(11)
    return ascent.Ascent(model.map_model(model.build_cnn(), "conv3", 2), 0.05)


@pytest.fixture(scope="module")
def all_patterns():
    """The 81 patterns of SETTINGS' grid, upscaled, in index order."""
    return patterns.upscale(patterns.coarse_patterns(np.arange(81), 2, SETTINGS["levels"]))


def test_exhaustive_scores_every_pattern_like_a_direct_ascent(climb, all_patterns, tmp_path):
    precursor.score_patterns(climb, SETTINGS, 20, tmp_path / "scores.npy", log=lambda _: None)
    scores = np.load(tmp_path / "scores.npy")
    assert scores.shape == (81,) and np.isfinite(scores).all()
    np.testing.assert_allclose(scores, climb.run(all_patterns, 6)[2], rtol=1e-5, atol=1e-6)
    assert not list(tmp_path.glob(".*")), "no temporary file left"


def test_halving_rescores_the_survivors_from_their_patterns(climb, all_patterns, tmp_path):
    halving = SETTINGS | {"strategy": "halving"}
    assert precursor.rounds(81, halving) == [(81, 1), (21, 2), (6, 6)]
    assert precursor.image_steps(81, halving) == 81 + 42 + 36
    precursor.score_patterns(climb, SETTINGS, 20, tmp_path / "full.npy", log=lambda _: None)
    precursor.score_patterns(climb, halving, 20, tmp_path / "halving.npy", log=lambda _: None)
    full, halved = np.load(tmp_path / "full.npy"), np.load(tmp_path / "halving.npy")
    finalists = np.flatnonzero(np.isfinite(halved))
    assert len(finalists) == 6
    np.testing.assert_allclose(halved[finalists], full[finalists], rtol=1e-5, atol=1e-6)
    one_step = climb.run(all_patterns, 1)[2]
    assert set(finalists) <= set(np.argsort(-one_step, kind="stable")[:21]), "finalists come from round 1's best"


def test_a_forward_only_first_round_drops_only_patterns_that_can_never_rise(climb, all_patterns, tmp_path):
    forward_first = SETTINGS | {"strategy": "halving", "halving_steps": [0], "halving_keep": 0.5}
    assert precursor.rounds(81, forward_first) == [(81, 0), (41, 6)]
    start, (_, _, full) = climb.losses(all_patterns), climb.run(all_patterns, 6)
    dead = start == 0
    assert dead.any() and (~dead).sum() <= 41, "the map must leave some patterns at 0, and at most 41 (round 2) active"
    np.testing.assert_array_equal(full[dead], 0)  # a map at 0 everywhere has no gradient to climb
    precursor.score_patterns(climb, forward_first, 20, tmp_path / "scores.npy", log=lambda _: None)
    finalists = np.flatnonzero(np.isfinite(np.load(tmp_path / "scores.npy")))
    assert set(np.flatnonzero(~dead)) <= set(finalists)
