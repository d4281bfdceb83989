"""Analyses across runs: finer searches against the default, and the precursor score against the full ascent."""

import dataclasses

import keras
import numpy as np
import pytest
from scipy.stats import spearmanr

from mnist_oip import ascent, blog_cnn, experiments, figures, paths, patterns, settings, storage
from mnist_oip.results import Scoring, Screen, StartResult, StrategyResult


def write_precursor(results, index, best_loss, warm_loss, grid=3, levels=(0.2, 0.5, 0.8), layer="conv3"):
    """A map's precursor result; `warm_loss` None: a run without the warm start."""
    files, where = paths.Results(results), {"layer": layer, "map": index, "start": "precursor"}
    count = len(levels) ** (grid * grid)
    Scoring("halving", count, 100, 1.0, "activation", grid, list(levels)).save(files(paths.SCORING, **where))
    images = np.random.default_rng(index).normal(size=(2, 28, 28, 1)).astype(np.float32)
    runs = {}
    for name, loss in (("precursor", best_loss), ("precursor_warm", warm_loss)):
        if loss is None:
            continue
        losses = np.array([loss / 2, loss], np.float32)
        runs[name] = StrategyResult(name, images, images * loss, np.zeros((1, 2)), np.zeros((0, 2)), losses,
                                    np.zeros(2, int), np.ones(2, np.float32), 1.0, 100)  # fmt: skip
    StartResult(layer, index, "precursor", 10, runs).save(
        files(paths.START_RESULT, **where), files(paths.START_SUMMARY, **where)
    )


def test_compare_searches_names_the_maps_a_finer_search_recovers_or_improves(tmp_path):
    default, finer = tmp_path / "default", tmp_path / "finer"
    for index, (plain, warm) in enumerate([(5.0, 6.0), (0.0, 3.0), (2.0, 2.0)]):
        write_precursor(default, index, plain, warm)
    for index, (plain, warm) in enumerate([(5.1, 6.0), (4.0, 3.0), (1.0, 2.5)]):
        write_precursor(finer, index, plain, warm, grid=4)
    write_precursor(finer, 3, 1.0, 1.0, grid=4)  # not in the default run: left out
    found, images = experiments.compare_searches([str(default), str(finer)])
    assert found["searches"] == ["3 levels on a 3x3 grid", "3 levels on a 4x4 grid"] and found["maps"] == 3
    assert found["default_maps_with_oip"] == {"precursor": 2, "precursor_warm": 3}
    plain, warm = (found["finer"]["3 levels on a 4x4 grid"][name] for name in ("precursor", "precursor_warm"))
    assert (plain["recovers"], plain["improves"], plain["lower"]) == (["conv3/1"], [], ["conv3/2"])
    assert plain["maps_with_oip"] == 3
    assert (warm["recovers"], warm["improves"], warm["lower"]) == ([], ["conv3/2"], [])
    assert images[(("conv3", 1), "3 levels on a 4x4 grid", "")].shape == (28, 28, 1)
    figures.search_comparison(found, images, tmp_path / "searches.png")
    assert (tmp_path / "searches.png").stat().st_size > 0


def test_the_maps_that_matter_are_the_recovered_then_the_most_improved(tmp_path):
    default, finer, finest = tmp_path / "default", tmp_path / "finer", tmp_path / "finest"
    for index, (a, b, c) in enumerate([(2.0, 2.2, 2.0), (0.0, 0.0, 1.0), (2.0, 3.0, 2.0), (2.0, 2.0, 2.0)]):
        write_precursor(default, index, a, None)
        write_precursor(finer, index, b, None, grid=4)
        write_precursor(finest, index, c, None, grid=5)
    found, _ = experiments.compare_searches([str(default), str(finer), str(finest)])
    assert experiments.maps_that_matter(found) == [("conv3", 1), ("conv3", 2), ("conv3", 0)]


def test_compare_searches_names_maps_by_layer_and_compares_only_what_the_default_ran(tmp_path):
    default, finer = tmp_path / "default", tmp_path / "finer"
    for layer, loss in (("conv2", 0.0), ("conv3", 2.0)):  # map 1 of conv2 has no OIP in the default, conv3's has
        write_precursor(default, 1, loss, None, layer=layer)  # the default ran without the warm start
        write_precursor(finer, 1, 3.0, 4.0, grid=4, layer=layer)
    found, images = experiments.compare_searches([str(default), str(finer)])
    assert found["default_maps_with_oip"] == {"precursor": 1}
    (label,) = found["finer"]
    assert list(found["finer"][label]) == ["precursor"], "no warm default to compare the warm search with"
    plain = found["finer"][label]["precursor"]
    assert plain["recovers"] == ["conv2/1"] and plain["improves"] == ["conv3/1"]
    figures.search_comparison(found, images, tmp_path / "searches.png")


def test_compare_searches_without_common_maps_says_so(tmp_path):
    write_precursor(tmp_path / "a", 0, 1.0, 1.0)
    write_precursor(tmp_path / "b", 1, 1.0, 1.0)
    with pytest.raises(storage.StorageError, match="no map has precursor results in all of"):
        experiments.compare_searches([str(tmp_path / "a"), str(tmp_path / "b")])


def test_score_prediction_climbs_a_sample_across_the_score_range_and_the_best_scored():
    keras.utils.set_random_seed(5)
    climb = ascent.LayerAscent(blog_cnn.build_cnn(), "conv3", 0.05).map(4)
    config = settings.load(settings.read_config())
    precursor = dataclasses.replace(config.precursor, grid=2, levels=(0.2, 0.5, 0.8), steps=3, keep=4)
    every = patterns.upscale(patterns.coarse_patterns(np.arange(81), 2, precursor.levels))
    scores = climb.run(every, 3)[2]
    found = experiments.score_prediction(climb, precursor, scores, sample=10, top=12, steps=20)
    live = int((scores > 0).sum())
    assert found["patterns_activating"] == live and found["sample"] == min(10, live)
    sampled = np.array(found["scores_sample"])
    assert (sampled > 0).all() and len(set(sampled.tolist())) == found["sample"], "distinct patterns that activate"
    full = climb.run(every, 20)[2]
    best_scored = np.argsort(-scores, kind="stable")[:12]
    np.testing.assert_allclose(found["best_loss_top_12"], full[best_scored].max(), rtol=1e-5)
    np.testing.assert_allclose(found["best_loss_seeds"], full[best_scored[:4]].max(), rtol=1e-5)
    final_best = set(best_scored[np.argsort(-full[best_scored], kind="stable")[:4]].tolist())
    assert found["seeds_among_best_4_of_top_12"] == len(final_best & set(best_scored[:4].tolist()))
    for score, loss in zip(found["scores_sample"], found["losses_sample"]):  # each pair: one pattern's score and loss
        assert np.isclose(full[scores == score], loss, rtol=1e-5).any()
    sampled_patterns = [int(np.flatnonzero(scores == score)[0]) for score in found["scores_sample"]]
    expected = spearmanr(scores[sampled_patterns], full[sampled_patterns]).statistic  # from the climbs themselves
    assert np.isclose(found["spearman_sample"], expected)


def test_score_prediction_refuses_a_map_no_pattern_activates():
    climb = ascent.LayerAscent(blog_cnn.build_cnn(), "conv3", 0.05).map(4)
    config = settings.load(settings.read_config())
    with pytest.raises(ValueError, match="no pattern activates this map"):
        experiments.score_prediction(climb, config.precursor, np.zeros(81, np.float32))


def write_screen(results, best, seconds, guided=False, layer="conv3"):
    """A layer's screen whose maps' best screen scores are `best` (8 patterns passed on each)."""
    scores = np.asarray(best, np.float32)[:, None] * np.linspace(1, 0.5, 8, dtype=np.float32)
    digits = np.zeros((len(best), 8, 9), np.uint8) if guided else np.zeros(0, np.uint8)
    indices = np.tile(np.arange(8), (len(best), 1))
    Screen(layer, 100, indices, scores, np.asarray(best) <= 0, seconds, digits).save(
        paths.Results(results)(paths.SCREEN, layer=layer)
    )


def test_compare_searches_names_a_guided_search_and_reports_medians_and_seconds(tmp_path):
    default, guided = tmp_path / "default", tmp_path / "guided"
    for index, loss in enumerate([4.0, 2.0, 6.0]):
        write_precursor(default, index, loss, None)
        write_precursor(guided, index, loss + 1, None, grid=7)
    for index in range(3):  # the guided run's scorings say so
        path = paths.Results(guided)(paths.SCORING, layer="conv3", map=index)
        dataclasses.replace(Scoring.load(path), strategy="guided").save(path)
    write_screen(default, [1.0, 2.0, 3.0], 10.0)
    write_screen(guided, [1.5, 2.5, 3.5], 30.0, guided=True)
    found, _ = experiments.compare_searches([str(default), str(guided)])
    assert found["searches"] == ["3 levels on a 3x3 grid", "3 levels on a 7x7 grid, guided"]
    assert found["medians"]["3 levels on a 3x3 grid"] == {"precursor": 4.0, "screen_best": 2.0}
    assert found["medians"]["3 levels on a 7x7 grid, guided"] == {"precursor": 5.0, "screen_best": 2.5}
    assert found["precursor_seconds"]["3 levels on a 7x7 grid, guided"] == {"screen": 30.0, "scoring": 3.0}
