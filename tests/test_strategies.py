"""The strategies as compositions: which a job climbs, and that climbing them together gives each the same
images as climbing its phases one after another."""

import keras
import numpy as np
import pytest

from mnist_oip import ascent, blog_cnn, patterns, settings, strategies


def oip_settings(warm_start="pre_relu"):
    values = settings.read_config()["oip"] | {"steps": 6, "warm_steps": 4, "warm_start": warm_start}
    return settings.section(settings.Oip, values)


@pytest.mark.parametrize(
    "start, warm_start, robust, names",
    [
        ("random", "pre_relu", False, ["random", "random_warm"]),
        ("precursor", "none", False, ["precursor"]),
        ("precursor", "pre_relu", True, ["precursor_robust"]),
        ("random", "none", True, ["random_robust"]),
    ],
)
def test_a_job_climbs_its_start_kinds_strategies(start, warm_start, robust, names):
    robust_settings = settings.load(settings.read_config()).robust if robust else None
    chosen = strategies.of_job(start, oip_settings(warm_start), robust_settings)
    style = robust_settings.style if robust else ascent.PLAIN
    assert [s.name for s in chosen] == names and all(s.start == start and s.style == style for s in chosen)
    assert all(name in strategies.NAMES for name in names)
    for s in chosen:
        warm = s.name.endswith("_warm") or (robust and warm_start == "pre_relu")
        assert s.steps == 6 + (4 if warm else 0)
        assert [p.pre_activation for p in s.phases] == ([True, False] if warm else [False])


def test_climbing_together_is_climbing_each_phase_in_turn():
    keras.utils.set_random_seed(2)
    layer = ascent.LayerAscent(blog_cnn.build_cnn(), "conv3", 0.05)
    images = keras.ops.convert_to_numpy(patterns.random_starts(3, [14, 7], seed=1))
    chosen = strategies.of_job("random", oip_settings())
    climbed = strategies.climb(chosen, images, lambda pre, style: layer.map(4, pre))
    warmed, warm_curve, _ = layer.map(4, True).run(images, 4)
    oips, curve, losses = layer.map(4).run(np.concatenate([images, warmed]), 6)  # one batch, as the job runs it
    for k, name in enumerate(["random", "random_warm"]):
        done, part = climbed[name], slice(3 * k, 3 * k + 3)
        np.testing.assert_array_equal(done.images, oips[part])
        np.testing.assert_array_equal(done.curve, curve[:, part])
        np.testing.assert_array_equal(done.losses, losses[part])
        assert done.seconds > 0
    np.testing.assert_array_equal(climbed["random_warm"].warm_curve, warm_curve)
    assert climbed["random"].warm_curve.shape == (0, 3)


def test_a_diverse_style_keeps_each_strategy_in_a_batch_of_its_own():
    batches = []

    class Recorder:
        def __init__(self, pre, style):
            self.style = style

        def run(self, images, steps, rng=None):
            batches.append((self.style, len(images)))
            return images, np.zeros((steps, len(images)), np.float32), np.zeros(len(images), np.float32)

    diverse = ascent.Style(diversity=1.0)
    plain = (strategies.Phase(5, False),)
    chosen = [strategies.Strategy(name, "random", plain, style) for name, style in
              (("a", ascent.PLAIN), ("b", ascent.PLAIN), ("c", diverse), ("d", diverse))]  # fmt: skip
    strategies.climb(chosen, np.zeros((2, 4, 4, 1), np.float32), Recorder)
    assert batches == [(ascent.PLAIN, 4), (diverse, 2), (diverse, 2)]
